"""Benchmark: Continuity's restore test against a raw PostgreSQL point-in-time restore of the same data.

One sandbox, one run. Both sides do the same restore test on the same primary (its data seeded first):
two sentinel rows 2 s apart, a point-in-time restore to the moment between them into a new cluster,
the data checks (row count of the critical table, the first sentinel present, the second absent), and
the new cluster removed.
- continuity: ``POST /api/drills {"scenario": "restore"}`` on devhost, timed until the run completes
  (the orchestration, every activity through the real Azure SDKs to the sandbox's ARM API, reports).
- raw: the same steps by hand with PostgreSQL's own tools on the sandbox's base backup and WAL archive
  (``pg_switch_wal``, ``cp`` of the base backup, ``recovery_target_time``, ``pg_ctl start``, psql checks,
  ``pg_ctl stop``, ``rm``): what an operator's script does, with nothing around it.
Each side runs ROUNDS times alternately after a warm-up round; the medians are compared. The last line
is ``restore ratio: continuity/raw=<x>`` (goal <= 1.2). Known difference: the sandbox, like Azure, takes
a first base backup of every restored server before the restore completes; the raw path does not.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from sandbox.client import SandboxClient  # noqa: E402
from sandbox.postgres import PG_BIN, run  # noqa: E402
from tests.fixtures.sandbox import start_sandbox, stop_sandbox  # noqa: E402
from tests.support.e2e import app_env, post, start_devhost  # noqa: E402
from tests.support.receiver import running_receiver  # noqa: E402

ROUNDS = 5
SEED_ROWS = 20_000
GAP_SECONDS = 2.0  # the restore test's gap between its sentinels (orchestrators/restore_test.py)


def seed(sb: SandboxClient) -> None:
    """Give the primary some data: SEED_ROWS intents with 16-dimension embeddings."""
    with psycopg.connect(sb.endpoints["database_url"]) as conn:
        conn.execute(
            "INSERT INTO intents (text, embedding) SELECT 'seeded intent ' || g, "
            "array_fill(g::float8 / %s, ARRAY[16]) FROM generate_series(1, %s) g",
            (SEED_ROWS, SEED_ROWS),
        )


def timed_continuity(host: Any) -> float:
    started = time.monotonic()
    status, body = post(host, "/api/drills", {"scenario": "restore"})
    assert status == 202, body
    while True:
        view = host.request("GET", f"/api/runs/{body['id']}", key="function").json()
        if view.get("runtime_status") not in ("Running", "Pending"):
            break
        assert time.monotonic() - started < 300, view
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    report = view["output"]
    assert report["status"] == "succeeded", report.get("summary")
    steps = ", ".join(f"{s['name']} {seconds(s):.2f}" for s in report["steps"])
    print(f"  continuity steps (s): {steps}", flush=True)
    return elapsed


def seconds(step: dict[str, Any]) -> float:
    end, start = datetime.fromisoformat(step["ended_at"]), datetime.fromisoformat(step["started_at"])
    return (end - start).total_seconds()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RawRestore:
    """The restore test done by hand on the sandbox primary's base backup and WAL archive."""

    def __init__(self, sb: SandboxClient) -> None:
        pg = Path(sb.endpoints["state_dir"]) / "pg"
        primary = sb.endpoints["servers"]["primary"]
        self.url = sb.endpoints["database_url"]
        self.sockets = pg / "run"
        self.primary_port = sb.endpoints["server_ports"][primary]
        self.archive = pg / "archive" / primary
        self.backups = pg / "backups" / primary
        self.work = Path(tempfile.mkdtemp(prefix="raw-pitr-", dir=pg))
        self.work.chmod(0o777)
        self.round = 0

    def superuser(self, port: int) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=str(self.sockets), port=port, user="postgres", dbname="qlp_db", autocommit=True
        )

    def sentinel(self, name: str) -> datetime:
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "INSERT INTO sentinels (name) VALUES (%s) RETURNING written_at", (name,)
            ).fetchone()
        assert row is not None
        return row[0]  # type: ignore[no-any-return]

    def switch_and_archive(self) -> None:
        with self.superuser(self.primary_port) as conn:
            conn.execute("SELECT txid_current()")
            row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        deadline = time.monotonic() + 60
        while not (self.archive / str(row[0])).exists():
            assert time.monotonic() < deadline, "WAL segment not archived"
            time.sleep(0.05)

    def latest_backup(self) -> Path:
        return max(self.backups.iterdir(), key=lambda p: p.stat().st_mtime)

    async def restore(self, point: datetime, data: Path, port: int) -> None:
        await run(["cp", "-a", str(self.latest_backup()), str(data)])
        for stale in ("postmaster.pid", "standby.signal", "backup_manifest"):
            (data / stale).unlink(missing_ok=True)
        conf = (
            f"port = {port}\nunix_socket_directories = '{self.sockets}'\narchive_mode = off\n"
            f"restore_command = 'cp {self.archive}/%f %p'\nrecovery_target_time = '{point.isoformat()}'\n"
            "recovery_target_action = 'promote'\n"
        )
        await run(
            [
                "sh",
                "-c",
                f"cat > {data}/postgresql.auto.conf <<'EOF'\n{conf}EOF\ntouch {data}/recovery.signal",
            ]
        )
        await run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", f"{data}.log", "-w", "-t", "120", "start"])

    def wait_promoted(self, port: int) -> None:
        deadline = time.monotonic() + 120
        while True:
            with self.superuser(port) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row is not None and not row[0]:
                return
            assert time.monotonic() < deadline, "raw restore still in recovery"
            time.sleep(0.1)

    def check(self, port: int, before: str, after: str) -> None:
        with self.superuser(port) as conn:
            counted = conn.execute("SELECT count(*) FROM intents").fetchone()
            found = {
                r[0]
                for r in conn.execute("SELECT name FROM sentinels WHERE name IN (%s, %s)", (before, after))
            }
        assert counted is not None and counted[0] >= SEED_ROWS, counted
        assert found == {before}, found

    def timed(self) -> float:
        self.round += 1
        started = time.monotonic()
        before, after = f"raw-{self.round}-before", f"raw-{self.round}-after"
        t_before = self.sentinel(before)
        time.sleep(GAP_SECONDS)
        t_after = self.sentinel(after)
        point = t_before + (t_after - t_before) / 2
        self.switch_and_archive()
        data, port = self.work / f"round{self.round}", _free_port()
        asyncio.run(self.restore(point, data, port))
        self.wait_promoted(port)
        self.check(port, before, after)
        asyncio.run(run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]))
        asyncio.run(run(["rm", "-rf", str(data)]))
        return time.monotonic() - started

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def main() -> int:
    sb = start_sandbox(backup_interval=3600.0)
    try:
        seed(sb)
        with running_receiver() as hook:
            host = start_devhost(app_env(sb, hook))
            raw = RawRestore(sb)
            try:
                continuity, baseline = [], []
                timed_continuity(host), raw.timed()  # warm-up: imports, connections, caches on both sides
                for i in range(ROUNDS):
                    continuity.append(timed_continuity(host))
                    baseline.append(raw.timed())
                    print(
                        f"round {i + 1}: continuity {continuity[-1]:.2f} s, raw {baseline[-1]:.2f} s",
                        flush=True,
                    )
            finally:
                raw.close()
                host.stop()
    finally:
        stop_sandbox(sb.state_dir)
    c, r = statistics.median(continuity), statistics.median(baseline)
    print(f"restore test on {SEED_ROWS} rows, median of {ROUNDS} after a warm-up round:")
    print(f"continuity {c:.2f} s, raw PostgreSQL PITR {r:.2f} s")
    print(f"restore ratio: continuity/raw={c / r:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
