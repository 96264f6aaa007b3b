"""The backup storage account: blobs with Entra ID auth (user delegation SAS), and its management view.

Data plane: a second Azurite (behind sandbox.sas_gate, which checks user delegation SAS at the service
version the SDK signs), over HTTPS (a certificate from the sandbox CA) with OAuth on, because Azure
issues a user delegation key only to a caller authenticated with Microsoft Entra ID (Get User Delegation
Key refuses shared key) and Azurite accepts bearer tokens only over HTTPS. The account is named
``ACCOUNT``; its key is generated at start and never given to the app: the app authenticates with the
sandbox's token (a JWT with the storage audience, as a managed identity's is) and signs SAS with a user
delegation key. The long-term container exists from the start (as the estate's Terraform makes it).

Management plane (Microsoft.Storage, api 2026-09-01 as azure-mgmt-storage 25.3.0 sends it), the reads
Continuity makes: the account (``sku.name`` is its replication), its blob service properties
(``isVersioningEnabled``, ``deleteRetentionPolicy``) and the container (``hasImmutabilityPolicy``,
``immutabilityPolicy``), and the container's ``immutabilityPolicies/default``. A locked policy cannot be
deleted (409, as Azure answers).

Faults: ``storage-unprotected`` with any of ``replication`` (e.g. ``Standard_LRS``), ``versioning``
(false), ``delete_retention_days`` (0 disables it) and ``immutability`` (false removes the container's
policy); ``clear`` restores the protected account.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.arm import ArmApi, ArmError
from sandbox.context import SandboxContext
from sandbox.sas_gate import SasGate
from sandbox.storage import AZURITE, READY_TIMEOUT_S, wait_listening

log = logging.getLogger("sandbox.backup_storage")

ACCOUNT = "qlpbackups"
LTR_CONTAINER = "long-term-backups"
COMPLIANCE_DAYS = 2557  # seven years
IDENTITY_OID = "5e1f0a2b-0000-4000-8000-00000000c0de"  # the app's managed identity
KIND = "Microsoft.Storage/storageAccounts"
ACCOUNT_PATH = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}"
)
BLOB_SERVICE = ACCOUNT_PATH + "/blobServices/default"
CONTAINER = BLOB_SERVICE + "/containers/{container}"


def sandbox_token(tenant_id: str, object_id: str) -> str:
    """A bearer token shaped as Entra ID issues one to a managed identity for storage (audience, issuer,
    tenant, object id, lifetime). Azurite checks those claims; the sandbox's ARM accepts any token."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {
        "aud": "https://storage.azure.com",
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 30 * 86400,
        "oid": object_id,
        "tid": tenant_id,
        "sub": object_id,
        "appid": object_id,
    }
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2FuZGJveA"


@dataclass
class Protection:
    """What the management plane reports about the account."""

    replication: str = "Standard_GRS"
    versioning: bool = True
    delete_retention_days: int = 365
    policies: dict[str, int] = field(default_factory=lambda: {LTR_CONTAINER: COMPLIANCE_DAYS})


