"""Activities for the Key Vault database secret and the credential it holds. The secret's value never
crosses the activity boundary: only the host it points at and its user do. Contracts (input -> output
keys) are in shared/names.py; the rotation itself is shared/azure/credentials.py.
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


@activity(bp, names.SECRETS_POINT_DATABASE_URL)
def secrets_point_database_url(params: dict[str, Any]) -> dict[str, Any]:
    """Point the database URL secret at ``server``'s FQDN (``endpoint: writer``: at the writer endpoint
    of its virtual endpoint pair, which follows the primary through a switchover), keeping user,
    password and database.

    Idempotent: already pointing there writes nothing (no new secret version). Refuses a server that does
    not exist or has no FQDN (precondition). ``secret_name`` (default: the production secret) writes
    another secret from the production URL, e.g. a drill-only one; production is then only read.
    """
    p = Params(names.SECRETS_POINT_DATABASE_URL, params)
    server = p.text("server")
    rg = p.opt_text("resource_group") or current_settings().server_resource_group(server)
    snapshot = runtime.database().find(server, rg)
    if snapshot is None or not snapshot["fqdn"]:
        raise PreconditionFailed(
            "point database secret at", server, "the server does not exist or has no address"
        )
    host = snapshot["fqdn"]
    if p.choice("endpoint", ("server", "writer"), "server") == "writer":
        host = snapshot.get("writer_endpoint") or ""
        if not host:
            why = "it is not the writer of a virtual endpoint pair (ensure one first)"
            raise PreconditionFailed("point database secret at the writer endpoint of", server, why)
    pointed = runtime.secrets().point_database_url(host, p.opt_text("secret_name"))
    return done(p.activity, {"server": server, **pointed})


@activity(bp, names.SECRETS_GET_DATABASE_HOST)
def secrets_get_database_host(params: dict[str, Any]) -> dict[str, Any]:
    """Where the database secret points (host, database, version); never the password."""
    Params(names.SECRETS_GET_DATABASE_HOST, params or {})
    return runtime.secrets().database_host()


@activity(bp, names.SECRETS_CLEAR)
def secrets_clear(params: dict[str, Any]) -> dict[str, Any]:
    """Overwrite a non-production secret with an empty value (drill teardown); refuses production."""
    p = Params(names.SECRETS_CLEAR, params)
    result = runtime.secrets().clear(p.text("secret_name"))
    return done(p.activity, {**result, "message": f"secret {result['secret']} cleared"})


def _server(p: Params) -> dict[str, Any]:
    """The server's snapshot (name, resource group, address, administrator login), read once."""
    name = p.text("server")
    return runtime.database().get(
        name, p.opt_text("resource_group") or current_settings().server_resource_group(name)
    )


def _own(role: str, admin: str | None, what: str) -> None:
    allowed = policy.own_role(role, admin=admin)
    if allowed.is_("refuse"):
        raise PreconditionFailed(what, role, allowed.reason)


@activity(bp, names.SECRETS_ROTATE_CREDENTIAL)
def secrets_rotate_credential(params: dict[str, Any]) -> dict[str, Any]:
    """``role`` (the base role or its alternate) logs in with a new password, which the secret now holds;
    refused for the administrator or an Azure role."""
    p = Params(names.SECRETS_ROTATE_CREDENTIAL, params)
    server = _server(p)
    role, base = p.text("role"), p.text("base")
    for name in (role, base):
        _own(name, server.get("administrator_login"), "rotate the credential of")
    result = runtime.credentials().rotate(server, role=role, base=base)
    said = f"{role} logs in with a new password; secret {result['secret']} version {result['version']}"
    return done(p.activity, {**result, "message": said})


@activity(bp, names.SECRETS_REVOKE_CREDENTIAL)
def secrets_revoke_credential(params: dict[str, Any]) -> dict[str, Any]:
    """``role`` can no longer log in and its sessions are ended (never the secret's own user, the
    administrator or an Azure role)."""
    p = Params(names.SECRETS_REVOKE_CREDENTIAL, params)
    server, role = _server(p), p.text("role")
    holder = str(runtime.secrets().database_host().get("user", ""))
    allowed = policy.revocable(role, secret_user=holder, admin=server.get("administrator_login"))
    if allowed.is_("refuse"):
        raise PreconditionFailed("revoke the credential of", role, allowed.reason)
    result = runtime.credentials().revoke(server, role=role)
    said = f"{role} can log in: {result['can_login']}; {result['terminated']} session(s) terminated"
    return done(p.activity, {**result, "message": said})
