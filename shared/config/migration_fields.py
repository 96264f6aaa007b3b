"""The settings of migrations and maintenance mode (merged into ``fields.FIELDS`` at its end)."""

from __future__ import annotations

import json
import re
from typing import Any

from shared.config.fields import OPTIONAL, Field, _float, _name, _path, _positive_int


def _sql(raw: str) -> str:
    if not raw.strip().lower().startswith(("select", "with")):
        raise ValueError("must be one SELECT statement whose first column of the first row is the version")
    return raw


def _secure_environment(raw: str) -> dict[str, str]:
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("must be a JSON object {variable: Key Vault secret name}") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and re.fullmatch(r"[0-9A-Za-z-]{1,127}", v)
        for k, v in value.items()
    ):
        raise ValueError("must be a JSON object {variable: Key Vault secret name}")
    return value


MIGRATION_FIELDS: dict[str, Field] = {
    "MIGRATION_RESTORE_TEST_DAYS": Field(
        _float, "7", "A migration's anchor needs a restore test that passed within these days."
    ),
    "MIGRATION_VERSION_SQL": Field(
        _sql, "select max(version) from schema_version", "SELECT whose first value is the schema version."
    ),
    "MIGRATION_APP_ROLE": Field(
        _name,
        OPTIONAL,
        "The application's database role, the only one a drain terminates (default: the secret's user).",
    ),
    "MIGRATION_DRAIN_SECONDS": Field(
        _float, "30", "Wait for the app role's sessions to end, then terminate them."
    ),
    "MIGRATION_DRAIN_INTERVAL_SECONDS": Field(
        _float, "2", "Seconds between counts of the app role's sessions."
    ),
    "MIGRATION_LOCK_TIMEOUT_MS": Field(
        _positive_int, "5000", "lock_timeout of the migration job (PGOPTIONS=-c lock_timeout=...)."
    ),
    "MIGRATION_JOB_DEADLINE_SECONDS": Field(_float, "900", "The migration job must exit by then."),
    "MIGRATION_CONTRACT_BAKE_HOURS": Field(
        _float, "24", "A contract waits this long after the deploy that introduced its expand."
    ),
    "MAINTENANCE_VARIABLE": Field(
        _name, "MAINTENANCE_MODE", "Variable of the slots that turns maintenance on."
    ),
    "MAINTENANCE_WRITE_PATH": Field(_path, "/api/v1/intents", "App path a write probe POSTs to."),
    "MAINTENANCE_VERIFY_SECONDS": Field(
        _float, "120", "Deadline for maintenance on / off to be seen through the public endpoint."
    ),
    "SLOT_SECURE_ENVIRONMENT": Field(
        _secure_environment, "{}", "JSON {variable: Key Vault secret} of the slots' secure values."
    ),
}
