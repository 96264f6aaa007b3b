"""Real PostgreSQL 15 clusters for the sandbox: initdb, start/stop, streaming replicas, promotion,
base backups, WAL archiving and point-in-time recovery (Debian's binaries, run as ``postgres`` when root).
"""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from sandbox.context import SandboxContext

PG_BIN = Path(os.environ.get("SANDBOX_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
_SOCKET_MAX = 100  # sun_path is 108 bytes; leave room for "/.s.PGSQL.65535"

SANDBOX_CONF = """\
# Written by the sandbox for cluster {name}; tuned for a fast, disposable local cluster.
listen_addresses = '127.0.0.1'
max_connections = 60
shared_buffers = 16MB
fsync = off
full_page_writes = off
wal_level = replica
max_wal_senders = 10
wal_keep_size = 128MB
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
archive_mode = on
archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'
archive_timeout = 60
log_min_messages = warning
log_line_prefix = '%m [%p] '
{recovery}
"""

HBA = """\
# Written by the sandbox: the OS superuser over the Unix socket; everyone else by password over TCP.
local all all trust
local replication all trust
host all postgres 127.0.0.1/32 reject
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
"""


class PgError(Exception):
    """A PostgreSQL command or cluster operation failed."""


def is_root() -> bool:
    return os.geteuid() == 0


def _as_user() -> dict[str, Any]:
    return {"user": OS_USER, "group": OS_USER, "extra_groups": []} if is_root() else {}


def own(path: Path, *, recursive: bool = False) -> None:
    """Give ``path`` to the postgres OS user (when running as root)."""
    if not is_root():
        return
    shutil.chown(path, OS_USER, OS_USER)
    if recursive:
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                shutil.chown(os.path.join(root, name), OS_USER, OS_USER)


def make_dir(path: Path, mode: int = 0o700) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    own(path)
    return path


async def run(argv: list[str], *, timeout: float = 300.0) -> str:
    """Run a PostgreSQL tool (as the postgres OS user when root); returns its output or raises PgError."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **_as_user()
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise PgError(f"{Path(argv[0]).name} timed out after {timeout:.0f}s") from exc
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise PgError(f"{Path(argv[0]).name} failed ({proc.returncode}): {text.strip()[-800:]}")
    return text


def utc(ts: float | None = None) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(time.time() if ts is None else ts, datetime.UTC)


@dataclass
class Layout:
    """Where clusters, sockets, WAL archives and base backups live under ``<state-dir>/pg``."""

    root: Path
    sockets: Path
    clusters: Path
    archive: Path
    backups: Path
    own_socket_dir: bool = False

    @classmethod
    async def create(cls, state_dir: Path) -> Layout:
        if (state_dir / "pg").exists():  # every `up` starts a fresh estate
            await asyncio.to_thread(shutil.rmtree, state_dir / "pg")
        root = make_dir(state_dir / "pg", 0o755)
        sockets = root / "run"
        own_socket_dir = len(str(sockets)) > _SOCKET_MAX
        if own_socket_dir:
            sockets = Path(tempfile.mkdtemp(prefix="sbx-pg-"))
        layout = cls(
            root=root,
            sockets=make_dir(sockets, 0o755),
            clusters=make_dir(root / "clusters", 0o755),
            archive=make_dir(root / "archive", 0o755),
            backups=make_dir(root / "backups", 0o755),
            own_socket_dir=own_socket_dir,
        )
        if is_root():
            try:
                await run(["test", "-w", str(layout.clusters)])
            except PgError as exc:
                raise PgError(
                    f"the postgres OS user cannot write {layout.clusters}: every parent of the state dir "
                    "must be traversable by it (e.g. .sandbox in the repo, or a mkdtemp dir with mode 755)"
                ) from exc
        return layout

    def close(self) -> None:
        if self.own_socket_dir:
            shutil.rmtree(self.sockets, ignore_errors=True)


class Cluster:
    """One PostgreSQL cluster: a data directory, a postmaster process, a TCP port and a WAL archive."""

    def __init__(self, ctx: SandboxContext, layout: Layout, name: str, port: int) -> None:
        self.ctx, self.layout, self.name, self.port = ctx, layout, name, port
        self.home = layout.clusters / name
        self.data_dir = self.home / "data"
        self.archive_dir = layout.archive / name
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = ctx.logs_dir / f"pg-{name}.log"

    # ---- files ------------------------------------------------------------------------------------
    def prepare_dirs(self) -> None:
        if self.home.exists():
            shutil.rmtree(self.home)
        make_dir(self.home, 0o700)
        make_dir(self.archive_dir, 0o700)

    def _write(self, name: str, text: str) -> None:
        path = self.data_dir / name
        path.write_text(text)
        path.chmod(0o600)
        own(path)

    def write_config(self, recovery: dict[str, str] | None = None) -> None:
        """(Re)write the sandbox's settings and pg_hba.conf for this cluster."""
        lines = "\n".join(f"{k} = '{v}'" for k, v in (recovery or {}).items())
        text = SANDBOX_CONF.format(name=self.name, archive=self.archive_dir, recovery=lines)
        self._write("sandbox.conf", text)
        self._write("pg_hba.conf", HBA)
        conf = self.data_dir / "postgresql.conf"
        text = conf.read_text()
        if "include_if_exists 'sandbox.conf'" not in text:
            conf.write_text(text + "\ninclude_if_exists 'sandbox.conf'\n")

    def set_standby_of(self, source: Cluster) -> None:
        """Make this cluster (when started) a streaming standby of ``source``."""
        self._write("standby.signal", "")
        conninfo = (
            f"host={source.layout.sockets} port={source.port} user=postgres application_name={self.name}"
        )
        self._write("postgresql.auto.conf", f"primary_conninfo = '{conninfo}'\n")

    def clear_standby(self) -> None:
        (self.data_dir / "standby.signal").unlink(missing_ok=True)
        self._write("postgresql.auto.conf", "")

    # ---- lifecycle --------------------------------------------------------------------------------
    async def initdb(self) -> None:
        self.prepare_dirs()
        await run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-N",
                "--wal-segsize=1",
                "-E",
                "UTF8",
                "--no-locale",
            ]
        )
        self.write_config()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def start(self, *, timeout: float = 60.0) -> None:
        """Start the postmaster and wait until it accepts connections."""
        if self.running:
            return
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        argv = [
            str(PG_BIN / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-k",
            str(self.layout.sockets),
        ]
        self.proc = self.ctx.spawn(
            f"pg-{self.name}", argv, {"PATH": os.environ.get("PATH", "")}, user=OS_USER if is_root() else None
        )
        await self.wait_ready(timeout=timeout)

    async def wait_ready(self, *, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise PgError(f"cluster {self.name} exited: {self.log_tail()}")
            try:
                await self.query("SELECT 1", connect_timeout=2)
                return
            except psycopg.Error:
                await asyncio.sleep(0.05)
        raise PgError(f"cluster {self.name} not ready after {timeout:.0f}s: {self.log_tail()}")

    def log_tail(self, lines: int = 8) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self, mode: str = "fast") -> None:
        """Stop the postmaster: ``smart``, ``fast`` (clean) or ``immediate`` (as a crash)."""
        if self.proc is None:
            return
        sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        await self.ctx.stop_process(self.proc, sig=sig, timeout=60)
        self.proc = None

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    # ---- SQL --------------------------------------------------------------------------------------
    def conninfo(self, dbname: str = "postgres", connect_timeout: int = 5) -> str:
        return (
            f"host={self.layout.sockets} port={self.port} user=postgres dbname={dbname} "
            f"connect_timeout={connect_timeout}"
        )

    async def query(
        self,
        sql: str,
        params: tuple[Any, ...] | None = None,
        *,
        dbname: str = "postgres",
        connect_timeout: int = 5,
    ) -> list[tuple[Any, ...]]:
        """Run one statement as the superuser (autocommit); returns the rows (empty when none)."""
        async with await psycopg.AsyncConnection.connect(
            self.conninfo(dbname, connect_timeout), autocommit=True
        ) as conn:
            cur = await conn.execute(sql, params)  # type: ignore[arg-type]
            return await cur.fetchall() if cur.description else []

    async def scalar(self, sql: str, params: tuple[Any, ...] | None = None, **kw: Any) -> Any:
        rows = await self.query(sql, params, **kw)
        return rows[0][0] if rows else None

    async def in_recovery(self) -> bool:
        return bool(await self.scalar("SELECT pg_is_in_recovery()"))

    # ---- replication and backups ------------------------------------------------------------------
    async def base_backup(self, target: Path) -> None:
        """A plain-format base backup of this (running) cluster into ``target`` (WAL streamed along)."""
        make_dir(target.parent, 0o700)
        await run(
            [
                str(PG_BIN / "pg_basebackup"),
                "-D",
                str(target),
                "-h",
                str(self.layout.sockets),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ]
        )

    async def clone_from(self, source_dir: Path) -> None:
        """Make this cluster's data directory a copy of a base backup or stopped data directory."""
        self.prepare_dirs()
        await run(["cp", "-a", str(source_dir), str(self.data_dir)])
        for stale in ("postmaster.pid", "standby.signal", "recovery.signal", "backup_manifest"):
            (self.data_dir / stale).unlink(missing_ok=True)
        self._write("postgresql.auto.conf", "")
        self.write_config()

    async def replay_lsn(self) -> str | None:
        return await self.scalar("SELECT pg_last_wal_replay_lsn()::text")

    async def current_lsn(self) -> str:
        return str(await self.scalar("SELECT pg_current_wal_lsn()::text"))

    async def caught_up_to(self, lsn: str) -> bool:
        return bool(await self.scalar("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)))

    async def promote(self) -> None:
        """Promote a standby (pg_promote, waiting until it accepts writes)."""
        if not await self.in_recovery():
            return
        if not await self.scalar("SELECT pg_promote(true, 60)"):
            raise PgError(f"pg_promote on {self.name} did not complete within 60s")

    async def checkpoint_lsn(self) -> str:
        """The latest checkpoint location of a stopped cluster (its shutdown checkpoint)."""
        out = await run([str(PG_BIN / "pg_controldata"), str(self.data_dir)])
        match = re.search(r"Latest checkpoint location:\s+(\S+)", out)
        if not match:
            raise PgError(f"pg_controldata gave no checkpoint location for {self.name}")
        return match.group(1)

    async def switch_and_archive(self, *, timeout: float = 30.0) -> None:
        """Close the current WAL segment and wait until the archiver has copied it."""
        await self.query("SELECT txid_current()")  # a commit record after any restore target
        walfile = await self.scalar("SELECT pg_walfile_name(pg_switch_wal())")
        deadline = time.monotonic() + timeout
        while not (self.archive_dir / str(walfile)).exists():
            if time.monotonic() > deadline:
                raise PgError(f"WAL segment {walfile} of {self.name} was not archived within {timeout:.0f}s")
            await asyncio.sleep(0.05)


async def restore_into(
    target: Cluster, backup_dir: Path, archive_dir: Path, target_time: datetime.datetime | None
) -> None:
    """Point-in-time recovery: base backup + archived WAL replayed up to ``target_time`` (or to the end
    of the archive when None), then promoted into a new independent cluster."""
    await target.clone_from(backup_dir)
    recovery = {"restore_command": f"cp {archive_dir}/%f %p", "recovery_target_timeline": "latest"}
    if target_time is not None:
        recovery |= {"recovery_target_time": target_time.isoformat(), "recovery_target_action": "promote"}
    target.write_config(recovery)
    target._write("recovery.signal", "")
    try:
        await target.start(timeout=120)
    except PgError as exc:
        if target_time is None or "before configured recovery target was reached" not in str(exc) + (
            target.log_tail(20)
        ):
            raise
        # The archive ends before the target: everything archived was committed before it.
        await target.stop("immediate")
        await restore_into(target, backup_dir, archive_dir, None)
        return
    deadline = time.monotonic() + 120
    while await target.in_recovery():
        if time.monotonic() > deadline:
            raise PgError(f"restored cluster {target.name} still in recovery after 120s")
        await asyncio.sleep(0.1)
    target.write_config()
