"""Python API to a running sandbox, for tests and tools: endpoints, faults, status, a token credential."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sandbox import tls

SANDBOX_TOKEN = "sandbox-token"  # the sandbox accepts any bearer token; this is the one we send


class SandboxError(Exception):
    """The sandbox refused a request (the message is the ARM error message)."""


class StaticTokenCredential:
    """An azure-core ``TokenCredential`` that always returns the same token (the sandbox accepts any)."""

    def __init__(self, token: str = SANDBOX_TOKEN) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)

    def close(self) -> None:
        return None

    def __enter__(self) -> StaticTokenCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class SandboxClient:
    """Talks to the sandbox whose state lives in ``state_dir`` (as written by ``python -m sandbox up``)."""

    def __init__(self, state_dir: Path | str) -> None:
        self.state_dir = Path(state_dir)
        path = self.state_dir / "endpoints.json"
        try:
            self.endpoints: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise SandboxError(f"no running sandbox in {self.state_dir} ({path} is missing)") from exc
        self._ssl = tls.client_context(Path(self.endpoints["ca_bundle"]))

    @property
    def arm_endpoint(self) -> str:
        return str(self.endpoints["arm_endpoint"])

    @property
    def ca_bundle(self) -> str:
        return str(self.endpoints["ca_bundle"])

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = SANDBOX_TOKEN) -> Any:
        """One HTTPS call to the ARM endpoint; returns the decoded JSON body (None when empty)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.arm_endpoint + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, context=self._ssl, timeout=300) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError, KeyError, TypeError):
                detail = json.loads(detail)["error"]["message"]
            raise SandboxError(f"{exc.code}: {detail}") from exc
        return json.loads(raw) if raw else None

    def fault(self, kind: str, **args: Any) -> dict[str, Any]:
        """Inject a fault (region-outage, heal, corrupt-db, replication-lag, arm-faults, clear)."""
        result = self.request("POST", "/sandbox/faults", {"kind": kind, "args": args})
        assert isinstance(result, dict)
        return result

    def status(self) -> dict[str, Any]:
        result = self.request("GET", "/sandbox/status")
        assert isinstance(result, dict)
        return result
