"""SQLite persistence for the durable engine: instances, history, inbox, pending activities, timers.

One connection, used only from the event-loop thread. WAL mode with synchronous=NORMAL: every committed
transaction survives the process being killed (SIGKILL); each orchestration step is one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    parent_id TEXT,
    parent_task_id INTEGER,
    engine_state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_created ON instances(created);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_instance ON inbox(instance_id);
CREATE TABLE IF NOT EXISTS activities (
    instance_id TEXT NOT NULL,
    execution TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT,
    PRIMARY KEY (instance_id, execution, task_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
    instance_id TEXT NOT NULL,
    execution TEXT NOT NULL,
    timer_id INTEGER NOT NULL,
    fire_at TEXT NOT NULL,
    PRIMARY KEY (instance_id, execution, timer_id)
) WITHOUT ROWID;
"""

ACTIVE_STATUSES = ("Pending", "Running", "Suspended", "ContinuedAsNew")
WorkKey = tuple[str, str, int]
"""(instance id, execution id, task or timer id): one pending activity or timer."""


@dataclass
class InstanceRow:
    """One orchestration instance as stored (history and inbox loaded separately)."""

    instance_id: str
    name: str
    status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created: str
    updated: str
    parent_id: str | None
    parent_task_id: int | None
    engine_state: dict[str, Any] = field(default_factory=dict)

    def values(self) -> tuple[Any, ...]:
        return (
            self.instance_id,
            self.name,
            self.status,
            self.input,
            self.output,
            self.custom_status,
            self.created,
            self.updated,
            self.parent_id,
            self.parent_task_id,
            json.dumps(self.engine_state, separators=(",", ":")),
        )


_COLUMNS = (
    "instance_id, name, status, input, output, custom_status, created, updated, parent_id, "
    "parent_task_id, engine_state"
)


def _row(values: Iterable[Any]) -> InstanceRow:
    fields = list(values)
    fields[-1] = json.loads(fields[-1])
    return InstanceRow(*fields)


SCHEMA_VERSION = 2
"""Bumped whenever _SCHEMA changes; a store written by another version is set aside, not misread."""


def _set_aside_if_stale(path: Path) -> None:
    """Move a store of another schema version out of the way (with its WAL files) and say where."""
    if not path.exists():
        return
    with sqlite3.connect(str(path)) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    if version == SCHEMA_VERSION:
        return
    aside = path.with_name(f"{path.name}.schema-{version}")
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{path}{suffix}")
        if old.exists():
            old.replace(Path(f"{aside}{suffix}"))
    print(
        f"[devhost] durable state in {path} has schema {version}, this devhost uses {SCHEMA_VERSION}: "
        f"kept it as {aside} and started with an empty store",
        flush=True,
    )


class Store:
    """The engine's tables. Every mutating method must run inside `transaction()`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _set_aside_if_stale(path)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ---- instances -------------------------------------------------------------------------------
    def put_instance(self, row: InstanceRow) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO instances ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", row.values()
        )

    def get_instance(self, instance_id: str) -> InstanceRow | None:
        cur = self._db.execute(f"SELECT {_COLUMNS} FROM instances WHERE instance_id = ?", (instance_id,))
        found = cur.fetchone()
        return _row(found) if found else None

    def active_instances(self) -> list[InstanceRow]:
        marks = ",".join("?" * len(ACTIVE_STATUSES))
        cur = self._db.execute(f"SELECT {_COLUMNS} FROM instances WHERE status IN ({marks})", ACTIVE_STATUSES)
        return [_row(r) for r in cur.fetchall()]

    def query_instances(self, where: str, args: list[Any], limit: int, offset: int) -> list[InstanceRow]:
        sql = f"SELECT {_COLUMNS} FROM instances {where} ORDER BY created, instance_id LIMIT ? OFFSET ?"
        return [_row(r) for r in self._db.execute(sql, [*args, limit, offset]).fetchall()]

    def delete_instance(self, instance_id: str) -> None:
        for table in ("instances", "history", "inbox", "activities", "timers"):
            self._db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))

    # ---- history ---------------------------------------------------------------------------------
    def history(self, instance_id: str) -> list[str]:
        cur = self._db.execute("SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,))
        return [r[0] for r in cur.fetchall()]

    def append_history(self, instance_id: str, first_seq: int, events: list[str]) -> None:
        rows = [(instance_id, first_seq + i, e) for i, e in enumerate(events)]
        self._db.executemany("INSERT INTO history (instance_id, seq, event) VALUES (?,?,?)", rows)

    def clear_history(self, instance_id: str) -> None:
        self._db.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))

    # ---- inbox -----------------------------------------------------------------------------------
    def add_inbox(self, instance_id: str, event: dict[str, Any]) -> int:
        cur = self._db.execute(
            "INSERT INTO inbox (instance_id, event) VALUES (?,?)", (instance_id, json.dumps(event))
        )
        return int(cur.lastrowid or 0)

    def inbox(self, instance_id: str) -> list[tuple[int, dict[str, Any]]]:
        cur = self._db.execute(
            "SELECT id, event FROM inbox WHERE instance_id = ? ORDER BY id", (instance_id,)
        )
        return [(r[0], json.loads(r[1])) for r in cur.fetchall()]

    def remove_inbox(self, ids: list[int]) -> None:
        self._db.executemany("DELETE FROM inbox WHERE id = ?", [(i,) for i in ids])

    def clear_inbox(self, instance_id: str) -> None:
        self._db.execute("DELETE FROM inbox WHERE instance_id = ?", (instance_id,))

    # ---- activities and timers (keyed by execution: ids restart after continue-as-new) --------------
    def add_activity(self, key: WorkKey, name: str, input_: str | None) -> None:
        self._db.execute("INSERT OR REPLACE INTO activities VALUES (?,?,?,?,?)", (*key, name, input_))

    def remove_activity(self, key: WorkKey) -> bool:
        sql = "DELETE FROM activities WHERE instance_id = ? AND execution = ? AND task_id = ?"
        return self._db.execute(sql, key).rowcount > 0

    def activities(self) -> list[tuple[WorkKey, str, str | None]]:
        rows = self._db.execute("SELECT instance_id, execution, task_id, name, input FROM activities")
        return [((r[0], r[1], r[2]), r[3], r[4]) for r in rows.fetchall()]

    def add_timer(self, key: WorkKey, fire_at: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO timers VALUES (?,?,?,?)", (*key, fire_at))

    def remove_timer(self, key: WorkKey) -> bool:
        sql = "DELETE FROM timers WHERE instance_id = ? AND execution = ? AND timer_id = ?"
        return self._db.execute(sql, key).rowcount > 0

    def timers(self) -> list[tuple[WorkKey, str]]:
        rows = self._db.execute("SELECT instance_id, execution, timer_id, fire_at FROM timers")
        return [((r[0], r[1], r[2]), r[3]) for r in rows.fetchall()]

    def clear_pending(self, instance_id: str) -> None:
        """Drop pending activities and timers of one instance (continue-as-new)."""
        for table in ("activities", "timers"):
            self._db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))

    def clear_work(self, instance_id: str) -> None:
        """Drop pending activities, timers and inbox messages of one instance (terminate, restart)."""
        for table in ("activities", "timers", "inbox"):
            self._db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))
