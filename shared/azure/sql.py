"""SQL against a server (psycopg): data checks, sentinel rows and replication lag measured in the database.

The connection URL is the Key Vault database secret with its host swapped for the target server's FQDN;
it stays inside this module (never returned, never logged). psycopg is imported lazily.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared.azure.imports import SDK_IMPORT_LOCK
from shared.azure.secrets import swap_host
from shared.errors import ContinuityError, PermanentError, TransientError

_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
STATEMENT_TIMEOUT_MS = 30_000

_LAG_SQL = """
select case
  when not pg_is_in_recovery() then 0
  when pg_last_wal_receive_lsn() is not distinct from pg_last_wal_replay_lsn() then 0
  else coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0)
end::float8
"""


def _translate_sql(exc: Exception, operation: str, server: str) -> ContinuityError:
    with SDK_IMPORT_LOCK:
        import psycopg

    detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    # scrub anything that looks like a connection string from driver messages
    detail = re.sub(r"postgres(ql)?://\S+", "<url>", detail)[:300]
    if isinstance(exc, psycopg.OperationalError):
        return TransientError(operation, server, detail)
    return PermanentError(operation, server, detail)


@contextmanager
def connect(secret_url: str, fqdn: str, server: str, operation: str, *, read_only: bool) -> Iterator[Any]:
    """A psycopg connection to ``server`` using the secret's credentials; errors become ours."""
    with SDK_IMPORT_LOCK:
        import psycopg

    try:
        with psycopg.connect(swap_host(secret_url, fqdn), connect_timeout=10, autocommit=False) as conn:
            conn.read_only = read_only
            with conn.cursor() as cur:
                cur.execute(f"set statement_timeout = {STATEMENT_TIMEOUT_MS}")
            yield conn
    except ContinuityError:
        raise
    except ValueError:
        raise PermanentError(operation, server, "the database secret does not hold a database URL") from None
    except Exception as exc:
        raise _translate_sql(exc, operation, server) from exc


def checked_table(name: str) -> str:
    if not _TABLE.fullmatch(name):
        raise PermanentError("run checks", name, "not a table name")
    return name


def _identifier(name: str) -> Any:
    with SDK_IMPORT_LOCK:
        from psycopg import sql

    return sql.Identifier(*name.split("."))


def _count(cur: Any, table: str) -> int:
    with SDK_IMPORT_LOCK:
        from psycopg import sql

    cur.execute(sql.SQL("select count(*) from {}").format(_identifier(table)))
    return int(cur.fetchone()[0])


def _sentinels_found(cur: Any, table: str, names: list[str]) -> set[str]:
    with SDK_IMPORT_LOCK:
        from psycopg import sql

    if not names:
        return set()
    query = sql.SQL("select name from {} where name = any(%s)").format(_identifier(table))
    cur.execute(query, (names,))
    return {row[0] for row in cur.fetchall()}


def _assertion(conn: Any, name: str, statement: str) -> dict[str, Any]:
    with conn.cursor() as cur:
        try:
            cur.execute("savepoint check_sql")
            cur.execute(statement)
            row = cur.fetchone()
            cur.execute("release savepoint check_sql")
        except Exception as exc:
            cur.execute("rollback to savepoint check_sql")
            return {"name": name, "passed": False, "detail": f"failed: {str(exc).splitlines()[0]}"[:300]}
    passed = bool(row) and row[0] is True
    return {"name": name, "passed": passed, "detail": f"returned {row[0] if row else 'no row'!r}"}


def run_checks(conn: Any, checks: dict[str, Any], table_sentinels: str) -> dict[str, Any]:
    """Row counts, sentinel presence / absence and SQL assertions; a failed check is data, not an error."""
    results: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    minimums = checks.get("min_counts") or {}
    with conn.cursor() as cur:
        for table in checks.get("critical_tables") or []:
            counts[table] = _count(cur, checked_table(table))
            minimum = int(minimums.get(table, 0))
            ok = counts[table] >= minimum
            results.append(
                {"name": f"count {table}", "passed": ok, "detail": f"{counts[table]} rows (min {minimum})"}
            )
        present = list(checks.get("sentinels_present") or [])
        absent = list(checks.get("sentinels_absent") or [])
        found = _sentinels_found(cur, checked_table(table_sentinels), present + absent)
    for name in present:
        results.append({"name": f"sentinel {name} present", "passed": name in found, "detail": ""})
    for name in absent:
        results.append({"name": f"sentinel {name} absent", "passed": name not in found, "detail": ""})
    for item in checks.get("sql") or []:
        results.append(_assertion(conn, str(item["name"]), str(item["sql"])))
    return {"passed": all(r["passed"] for r in results), "counts": counts, "checks": results}


def write_sentinel(conn: Any, table: str, name: str) -> dict[str, Any]:
    """Insert sentinel ``name`` unless it exists; returns its time and whether it was created now."""
    with SDK_IMPORT_LOCK:
        from psycopg import sql

    table_id = _identifier(checked_table(table))
    with conn.cursor() as cur:
        insert = sql.SQL(
            "insert into {} (name) values (%s) on conflict (name) do nothing returning written_at"
        )
        cur.execute(insert.format(table_id), (name,))
        row = cur.fetchone()
        created = row is not None
        if not created:
            cur.execute(sql.SQL("select written_at from {} where name = %s").format(table_id), (name,))
            row = cur.fetchone()
    conn.commit()
    written: dt.datetime = row[0]
    return {"name": name, "written_at": written.astimezone(dt.UTC).isoformat(), "created": created}


def lag_seconds(conn: Any) -> float:
    """Replay lag of a replica measured in the database (0 when it has replayed all it received)."""
    with conn.cursor() as cur:
        cur.execute(_LAG_SQL)
        return float(cur.fetchone()[0])


_POSITION_SQL = """
select pg_is_in_recovery(),
       case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end::text,
       pg_last_wal_receive_lsn()::text
"""


def wal_position(conn: Any) -> dict[str, Any]:
    """Where a server is in the WAL: a primary's current write position, a replica's replayed one (and what
    it has received). Comparing a primary's position with its replica's is exact, unlike the lag metric."""
    with conn.cursor() as cur:
        cur.execute(_POSITION_SQL)
        in_recovery, lsn, received = cur.fetchone()
    return {"in_recovery": bool(in_recovery), "lsn": lsn, "receive_lsn": received}
