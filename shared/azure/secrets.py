"""Key Vault (azure-keyvault-secrets): the database URL secret, pointed at a server without ever leaving here.

The URL has the form ``postgresql://user:password@host[:port]/database[?options]``. Only the host part is
ever changed or returned; the password is read and written back, never returned or logged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shared.azure.clients import Clients
from shared.azure.errors import translated
from shared.errors import PermanentError


def host_of(url: str) -> str:
    """``host[:port]`` of a database URL."""
    netloc = urlsplit(url).netloc
    return netloc.rsplit("@", 1)[-1]


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def swap_host(url: str, fqdn: str) -> str:
    """The same URL with its host replaced by ``fqdn`` (which may carry a port)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres") or "@" not in parts.netloc:
        raise ValueError("not a postgresql://user:password@host/database URL")
    userinfo = parts.netloc.rsplit("@", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{fqdn}"))


class SecretsAdapter:
    """The database URL secret in the app's Key Vault."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._name = clients.settings.database_secret_name

    def _current(self) -> Any:
        with translated("read secret", self._name):
            return self._clients.secrets().get_secret(self._name)

    def database_host(self) -> dict[str, Any]:
        """Where the secret points: host, database and version (no password)."""
        secret = self._current()
        url = str(secret.value or "")
        return {
            "secret": self._name,
            "host": host_of(url),
            "database": database_of(url),
            "version": secret.properties.version,
        }

    def point_database_url(self, fqdn: str) -> dict[str, Any]:
        """Point the secret at ``fqdn``; the same host again writes nothing (no new version)."""
        secret = self._current()
        current = str(secret.value or "")
        try:
            wanted = swap_host(current, fqdn)
        except ValueError:
            raise PermanentError(
                "point secret", self._name, "the secret does not hold a database URL"
            ) from None
        base = {"secret": self._name, "host": fqdn}
        if wanted == current:
            message = f"secret {self._name} already points at {fqdn}"
            return {**base, "changed": False, "version": secret.properties.version, "message": message}
        with translated("write secret", self._name):
            written = self._clients.secrets().set_secret(self._name, wanted, content_type="text/plain")
        message = f"secret {self._name} now points at {fqdn} (was {host_of(current)})"
        return {**base, "changed": True, "version": written.properties.version, "message": message}
