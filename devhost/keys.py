"""Host keys: the function key and the master key, and the checks the host makes with them.

Keys come from ``DEVHOST_FUNCTION_KEY`` / ``DEVHOST_MASTER_KEY`` when set, otherwise from
``<state dir>/keys.json`` (generated on first start, mode 0600), so they survive restarts.
A request presents a key in the ``x-functions-key`` header or the ``code`` query parameter.
Auth levels: anonymous (no key), function (function key or master key), admin (master key only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HostKeys", "authorized", "load_keys", "presented_key"]

KEYS_FILE = "keys.json"
FUNCTION_KEY_ENV = "DEVHOST_FUNCTION_KEY"
MASTER_KEY_ENV = "DEVHOST_MASTER_KEY"


@dataclass(frozen=True)
class HostKeys:
    """The two keys this host accepts; ``generated`` tells whether either was created just now."""

    function_key: str
    master_key: str
    generated: bool = False
    system_key: str = ""  # the Durable extension's system key (durabletask_extension)

    def __repr__(self) -> str:  # never print the keys by accident
        return "HostKeys(function_key=***, master_key=***, system_key=***)"


def load_keys(state_dir: Path, env: Mapping[str, str]) -> HostKeys:
    """Keys from the environment, else from the state dir, generating what is missing."""
    stored = _read(state_dir / KEYS_FILE)
    function_key = env.get(FUNCTION_KEY_ENV) or stored.get("functionKey")
    master_key = env.get(MASTER_KEY_ENV) or stored.get("masterKey")
    if function_key and master_key:
        return HostKeys(function_key, master_key, system_key=system_key_of(master_key))
    master_key = master_key or _new_key()
    keys = HostKeys(function_key or _new_key(), master_key, True, system_key_of(master_key))
    _write(state_dir / KEYS_FILE, {"functionKey": keys.function_key, "masterKey": keys.master_key})
    return keys


def system_key_of(master_key: str) -> str:
    """The Durable extension's system key, derived from the master key (stable across restarts)."""
    digest = hmac.new(master_key.encode(), b"durabletask_extension", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The key a request carries: the ``x-functions-key`` header wins over the ``code`` query."""
    return headers.get("x-functions-key") or query.get("code") or None


def authorized(level: str, presented: str | None, keys: HostKeys) -> bool:
    """Whether a request with ``presented`` may call a function of auth ``level``."""
    level = level.lower()
    if level == "anonymous":
        return True
    if presented is None:
        return False
    if _same(presented, keys.master_key):
        return True
    return level == "function" and _same(presented, keys.function_key)


def _same(a: str, b: str) -> bool:
    """Constant-time equality; a presented key that is not valid text (a lone surrogate from a
    non-UTF-8 header) simply does not match."""
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape"))


def _new_key() -> str:
    return secrets.token_urlsafe(40)


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str) and v} if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)
