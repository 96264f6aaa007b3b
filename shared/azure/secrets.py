"""Key Vault (azure-keyvault-secrets): the database URL secret, pointed at a server without ever leaving here.

The URL has the form ``postgresql://user:password@host[:port]/database[?options]``. The host is changed
when the database moves; the user and password only by a credential rotation (``write_credentials``).
The password is never returned or logged.

Every secret Continuity writes keeps one readable version: after a write (and on a call that finds the
value already there, so a retried call converges) every other enabled version is disabled, so an old
URL with its password cannot be read from the vault any more (Key Vault refuses to read a disabled
version: 403 SecretDisabled). Versions are disabled, never deleted (the history stays for audit).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from shared.azure.clients import Clients
from shared.azure.errors import is_not_found, translated
from shared.errors import PermanentError


def host_of(url: str) -> str:
    """``host[:port]`` of a database URL."""
    netloc = urlsplit(url).netloc
    return netloc.rsplit("@", 1)[-1]


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def user_of(url: str) -> str:
    """The user of a database URL ('' when there is none)."""
    return unquote(urlsplit(url).username or "")


def swap_credentials(url: str, user: str, password: str) -> str:
    """The same URL with another user and password (both percent-encoded)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres") or "@" not in parts.netloc:
        raise ValueError("not a postgresql://user:password@host/database URL")
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


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

    def _current(self, name: str | None = None) -> Any:
        name = name or self._name
        with translated("read secret", name):
            return self._clients.secrets().get_secret(name)

    def _value_of(self, name: str) -> str | None:
        """The latest value of ``name``; None when the secret does not exist (yet)."""
        try:
            return str(self._clients.secrets().get_secret(name).value or "")
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise

    def database_host(self) -> dict[str, Any]:
        """Where the secret points: host, database and version (no password)."""
        secret = self._current()
        url = str(secret.value or "")
        return {
            "secret": self._name,
            "host": host_of(url),
            "database": database_of(url),
            "user": user_of(url),
            "version": secret.properties.version,
        }

    def write_credentials(self, user: str, password: str) -> dict[str, Any]:
        """The production secret with ``user`` and ``password`` (host and database kept): a new version,
        every other version disabled. The password is never returned."""
        try:
            wanted = swap_credentials(str(self._current().value or ""), user, password)
        except ValueError:
            why = "the secret does not hold a database URL"
            raise PermanentError("write credentials to secret", self._name, why) from None
        with translated("write secret", self._name):
            written = self._clients.secrets().set_secret(self._name, wanted, content_type="text/plain")
        retired = self.retire_old_versions(self._name, keep=written.properties.version)
        return {
            "secret": self._name,
            "user": user,
            "version": written.properties.version,
            "retired_versions": retired,
        }

    def point_database_url(self, fqdn: str, secret_name: str | None = None) -> dict[str, Any]:
        """Point the secret at ``fqdn``; the same host again writes nothing (no new version).

        ``secret_name`` (default: the production secret) names another secret to write: it gets the
        production URL (user, password, database) with the host swapped, and production is only read.
        """
        target = secret_name or self._name
        if target != self._name:
            return self._point_other(target, fqdn)
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
            retired = self.retire_old_versions(self._name, keep=secret.properties.version)
            version = secret.properties.version
            return {
                **base,
                "changed": False,
                "version": version,
                "retired_versions": retired,
                "message": message,
            }
        with translated("write secret", self._name):
            written = self._clients.secrets().set_secret(self._name, wanted, content_type="text/plain")
        retired = self.retire_old_versions(self._name, keep=written.properties.version)
        message = f"secret {self._name} now points at {fqdn} (was {host_of(current)})"
        version = written.properties.version
        return {**base, "changed": True, "version": version, "retired_versions": retired, "message": message}

    def _point_other(self, target: str, fqdn: str) -> dict[str, Any]:
        try:
            wanted = swap_host(str(self._current().value or ""), fqdn)
        except ValueError:
            raise PermanentError(
                "point secret", target, f"the secret {self._name} does not hold a database URL"
            ) from None
        base = {"secret": target, "host": fqdn}
        with translated("read secret", target):
            current = self._value_of(target)
        if current == wanted:
            retired = self.retire_old_versions(target)
            message = f"secret {target} already points at {fqdn}"
            return {**base, "changed": False, "retired_versions": retired, "message": message}
        with translated("write secret", target):
            written = self._clients.secrets().set_secret(target, wanted, content_type="text/plain")
        retired = self.retire_old_versions(target, keep=written.properties.version)
        message = f"secret {target} now points at {fqdn}"
        version = written.properties.version
        return {**base, "changed": True, "version": version, "retired_versions": retired, "message": message}

    def clear(self, secret_name: str) -> dict[str, Any]:
        """Overwrite ``secret_name`` with an empty value (a drill secret at teardown); never production."""
        if secret_name == self._name:
            why = "the production database secret is never cleared"
            raise PermanentError("clear secret", secret_name, why)
        with translated("read secret", secret_name):
            current = self._value_of(secret_name)
        if not current:
            retired = self.retire_old_versions(secret_name)
            return {"secret": secret_name, "cleared": True, "changed": False, "retired_versions": retired}
        with translated("write secret", secret_name):
            written = self._clients.secrets().set_secret(secret_name, "", content_type="text/plain")
        retired = self.retire_old_versions(secret_name, keep=written.properties.version)
        return {"secret": secret_name, "cleared": True, "changed": True, "retired_versions": retired}

    def retire_old_versions(self, name: str, keep: str | None = None) -> int:
        """Disable every enabled version of ``name`` but ``keep`` (default: the newest); idempotent (the
        versions already disabled are left alone). The number disabled now."""
        client = self._clients.secrets()
        with translated("list secret versions", name):
            versions = [v for v in client.list_properties_of_secret_versions(name) if v.version]
        if keep is None:  # the latest version, the one a reader gets (version lists are not in time order)
            with translated("read secret", name):
                keep = str(client.get_secret(name).properties.version)
        retired = 0
        for old in versions:
            if old.enabled and old.version != keep:
                with translated("disable secret version", name):
                    client.update_secret_properties(name, old.version, enabled=False)
                retired += 1
        return retired