class BackupStorage:
    def __init__(
        self, ctx: SandboxContext, arm: ArmApi, proc: Any, url: str, gate: SasGate | None = None
    ) -> None:
        self.ctx, self.arm, self.proc, self.url, self.gate = ctx, arm, proc, url, gate
        self.protection = Protection()
        self.resource_group = ctx.estate.resource_group(ctx.estate.primary_region)

    def summary(self) -> dict[str, str]:
        p = self.protection
        return {
            ACCOUNT: f"{p.replication}, versioning {'on' if p.versioning else 'off'}, "
            f"delete retention {p.delete_retention_days} d, immutable: {', '.join(p.policies) or 'none'}"
        }

    async def close(self) -> None:
        if self.gate is not None:
            await self.gate.close()
        if self.proc is not None:
            await self.ctx.stop_process(self.proc, timeout=10)

    # ---- faults ------------------------------------------------------------------------------------
    async def unprotect(
        self,
        replication: str | None = None,
        versioning: bool | str | None = None,
        delete_retention_days: int | str | None = None,
        immutability: bool | str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        p = self.protection
        if replication is not None:
            p.replication = str(replication)
        if versioning is not None:
            p.versioning = str(versioning).lower() in ("true", "1")
        if delete_retention_days is not None:
            p.delete_retention_days = int(delete_retention_days)
        if immutability is not None and str(immutability).lower() in ("false", "0"):
            p.policies.pop(LTR_CONTAINER, None)
        return {"backup_storage": self.summary()[ACCOUNT]}

    async def clear(self, **_: Any) -> dict[str, Any]:
        self.protection = Protection()
        return {"backup_storage": self.summary()[ACCOUNT]}

    # ---- management routes -------------------------------------------------------------------------
    def register(self) -> None:
        add = self.arm.add_route
        add("GET", ACCOUNT_PATH, self.get_account)
        add("GET", BLOB_SERVICE, self.get_blob_service)
        add("GET", CONTAINER, self.get_container)
        add("GET", CONTAINER + "/immutabilityPolicies/{policy}", self.get_policy)
        add("DELETE", CONTAINER + "/immutabilityPolicies/{policy}", self.delete_policy)

    def _account_id(self, p: dict[str, str]) -> str:
        if p["account"].lower() != ACCOUNT or p["rg"].lower() != self.resource_group.lower():
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource '{KIND}/{p['account']}' under resource group '{p['rg']}' was not found.",
            )
        return self.ctx.estate.resource_id(self.resource_group, KIND, ACCOUNT)

    def _sku(self) -> dict[str, str]:
        name = self.protection.replication
        return {"name": name, "tier": "Premium" if name.startswith("Premium") else "Standard"}

    async def get_account(self, request: web.Request, p: dict[str, str]) -> web.Response:
        estate = self.ctx.estate
        geo = any(r in self.protection.replication for r in ("GRS", "GZRS"))
        props: dict[str, Any] = {
            "provisioningState": "Succeeded",
            "primaryEndpoints": {"blob": self.url + "/"},
            "primaryLocation": estate.primary_region,
            "statusOfPrimary": "available",
            "allowSharedKeyAccess": False,
            "minimumTlsVersion": "TLS1_2",
        }
        if geo:
            props.update(secondaryLocation=estate.secondary_region, statusOfSecondary="available")
        body = {
            "id": self._account_id(p),
            "name": ACCOUNT,
            "type": KIND,
            "location": estate.primary_region,
            "kind": "StorageV2",
            "sku": self._sku(),
            "properties": props,
        }
        return self.arm.json(body)

    async def get_blob_service(self, request: web.Request, p: dict[str, str]) -> web.Response:
        days = self.protection.delete_retention_days
        retention: dict[str, Any] = {"enabled": days > 0}
        if days > 0:
            retention["days"] = days
        body = {
            "id": f"{self._account_id(p)}/blobServices/default",
            "name": "default",
            "type": f"{KIND}/blobServices",
            "sku": self._sku(),
            "properties": {
                "isVersioningEnabled": self.protection.versioning,
                "deleteRetentionPolicy": retention,
                "containerDeleteRetentionPolicy": retention,
            },
        }
        return self.arm.json(body)

    def _container_id(self, p: dict[str, str]) -> str:
        account_id = self._account_id(p)
        if p["container"] != LTR_CONTAINER:
            raise ArmError(404, "ContainerNotFound", "The specified container does not exist.")
        return f"{account_id}/blobServices/default/containers/{LTR_CONTAINER}"

    def _policy(self, container_id: str) -> dict[str, Any] | None:
        days = self.protection.policies.get(LTR_CONTAINER)
        if days is None:
            return None
        return {
            "id": f"{container_id}/immutabilityPolicies/default",
            "name": "default",
            "type": f"{KIND}/blobServices/containers/immutabilityPolicies",
            "etag": '"8d9c0a1b2c3d4e5"',
            "properties": {
                "immutabilityPeriodSinceCreationInDays": days,
                "state": "Locked",
                "allowProtectedAppendWrites": False,
            },
        }

    async def get_container(self, request: web.Request, p: dict[str, str]) -> web.Response:
        container_id = self._container_id(p)
        policy = self._policy(container_id)
        props: dict[str, Any] = {
            "publicAccess": "None",
            "hasImmutabilityPolicy": policy is not None,
            "hasLegalHold": False,
            "leaseState": "Available",
            "leaseStatus": "Unlocked",
        }
        if policy is not None:
            props["immutabilityPolicy"] = {
                "etag": policy["etag"],
                "properties": policy["properties"],
                "updateHistory": [],
            }
        body = {"id": container_id, "name": LTR_CONTAINER, "type": f"{KIND}/blobServices/containers"}
        return self.arm.json({**body, "etag": '"0x8DC0"', "properties": props})

    async def get_policy(self, request: web.Request, p: dict[str, str]) -> web.Response:
        policy = self._policy(self._container_id(p))
        if policy is None or p["policy"] != "default":
            raise ArmError(404, "ImmutabilityPolicyNotFound", "The immutability policy was not found.")
        return self.arm.json(policy)

    async def delete_policy(self, request: web.Request, p: dict[str, str]) -> web.Response:
        policy = self._policy(self._container_id(p))
        if policy is None:
            raise ArmError(404, "ImmutabilityPolicyNotFound", "The immutability policy was not found.")
        raise ArmError(
            409,
            "ContainerImmutabilityPolicyLocked",
            "The immutability policy of the container is locked: it cannot be deleted or shortened.",
        )


