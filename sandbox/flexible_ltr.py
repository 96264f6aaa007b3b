"""Long-term retention backups of the sandbox's flexible servers, as Azure serves them (api 2026-10-01).

``POST .../ltrPreBackup`` checks that a backup can run (``{properties: {numberOfContainers: 1}}``),
``POST .../startLtrBackup`` starts one (a long-running operation) and ``GET .../ltrBackupOperations[/{name}]``
follows it: ``status`` Running -> Succeeded / Failed, ``percentComplete``, ``datasourceSizeInBytes``,
``dataTransferredInBytes``, ``startTime`` / ``endTime``, ``errorCode`` / ``errorMessage``. As on Azure the
backup is logical: a real ``pg_dump`` of the server's database, written into the container the request's
SAS URL names (``targetDetails.sasUriList``), through that SAS only: a SAS that is expired, lacks write
permission or is not signed by the account fails the operation with the storage service's answer.

Faults: ``ltr-backup-fail`` makes the next backup (of any server, or of ``server``) fail after it
started; ``clear`` removes it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import shutil
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.arm import ArmApi, ArmError
from sandbox.flexible_model import KIND, Fleet, Server
from sandbox.postgres import PG_BIN, PgError, make_dir, own, run, utc

log = logging.getLogger("sandbox.flexible_servers")

OPERATIONS_TYPE = f"{KIND}/ltrBackupOperations"
_BACKUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


@dataclass
class LtrOperation:
    """One long-term backup of a server, by its backup name."""

    backup_name: str
    server: str
    started: str = field(default_factory=lambda: utc().isoformat())
    status: str = "Running"
    percent: float = 0.0
    size: int | None = None
    transferred: int = 0
    ended: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    blobs: list[str] = field(default_factory=list)

    def to_json(self, server_id: str) -> dict[str, Any]:
        props: dict[str, Any] = {
            "backupName": self.backup_name,
            "status": self.status,
            "startTime": self.started,
            "percentComplete": self.percent,
            "dataTransferredInBytes": self.transferred,
        }
        if self.size is not None:
            props["datasourceSizeInBytes"] = self.size
        if self.ended:
            props["endTime"] = self.ended
        if self.blobs:
            props["backupMetadata"] = '{"blobs": ["' + '", "'.join(self.blobs) + '"]}'
        if self.error_code:
            props.update(errorCode=self.error_code, errorMessage=self.error_message or "")
        return {
            "id": f"{server_id}/ltrBackupOperations/{self.backup_name}",
            "name": self.backup_name,
            "type": OPERATIONS_TYPE,
            "properties": props,
        }


def _body_parts(body: dict[str, Any], *, need_target: bool) -> tuple[str, list[str]]:
    """(backupName, sasUriList) of a request, or 400 InvalidParameterValue naming the field."""
    settings = body.get("backupSettings")
    name = settings.get("backupName") if isinstance(settings, dict) else None
    if not isinstance(name, str) or not _BACKUP_NAME.fullmatch(name):
        raise ArmError(
            400, "InvalidParameterValue", "backupSettings.backupName is required: letters, digits, _ -."
        )
    if not need_target:
        return name, []
    target = body.get("targetDetails")
    uris = target.get("sasUriList") if isinstance(target, dict) else None
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and "sig=" in u for u in uris):
        raise ArmError(
            400,
            "InvalidParameterValue",
            "targetDetails.sasUriList is required: one or more container SAS URLs.",
        )
    return name, [str(u) for u in uris]


class LongTermRetention:
    """The routes and the backups they run."""

    def __init__(self, fleet: Fleet, arm: ArmApi, server_path: str) -> None:
        self.fleet, self.arm, self.server_path = fleet, arm, server_path
        self.operations: dict[tuple[str, str], LtrOperation] = {}
        self.fail_next: dict[str, str] = {}  # server ('' = any) -> error message
        self._tasks: set[asyncio.Task[None]] = set()
        ctx = fleet.ctx
        ctx.on_fault("ltr-backup-fail", self._fault)
        ctx.on_fault("clear", self._clear)

    def register(self) -> None:
        add, path = self.arm.add_route, self.server_path
        add("POST", path + "/ltrPreBackup", self.pre_backup)
        add("POST", path + "/startLtrBackup", self.start)
        add("GET", path + "/ltrBackupOperations", self.list_operations)
        add("GET", path + "/ltrBackupOperations/{backup}", self.get_operation)

    # ---- faults ------------------------------------------------------------------------------------
    async def _fault(self, server: str = "", message: str = "", **_: Any) -> dict[str, Any]:
        self.fail_next[server] = message or "The long-term retention backup failed: pg_dump was interrupted."
        return {"ltr_backup_fail": server or "any server"}

    async def _clear(self, **_: Any) -> dict[str, Any]:
        self.fail_next.clear()
        return {"ltr_backup_fail": None}

    # ---- routes ------------------------------------------------------------------------------------
    def _ready_primary(self, p: dict[str, str]) -> Server:
        server = self.fleet.find(p["rg"], p["name"])
        state = self.fleet.state(server)
        if state != "Ready":
            raise ArmError(
                409,
                "ServerNotReady",
                f"Server '{server.name}' is {state}: long-term backups need a Ready server.",
            )
        if server.source:
            raise ArmError(
                400,
                "OperationNotSupportedOnReplica",
                f"Server '{server.name}' is a read replica: back up its primary.",
            )
        return server

    async def pre_backup(self, request: web.Request, p: dict[str, str]) -> web.Response:
        _body_parts(await self.arm.read_json(request), need_target=False)
        self._ready_primary(p)
        return self.arm.json({"properties": {"numberOfContainers": 1}})

    async def start(self, request: web.Request, p: dict[str, str]) -> web.Response:
        name, uris = _body_parts(await self.arm.read_json(request), need_target=True)
        server = self._ready_primary(p)
        key = (server.name.lower(), name.lower())
        running = self.operations.get(key)
        if running is not None and running.status == "Running":
            raise ArmError(
                409, "OperationInProgress", f"A long-term backup named '{name}' is already running."
            )
        if running is not None and running.status == "Succeeded":
            raise ArmError(409, "BackupAlreadyExists", f"A long-term backup named '{name}' already exists.")
        op = LtrOperation(name, server.name)
        self.operations[key] = op
        server_id = self.fleet.resource_id(server)

        async def work() -> dict[str, Any]:
            await self._backup(server, op, uris[0])
            if op.status == "Failed":
                raise ArmError(500, op.error_code or "BackupFailed", op.error_message or "failed")
            return op.to_json(server_id)

        return self.arm.begin_lro(request, work)

    async def list_operations(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
        server_id = self.fleet.resource_id(server)
        mine = [op for (s, _), op in self.operations.items() if s == server.name.lower()]
        return self.arm.page([op.to_json(server_id) for op in mine])

    async def get_operation(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
        op = self.operations.get((server.name.lower(), p["backup"].lower()))
        if op is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"Long-term backup operation '{p['backup']}' of '{server.name}' was not found.",
            )
        return self.arm.json(op.to_json(self.fleet.resource_id(server)))

    # ---- the backup --------------------------------------------------------------------------------
    async def _backup(self, server: Server, op: LtrOperation, sas_url: str) -> None:
        database = self.fleet.ctx.estate.database_name
        work = make_dir(self.fleet.layout.backups / "ltr" / op.backup_name, 0o755)
        own(work)
        dump = work / f"{database}.dump"
        try:
            op.size = int(await server.cluster.scalar("SELECT pg_database_size(%s)", (database,)) or 0)
            op.percent = 10.0
            await run(
                [str(PG_BIN / "pg_dump"), "-Fc", "-f", str(dump), "-d", server.cluster.conninfo(database)]
            )
            op.percent = 60.0
            failure = self.fail_next.pop(server.name, None) or self.fail_next.pop("", None)
            if failure:
                raise PgError(failure)
            data = dump.read_bytes()
            blob = f"{server.name}/{op.backup_name}/{database}.dump"
            await asyncio.to_thread(_upload, sas_url, blob, data, str(self.fleet.ctx.ca_cert_path))
            op.blobs, op.transferred, op.percent, op.status = [blob], len(data), 100.0, "Succeeded"
        except Exception as exc:  # the operation fails with what went wrong, as Azure reports it
            op.status, op.error_code = "Failed", "LongTermRetentionBackupFailed"
            op.error_message = str(exc)[:500]
            log.warning("ltr backup %s of %s failed: %s", op.backup_name, server.name, op.error_message)
        finally:
            op.ended = utc().isoformat()
            shutil.rmtree(work, ignore_errors=True)


def _upload(sas_url: str, blob: str, data: bytes, ca_bundle: str) -> None:
    """Write ``blob`` into the container the SAS URL names, through that SAS only (Content-MD5 set, as a
    single Put Blob sets it)."""
    from azure.storage.blob import ContainerClient, ContentSettings

    md5 = bytearray(hashlib.md5(data).digest())
    with ContainerClient.from_container_url(sas_url, connection_verify=ca_bundle) as container:
        container.upload_blob(blob, data, overwrite=False, content_settings=ContentSettings(content_md5=md5))
    log.info("ltr backup blob %s written (%d bytes, md5 %s)", blob, len(data), base64.b64encode(md5).decode())
