"""Settings: the one typed view of the app's configuration, parsed and validated once at start-up.

``load_settings(os.environ)`` returns a frozen :class:`Settings` or raises :class:`SettingsError` naming
every missing or malformed key at once. Settings hold no secrets, so ``to_dict()`` may travel in
orchestration inputs. Secret values (webhook URLs, the PagerDuty routing key, the Event Grid key, the
sandbox token, the storage connection string) are validated by ``load_settings`` but only ever read by
the adapters that send them, through :func:`load_secrets`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from shared.config.calendar_fields import CALENDAR_FIELDS
from shared.config.fields import FIELDS as BASE_FIELDS
from shared.config.fields import PREFIX, SECRET_FIELDS, TARGET_KEYS, Field
from shared.config.migration_fields import MIGRATION_FIELDS
from shared.config.security_fields import SECURITY_FIELDS
from shared.config.settings import Secrets, Settings, SettingsError

__all__ = [
    "FIELDS",
    "PREFIX",
    "SECRET_FIELDS",
    "TAG_CREATED_BY",
    "TAG_CREATED_BY_VALUE",
    "TAG_RUN",
    "Secrets",
    "Settings",
    "SettingsError",
    "current_secrets",
    "current_settings",
    "load_secrets",
    "load_settings",
]

# every declared key, in docs order
FIELDS: dict[str, Field] = {**BASE_FIELDS, **MIGRATION_FIELDS, **SECURITY_FIELDS, **CALENDAR_FIELDS}
TAG_CREATED_BY = "created-by"
TAG_CREATED_BY_VALUE = "continuity"
TAG_RUN = "continuity-run"


def _parse_all(fields: Mapping[str, Field], env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, field in fields.items():
        env_key = PREFIX + key
        raw = env.get(env_key, "").strip()
        if not raw:
            if field.default is None:
                problems.append(f"{env_key}: missing ({field.doc})")
                continue
            raw = field.default
        try:
            values[key.lower()] = field.parse(raw) if raw else None
        except ValueError as exc:
            problems.append(f"{env_key}: {exc}")
    return values


def _cross_checks(values: Mapping[str, Any], secrets: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    problems = []
    if values.get("frontdoor_kind") == "standard" and not values.get("frontdoor_endpoint"):
        problems.append(f"{PREFIX}FRONTDOOR_ENDPOINT: missing (required when FRONTDOOR_KIND is standard)")
    account, connection = values.get("reports_account_url"), values.get("reports_connection_setting")
    if bool(account) == bool(connection):
        problems.append(
            f"{PREFIX}REPORTS_ACCOUNT_URL / {PREFIX}REPORTS_CONNECTION_SETTING: set exactly one of the two"
        )
    elif connection and not env.get(connection, "").strip():
        problems.append(f"{connection}: missing (named by {PREFIX}REPORTS_CONNECTION_SETTING)")
    if values.get("credential") == "sandbox" and not secrets.get("sandbox_token"):
        problems.append(f"{PREFIX}SANDBOX_TOKEN: missing (required when CREDENTIAL is sandbox)")
    if bool(values.get("container_identity_id")) != bool(values.get("container_identity_client_id")):
        problems.append(
            f"{PREFIX}CONTAINER_IDENTITY_ID / {PREFIX}CONTAINER_IDENTITY_CLIENT_ID: set both or neither"
        )
    if values.get("primary_server") and values.get("primary_server") == values.get("replica_server"):
        problems.append(f"{PREFIX}REPLICA_SERVER: must differ from {PREFIX}PRIMARY_SERVER")
    return problems


def load_settings(env: Mapping[str, str]) -> Settings:
    """Parse and validate every setting; raise SettingsError naming every problem (never a value)."""
    problems: list[str] = []
    values = _parse_all(FIELDS, env, problems)
    secrets = _parse_all(SECRET_FIELDS, env, problems)
    problems += _cross_checks(values, secrets, env)
    if problems:
        raise SettingsError(problems)
    targets = tuple(t for t, key in TARGET_KEYS.items() if secrets.get(key.lower()))
    if values.get("eventgrid_topic_endpoint"):
        targets += ("eventgrid",)
    return Settings(**values, notify_targets=targets)


def load_secrets(env: Mapping[str, str]) -> Secrets:
    """The secret settings (assumes load_settings already validated the same environment)."""
    problems: list[str] = []
    values = _parse_all(SECRET_FIELDS, env, problems)
    connection = env.get(PREFIX + "REPORTS_CONNECTION_SETTING", "").strip()
    conn_string = env.get(connection, "").strip() if connection else ""
    if problems:
        raise SettingsError(problems)
    return Secrets(**values, storage_connection_string=conn_string or None)


@functools.cache
def current_settings() -> Settings:
    """The settings of this process (activities and triggers; orchestrators get them in their input)."""
    return load_settings(os.environ)


@functools.cache
def current_secrets() -> Secrets:
    """The secret settings of this process, for adapters only."""
    return load_secrets(os.environ)
