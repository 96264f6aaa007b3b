"""The settings of the security drill: the credential rotation's login roles and the tabletop checklist
(merged into ``fields.FIELDS`` after the migration settings)."""

from __future__ import annotations

import json
import re
from typing import Any

from shared.config.fields import OPTIONAL, Field

# The tabletop part of the security incident drill: what the people at the table walk through.
DOCUMENT_TABLETOP = (
    "How was the exposure detected, when, and by whom (alert, report, scan)?",
    "Which credentials and which data were in scope, and what else shares those credentials?",
    "Which logs (Key Vault, database, Front Door, Entra sign-ins) cover the exposure window, and who "
    "reviewed them?",
    "Which other secrets (storage keys, registry credentials, webhook URLs, API keys) must be rotated too?",
    "Who must be told, and by when (security team, data protection officer: 72 hours under GDPR, customers)?",
    "What stops it happening again, and who owns that action?",
)


def _role(raw: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,58}", raw):
        raise ValueError("must be a lower-case PostgreSQL role name (letters, digits, _; at most 59)")
    return raw


def _checklist(raw: str) -> tuple[str, ...]:
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("must be a JSON list of questions") from None
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= 30
        or not all(isinstance(v, str) and 0 < len(v.strip()) <= 300 for v in value)
    ):
        raise ValueError("must be a JSON list of 1 to 30 questions, each 1 to 300 characters")
    return tuple(v.strip() for v in value)


SECURITY_FIELDS: dict[str, Field] = {
    "CREDENTIAL_BASE_ROLE": Field(
        _role,
        OPTIONAL,
        "The role owning the app's schema; rotations alternate it with <it>_alt (default: from the secret).",
    ),
    "SECURITY_TABLETOP_CHECKLIST": Field(
        _checklist, json.dumps(list(DOCUMENT_TABLETOP)), "JSON list: the security drill's tabletop checklist."
    ),
}
