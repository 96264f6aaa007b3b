"""Activities of migrations on the primary's database: the schema version (the configured statement) and
the application role's sessions (counted, or terminated at the drain's deadline). Contracts in
shared/names.py; SQL in shared/azure/schema.py.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params, done
from activities.registry import activity
from shared import names, policy
from shared.azure import runtime
from shared.config import current_settings
from shared.errors import PreconditionFailed

bp = df.Blueprint()


def _where(p: Params) -> tuple[str, str]:
    name = p.text("server")
    return name, p.opt_text("resource_group") or current_settings().server_resource_group(name)


@activity(bp, names.DATABASE_GET_SCHEMA_VERSION)
def database_get_schema_version(params: dict[str, Any]) -> dict[str, Any]:
    """The schema version read with CONTINUITY_MIGRATION_VERSION_SQL (read-only; None when no row)."""
    from shared.azure import schema, sql

    p = Params(names.DATABASE_GET_SCHEMA_VERSION, params)
    name, rg = _where(p)
    fqdn = runtime.database().get(name, rg)["fqdn"]
    url = runtime.clients().database_url_secret()
    with sql.connect(url, fqdn, name, "read the schema version of", read_only=True) as conn:
        version = schema.schema_version(conn, current_settings().migration_version_sql)
    return done(p.activity, {"server": name, "schema_version": version, "message": f"schema {version}"})


def app_role() -> str:
    """The application role: the setting, else the database secret's user."""
    settings = current_settings()
    from shared.azure.secrets import user_of

    return settings.migration_app_role or user_of(runtime.clients().database_url_secret())


@activity(bp, names.DATABASE_DRAIN_SESSIONS)
def database_drain_sessions(params: dict[str, Any]) -> dict[str, Any]:
    """Count the ``role``'s (default: the application role's) client sessions in pg_stat_activity (never
    this one); with ``terminate``, end exactly those. The server's administrator and Azure's own roles
    are refused (precondition), so their sessions are never touched. Idempotent: a second terminate
    finds none."""
    from shared.azure import schema, sql

    p = Params(names.DATABASE_DRAIN_SESSIONS, params)
    name, rg = _where(p)
    server = runtime.database().get(name, rg)
    admin = server.get("administrator_login")
    role = p.opt_text("role") or app_role()
    allowed = policy.app_role(role, admin=admin)
    if not allowed.is_("role"):
        raise PreconditionFailed("drain sessions of", role, allowed.reason)
    url = runtime.clients().database_url_secret()
    with sql.connect(url, server["fqdn"], name, "drain sessions on", read_only=False) as conn:
        counted = schema.app_sessions(conn, role, terminate=p.flag("terminate"))
    said = f"{counted['sessions']} session(s) of {role}; {counted['terminated']} terminated"
    return done(p.activity, {"server": name, "administrator_login": admin, **counted, "message": said})