def _argv(port: int, location: str, cert: str, key: str) -> list[str]:
    return [
        str(AZURITE),
        *("--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", location),
        *("--cert", cert, "--key", key, "--oauth", "basic"),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
    ]


def _create_container(url: str, key: str, ca_bundle: str) -> None:
    from azure.storage.blob import BlobServiceClient

    credential = {"account_name": ACCOUNT, "account_key": key}
    with BlobServiceClient(url, credential=credential, connection_verify=ca_bundle) as service:
        container = service.get_container_client(LTR_CONTAINER)
        if not container.exists():
            container.create_container()


async def setup(ctx: SandboxContext, arm: ArmApi) -> BackupStorage:
    import asyncio
    import os

    if not AZURITE.exists():
        log.warning("Azurite is not installed (%s missing): no backup storage account", AZURITE)
        return BackupStorage(ctx, arm, None, "")
    port, inner, (cert, key) = ctx.free_port(), ctx.free_port(), ctx.server_cert()
    location = ctx.state_dir / "azurite-backups"
    location.mkdir(parents=True, exist_ok=True)
    account_key = base64.b64encode(secrets.token_bytes(64)).decode()
    env = {**os.environ, "AZURITE_ACCOUNTS": f"{ACCOUNT}:{account_key}"}
    proc = ctx.spawn("azurite-backups", _argv(inner, str(location), str(cert), str(key)), env)
    if not await wait_listening(inner, proc, READY_TIMEOUT_S):
        await ctx.stop_process(proc, timeout=5)
        raise RuntimeError(f"Azurite (backups) did not start on port {inner} (see logs/azurite-backups.log)")
    gate = SasGate(ACCOUNT, account_key, f"https://127.0.0.1:{inner}", str(ctx.ca_cert_path))
    await gate.start(port, str(cert), str(key))
    url = f"https://127.0.0.1:{port}/{ACCOUNT}"
    inner_url = f"https://127.0.0.1:{inner}/{ACCOUNT}"  # the sandbox's own shared-key call, not the gate
    await asyncio.to_thread(_create_container, inner_url, account_key, str(ctx.ca_cert_path))
    component = BackupStorage(ctx, arm, proc, url, gate)
    component.register()
    ctx.on_fault("storage-unprotected", component.unprotect)
    ctx.on_fault("clear", component.clear)
    ctx.endpoints.update(
        backup_storage_account=ACCOUNT,
        backup_storage_resource_group=component.resource_group,
        backup_storage_url=url,
        ltr_container=LTR_CONTAINER,
        sandbox_token=sandbox_token(ctx.estate.tenant_id, IDENTITY_OID),
    )
    ctx.components["backup_storage"] = component
    return component
