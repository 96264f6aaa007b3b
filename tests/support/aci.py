"""Container group bodies for tests that create groups on the sandbox directly (not through the app).

A group that reads its database secret needs what Azure needs: a managed identity (the estate's
user-assigned one) and the vault URL and secret name in its environment; the sandbox injects neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def vault_env(endpoints: Mapping[str, Any], secret: str | None = None) -> list[dict[str, Any]]:
    """The environment a group needs to read ``secret`` (default: the database secret) from Key Vault."""
    return [
        {"name": "KEY_VAULT_URL", "value": str(endpoints["key_vault_url"])},
        {"name": "DATABASE_SECRET_NAME", "value": secret or str(endpoints["database_secret_name"])},
        {"name": "AZURE_CLIENT_ID", "value": str(endpoints["workload_identity_client_id"])},
    ]


def identity(endpoints: Mapping[str, Any]) -> dict[str, Any]:
    """The estate's user-assigned identity, as a container group's ``identity``."""
    return {"type": "UserAssigned", "userAssignedIdentities": {str(endpoints["workload_identity_id"]): {}}}


def group_body(
    endpoints: Mapping[str, Any],
    image: str,
    *,
    env: list[dict[str, Any]] | None = None,
    policy: str = "Always",
    secret: str | None = None,
    with_identity: bool = True,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A group running ``image`` that reads its secret with the estate's identity (unless told not to);
    ``env`` entries override the vault ones of the same name."""
    names = {e["name"] for e in env or []}
    environment = [e for e in vault_env(endpoints, secret) if e["name"] not in names] + list(env or [])
    container = {
        "name": "app",
        "properties": {
            "image": image,
            "environmentVariables": environment,
            "ports": [{"port": 8000}],
            "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}},
        },
    }
    body: dict[str, Any] = {
        "location": "uksouth",
        "tags": tags if tags is not None else {"test": "yes"},
        "properties": {"osType": "Linux", "restartPolicy": policy, "containers": [container]},
    }
    if with_identity:
        body["identity"] = identity(endpoints)
    return body
