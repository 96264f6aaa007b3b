"""The database credential rotation (the Q4 security drill, orchestrators/credential_rotation.py) with
alternating login roles, so that the app always has a credential that works.

Two login roles take turns: the base role (the one that owns the app's schema) and ``<base>_alt``, a member
of the base role whose sessions run as it (``ALTER ROLE <base>_alt SET role = <base>``), so whatever either
creates belongs to the base role. ``rotate`` gives the role not in use a new random password and writes the
Key Vault secret with it (a new version; every other version is disabled); the slots pick it up when they
start. ``revoke``, once nothing runs with the old credential, takes the old role's login away (NOLOGIN,
password removed) and terminates its sessions.

Continuity keeps no administrator credential. Each call resets the server administrator's password through
ARM (PATCH ``properties.administratorLoginPassword``: "as long as password authentication is enabled, this
password can be changed at any time") to a fresh random one, used for this one connection and never
stored: a rotation rotates the administrator's password too (reset it again with ``az postgres
flexible-server update --admin-password`` to sign in as the administrator). Passwords never leave here:
a login role's is sent to the server as its SCRAM-SHA-256 verifier, never as text a statement log could
keep (the administrator's goes to ARM, which takes only the password itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared.azure import schema, sql
from shared.azure.clients import Clients
from shared.azure.database import DatabaseAdapter
from shared.azure.imports import SDK_IMPORT_LOCK
from shared.azure.secrets import SecretsAdapter, swap_credentials
from shared.errors import PermanentError

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def new_password(login: str) -> str:
    """32 random hex digits with an upper-case letter and a symbol (Azure's three classes), holding no
    three consecutive characters of ``login`` (Azure's rule for the administrator); URL-safe."""
    parts = {login.lower()[i : i + 3] for i in range(len(login) - 2)}
    while True:
        password = secrets.token_hex(16) + "Q-"
        if not any(part in password.lower() for part in parts):
            return password


def scram_verifier(password: str, *, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802 / 7677, as libpq's
    PQencryptPasswordConn makes it): the server keeps only this, and a statement log would show only this.
    The password is ASCII (``new_password``), so SASLprep leaves it as it is."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = base64.b64encode
    stored = b64(hashlib.sha256(client_key).digest()).decode()
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${stored}:{b64(server_key).decode()}"


def _checked(*roles: str) -> None:
    for name in roles:
        if not _ROLE.match(name):
            raise PermanentError("change the login of", name, "not a plain lower-case role name")


class CredentialsAdapter:
    """The app's database login roles on the primary, changed as its administrator. Each call takes the
    server's snapshot its activity read (DatabaseAdapter.get): name, resource group, address and the
    administrator's login."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._database = DatabaseAdapter(clients)
        self._secrets = SecretsAdapter(clients)

    @contextmanager
    def _as_administrator(self, server: dict[str, Any], operation: str) -> Iterator[Any]:
        name, login = str(server["name"]), str(server.get("administrator_login") or "")
        if not login or not server.get("fqdn"):
            raise PermanentError(operation, name, "the server names no administrator login or address")
        password = new_password(login)
        self._database.reset_administrator_password(name, str(server["resource_group"]), password)
        url = swap_credentials(self._clients.database_url_secret(), login, password)
        with sql.connect(url, str(server["fqdn"]), name, operation, read_only=False) as conn:
            yield conn

    def rotate(self, server: dict[str, Any], *, role: str, base: str) -> dict[str, Any]:
        """``role`` (the base role or its alternate) logs in with a new password, which the secret now
        holds. Idempotent: a retry sets yet another password and writes it again."""
        with SDK_IMPORT_LOCK:
            from psycopg.sql import SQL, Identifier, Literal

        _checked(role, base)
        password, who, owner = new_password(role), Identifier(role), Identifier(base)
        with self._as_administrator(server, "rotate the credential on") as conn:
            with conn.cursor() as cur:
                cur.execute("select 1 from pg_roles where rolname = %s", (role,))
                exists = cur.fetchone() is not None
                if role != base and not exists:
                    cur.execute(SQL("create role {} login in role {}").format(who, owner))
                if role != base:
                    cur.execute(SQL("grant {} to {}").format(owner, who))
                    cur.execute(SQL("alter role {} set role = {}").format(who, owner))
                verifier = Literal(scram_verifier(password))  # never the password itself
                cur.execute(SQL("alter role {} with login password {}").format(who, verifier))
            conn.commit()
        written = self._secrets.write_credentials(role, password)
        return {**written, "role": role, "base": base, "created": role != base and not exists}

    def revoke(self, server: dict[str, Any], *, role: str) -> dict[str, Any]:
        """``role`` can no longer log in (NOLOGIN, no password) and its sessions are terminated; read back."""
        with SDK_IMPORT_LOCK:
            from psycopg.sql import SQL, Identifier

        _checked(role)
        with self._as_administrator(server, "revoke the credential on") as conn:
            with conn.cursor() as cur:
                cur.execute(SQL("alter role {} with nologin password null").format(Identifier(role)))
            conn.commit()
            sessions = schema.app_sessions(conn, role, terminate=True)
            with conn.cursor() as cur:
                cur.execute("select rolcanlogin from pg_roles where rolname = %s", (role,))
                row = cur.fetchone()
            conn.commit()
        return {**sessions, "role": role, "can_login": bool(row and row[0])}
