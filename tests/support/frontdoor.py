"""Front Door in sandbox tests: SDK management clients on the sandbox's ARM endpoint, and one request
through the router (which container group answered)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from sandbox.client import SandboxClient, StaticTokenCredential


def mgmt(cls: Any, sb: SandboxClient) -> Any:
    """An azure-mgmt-* client of class ``cls`` (CdnManagementClient, FrontDoorManagementClient, ...) on
    the sandbox; use it as a context manager so its sockets are closed."""
    return cls(
        StaticTokenCredential(),
        sb.endpoints["subscription_id"],
        base_url=sb.arm_endpoint,
        connection_verify=sb.ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
    )


def through_router(sb: SandboxClient, path: str = "/api/v1/status") -> tuple[int, str | None]:
    """(status, container group that answered) for one request through the Front Door endpoint."""
    try:
        with urllib.request.urlopen(sb.endpoints["frontdoor_url"] + path, timeout=15) as resp:
            return int(resp.status), json.loads(resp.read()).get("container_group")
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), None
