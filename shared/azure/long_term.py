"""Long-term backups: Flexible Server's long-term retention API (``backups_long_term_retention``) into the
backup storage account's long-term container, and that account's protection (azure-mgmt-storage).

The container is written only through a SAS signed with a *user delegation key* the managed identity
obtains (no account key anywhere); the SAS grants read, add, create, write and list, never delete, and is
made, used and dropped inside one call: it is a secret and never leaves this module. Nothing here deletes
a blob: the long-term container is immutable evidence (its time-based retention policy is Azure's to
enforce; this module has no delete at all).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any
from urllib.parse import quote

from shared.azure.clients import Clients
from shared.azure.errors import is_not_found, translated
from shared.errors import PermanentError
from shared.reports import redact

SAS_PERMISSIONS = "racwl"  # read, add, create, write, list: no delete, no overwrite of versions
_ALREADY = ("OperationInProgress", "BackupAlreadyExists")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value)


def operation_of(body: dict[str, Any]) -> dict[str, Any]:
    """The activity contract of an ``ltrBackupOperations`` resource (REST shape in)."""
    props = body.get("properties") or {}
    return {
        "found": True,
        "backup_name": props.get("backupName") or body.get("name"),
        "status": props.get("status"),
        "percent_complete": props.get("percentComplete"),
        "datasource_size_bytes": props.get("datasourceSizeInBytes"),
        "data_transferred_bytes": props.get("dataTransferredInBytes"),
        "started_at": _iso(props.get("startTime")),
        "ended_at": _iso(props.get("endTime")),
        "error_code": props.get("errorCode"),
        "error_message": str(redact(props.get("errorMessage") or ""))[:300] or None,
    }


class LongTermAdapter:
    """Long-term backups of one estate's servers and the container that keeps them."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._settings = clients.settings

    @property
    def container(self) -> str:
        return self._settings.ltr_container

    def _ltr(self) -> Any:
        return self._clients.postgres().backups_long_term_retention

    # ---- the backup API --------------------------------------------------------------------------------
    def pre_backup(self, server: str, resource_group: str, backup_name: str) -> dict[str, Any]:
        """Azure's checks that a long-term backup of ``server`` can run; raises what it refuses."""
        body = {"backupSettings": {"backupName": backup_name}}
        with translated("check long-term backup prerequisites of", server):
            found = self._ltr().check_prerequisites(resource_group, server, body).as_dict()
        containers = int((found.get("properties") or {}).get("numberOfContainers") or 1)
        return {"server": server, "number_of_containers": containers, "message": "prerequisites met"}

    def start(self, server: str, resource_group: str, backup_name: str, containers: int) -> dict[str, Any]:
        """Start the backup into the long-term container through fresh user delegation SAS URLs (one per
        container Azure asked for). Idempotent: a backup of that name already running or done is started."""
        sas = [self._container_sas() for _ in range(max(1, containers))]
        body = {"backupSettings": {"backupName": backup_name}, "targetDetails": {"sasUriList": sas}}
        try:
            with translated("start long-term backup of", server):
                self._ltr().begin_start(resource_group, server, body, polling=False)
        except PermanentError as exc:
            code = str(getattr(getattr(exc.__cause__, "error", None), "code", "") or "")
            if code not in _ALREADY:
                raise
        return {
            "server": server,
            "backup_name": backup_name,
            "container": self.container,
            "message": "started",
        }

    def operation(self, server: str, resource_group: str, backup_name: str) -> dict[str, Any]:
        """The backup's operation as Azure reports it; ``found: false`` when Azure has none by that name."""
        try:
            with translated("get long-term backup operation of", server):
                body = self._ltr().get(resource_group, server, backup_name).as_dict()
        except PermanentError as exc:
            if is_not_found(exc.__cause__ or exc):
                return {"found": False, "backup_name": backup_name, "status": None}
            raise
        return operation_of(body)

    # ---- the container -----------------------------------------------------------------------------
    def _container_sas(self) -> str:
        """A container SAS URL signed with a user delegation key (the managed identity's), valid for the
        backup's deadline plus a margin."""
        from shared.azure.imports import SDK_IMPORT_LOCK

        with SDK_IMPORT_LOCK:
            from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        service = self._clients.backup_blobs()
        now = dt.datetime.now(dt.UTC)
        hours = self._settings.ltr_deadline_minutes / 60.0 + 1.0
        start, expiry = now - dt.timedelta(minutes=5), now + dt.timedelta(hours=hours)
        with translated("get user delegation key of", service.account_name or ""):
            key = service.get_user_delegation_key(start, expiry)
        token = generate_container_sas(
            service.account_name,
            self.container,
            user_delegation_key=key,
            permission=ContainerSasPermissions.from_string(SAS_PERMISSIONS),
            start=start,
            expiry=expiry,
        )
        return f"{service.url.rstrip('/')}/{self.container}?{token}"

    def blob_read_sas(self, blob: str, *, valid_seconds: float) -> str:
        """A read-only SAS URL of one blob in the long-term container, signed with a user delegation key
        and valid ``valid_seconds``: for a job that restores it. A secret: the caller hands it on only as
        a secure value."""
        from shared.azure.imports import SDK_IMPORT_LOCK

        with SDK_IMPORT_LOCK:
            from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        service = self._clients.backup_blobs()
        now = dt.datetime.now(dt.UTC)
        start, expiry = now - dt.timedelta(minutes=5), now + dt.timedelta(seconds=valid_seconds)
        with translated("get user delegation key of", service.account_name or ""):
            key = service.get_user_delegation_key(start, expiry)
        token = generate_blob_sas(
            service.account_name,
            self.container,
            blob,
            user_delegation_key=key,
            permission=BlobSasPermissions(read=True),
            start=start,
            expiry=expiry,
        )
        return f"{service.url.rstrip('/')}/{self.container}/{quote(blob)}?{token}"

    def list_blobs(self, prefix: str = "") -> dict[str, Any]:
        """Every blob in the long-term container (under ``prefix``): name, size, stored MD5, created."""
        container = self._clients.backup_blobs().get_container_client(self.container)
        out = []
        with translated("list blobs in", self.container):
            for item in container.list_blobs(name_starts_with=prefix or None):
                md5 = item.content_settings.content_md5 if item.content_settings else None
                out.append(
                    {
                        "name": item.name,
                        "size": int(item.size or 0),
                        "md5": base64.b64encode(bytes(md5)).decode() if md5 else None,
                        "created_at": _iso(item.creation_time),
                    }
                )
        return {"container": self.container, "blobs": sorted(out, key=lambda b: str(b["name"]))}

    def verify_blobs(self, blobs: list[dict[str, Any]], tables: list[str] | None = None) -> dict[str, Any]:
        """Each recorded blob exists, has its recorded size, and its content hashes to its recorded MD5
        (read back in full); with ``tables``, a ``.dump`` blob must also be a pg_dump archive whose table
        of contents names each of them. One check per blob (and per archive); never raises for a
        missing blob."""
        container = self._clients.backup_blobs().get_container_client(self.container)
        checks = [c for blob in blobs for c in self._verify(container, blob, tables or [])]
        passed = bool(checks) and all(c["passed"] for c in checks)
        return {"container": self.container, "checks": checks, "passed": passed}

    def _verify(self, container: Any, blob: dict[str, Any], tables: list[str]) -> list[dict[str, Any]]:
        name = str(blob.get("name") or "")
        digest, size, head = hashlib.md5(usedforsecurity=False), 0, b""
        try:
            with translated("read blob", name):
                for chunk in container.download_blob(name).chunks():
                    digest.update(chunk)
                    size += len(chunk)
                    head = head if len(head) >= _TOC_BYTES else (head + chunk)[:_TOC_BYTES]
        except PermanentError as exc:
            if is_not_found(exc.__cause__ or exc):
                detail = "missing from the long-term container"
                return [{"name": f"blob {name}", "passed": False, "detail": detail}]
            raise
        md5 = base64.b64encode(digest.digest()).decode()
        problems = []
        if size != blob.get("size"):
            problems.append(f"size {size} bytes, recorded {blob.get('size')}")
        if md5 != blob.get("md5"):
            problems.append(f"MD5 {md5}, recorded {blob.get('md5')}")
        detail = "; ".join(problems) or f"{size} bytes, MD5 {md5} as recorded"
        checks = [{"name": f"blob {name}", "passed": not problems, "detail": detail}]
        if tables and name.endswith(".dump"):
            checks.append(archive_check(name, head, tables))
        return checks

    # ---- the account's protection ------------------------------------------------------------------
    def protection(self) -> dict[str, Any]:
        """The backup account's replication, blob versioning, delete retention and the long-term
        container's immutability policy, as the storage management API reports them."""
        s = self._settings
        account, rg = (
            s.backup_storage_account or "",
            s.backup_storage_resource_group or s.primary_resource_group,
        )
        client = self._clients.storage_management()
        with translated("read storage account", account):
            sku = dict(client.storage_accounts.get_properties(rg, account).as_dict().get("sku") or {})
            service = client.blob_services.get_service_properties(rg, account).as_dict()
            container = client.blob_containers.get(rg, account, self.container).as_dict()
        props = service.get("properties") or service
        retention = props.get("deleteRetentionPolicy") or {}
        cprops = container.get("properties") or container
        policy = (cprops.get("immutabilityPolicy") or {}).get("properties") or {}
        return {
            "account": account,
            "replication": sku.get("name"),
            "versioning": bool(props.get("isVersioningEnabled")),
            "delete_retention_days": int(retention.get("days") or 0) if retention.get("enabled") else 0,
            "container": self.container,
            "immutability": bool(cprops.get("hasImmutabilityPolicy")),
            "immutability_days": policy.get("immutabilityPeriodSinceCreationInDays"),
            "immutability_state": policy.get("state"),
        }


_TOC_BYTES = 1 << 20  # a custom-format archive's header and table of contents come first


def archive_check(name: str, head: bytes, tables: list[str]) -> dict[str, Any]:
    """A pg_dump custom-format archive (magic ``PGDMP``) whose table of contents names every table in
    ``tables`` (pg_dump writes each string as a sign byte, a 4-byte little-endian length, the bytes)."""
    label = f"archive {name}"
    if not head.startswith(b"PGDMP"):
        return {"name": label, "passed": False, "detail": "not a pg_dump custom-format archive"}
    missing = [t for t in tables if b"\x00" + len(t.encode()).to_bytes(4, "little") + t.encode() not in head]
    if missing:
        return {
            "name": label,
            "passed": False,
            "detail": f"pg_dump archive without table(s) {', '.join(missing)}",
        }
    version = ".".join(str(b) for b in head[5:8])
    detail = f"pg_dump archive (format {version}) with table(s) {', '.join(tables)}"
    return {"name": label, "passed": True, "detail": detail}
