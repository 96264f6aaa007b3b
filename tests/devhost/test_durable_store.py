"""The durable store refuses to misread state written by another schema version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from devhost.durable.store import SCHEMA_VERSION, Store


def test_a_store_of_an_older_schema_is_set_aside_and_a_new_one_starts(tmp_path: Path) -> None:
    path = tmp_path / "durable.sqlite3"
    with sqlite3.connect(str(path)) as old:
        old.execute("CREATE TABLE activities (instance_id TEXT, task_id INTEGER, name TEXT, input TEXT)")
        old.execute("INSERT INTO activities VALUES ('i', 1, 'a', 'null')")
    old.close()

    store = Store(path)
    try:
        assert store.activities() == []
    finally:
        store.close()

    aside = tmp_path / "durable.sqlite3.schema-0"
    with sqlite3.connect(str(aside)) as kept:
        assert kept.execute("SELECT count(*) FROM activities").fetchone()[0] == 1
    kept.close()


def test_a_store_of_this_schema_is_reopened_in_place(tmp_path: Path) -> None:
    path = tmp_path / "durable.sqlite3"
    Store(path).close()
    Store(path).close()
    assert not list(tmp_path.glob("*.schema-*"))
    with sqlite3.connect(str(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
