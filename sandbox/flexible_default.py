"""createMode Default: a new, empty flexible server (initdb, its administrator role, no user database).

Azure requires ``administratorLogin`` and ``administratorLoginPassword`` for a server with password
authentication: the login may not be a reserved name (azure_superuser, azure_pg_admin, admin,
administrator, root, guest, public) nor start with ``pg_``; the password is 8 to 128 characters from at
least three of: upper case, lower case, digits, symbols, and contains no three consecutive letters or
digits of the login. The administrator can create databases and roles (it is a member of azure_pg_admin
on Azure), which is what a pg_restore with ``--create`` needs.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.arm import ArmError
from sandbox.flexible_model import Fleet, Server

RESERVED_LOGINS = {"azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public"}
_LOGIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_administrator(props: dict[str, Any]) -> tuple[str, str]:
    """The administrator login and password of a Default create, or the 400 Azure answers."""
    login = str(props.get("administratorLogin") or "")
    password = str(props.get("administratorLoginPassword") or "")
    if not login or not password:
        missing = "administratorLogin" if not login else "administratorLoginPassword"
        raise ArmError(400, "InvalidParameterValue", f"createMode Default needs {missing}.")
    if login.lower() in RESERVED_LOGINS or login.lower().startswith("pg_") or not _LOGIN.match(login):
        raise ArmError(400, "InvalidParameterValue", f"administratorLogin '{login}' is not allowed.")
    return login, check_password(login, password)


def check_password(login: str, password: str) -> str:
    """Azure's rules for an administrator password (on create and on a PATCH that resets it)."""
    classes = sum(
        bool(re.search(pattern, password)) for pattern in (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    parts = {login.lower()[i : i + 3] for i in range(len(login) - 2)}
    if any(part.isalnum() and part in password.lower() for part in parts):
        raise ArmError(
            400, "InvalidParameterValue", "administratorLoginPassword cannot contain part of the login name."
        )
    if not 8 <= len(password) <= 128 or classes < 3:
        raise ArmError(
            400,
            "InvalidParameterValue",
            "administratorLoginPassword must be 8 to 128 characters from three of: upper case, lower "
            "case, digits, symbols.",
        )
    return password


def plan_default(
    fleet: Fleet,
    ready: Callable[[Server], None],
    name: str,
    region: str,
    props: dict[str, Any],
    tags: dict[str, str],
) -> Callable[[], Awaitable[Server]]:
    """Validate a Default create (400 on what Azure refuses); returns the work that creates it (``ready``
    marks the server Ready)."""
    login, password = check_administrator(props)

    async def create() -> Server:
        server = fleet.add(name, region, busy="creating", tags=tags, create_mode="Default")
        server.login = login
        try:
            await server.cluster.initdb()
            await server.cluster.start()
            quoted = "'" + password.replace("'", "''") + "'"
            await server.cluster.query(f'CREATE ROLE "{login}" LOGIN CREATEDB CREATEROLE PASSWORD {quoted}')
        except BaseException:
            await server.cluster.stop("immediate")
            server.cluster.remove()
            fleet.remove(server)
            raise
        ready(server)
        return server

    return create
