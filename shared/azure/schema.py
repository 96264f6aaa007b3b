"""SQL of migrations (psycopg, over shared/azure/sql.py's connection): the schema version read with the
configured statement, and the application role's sessions in ``pg_stat_activity`` counted or terminated.

Only client backends of the named role are counted or terminated, never this session, never Azure's own
roles (``azuresu``) and never another role's: the statement names the role, and the terminate call is
made only for the pids it returned.
"""

from __future__ import annotations

from typing import Any

_SESSIONS_SQL = """
select pid from pg_stat_activity
where usename = %(role)s and backend_type = 'client backend' and pid <> pg_backend_pid()
  and datname = current_database()
"""
_OTHERS_SQL = """
select count(*) from pg_stat_activity
where usename is not null and usename <> %(role)s and backend_type = 'client backend'
  and pid <> pg_backend_pid()
"""
# pg_terminate_backend(pid, timeout) waits (up to 5 s) until the session has ended
_TERMINATE_SQL = """
select count(*) filter (where pg_terminate_backend(pid, 5000)) from unnest(%(pids)s::int[]) as pid
"""


def schema_version(conn: Any, statement: str) -> int | None:
    """The first column of the first row of ``statement`` as a whole number (None when no row or NULL)."""
    with conn.cursor() as cur:
        cur.execute(statement)
        row = cur.fetchone()
    conn.rollback()
    if not row or row[0] is None:
        return None
    return int(row[0])


def app_sessions(conn: Any, role: str, *, terminate: bool) -> dict[str, Any]:
    """The role's sessions (and how many other roles have); with ``terminate``, end exactly those and
    count which of them are still there. Returns {role, sessions, others, terminated, after}."""
    with conn.cursor() as cur:
        cur.execute(_SESSIONS_SQL, {"role": role})
        pids = [int(r[0]) for r in cur.fetchall()]
        cur.execute(_OTHERS_SQL, {"role": role})
        others = int(cur.fetchone()[0])
        terminated = 0
        if terminate and pids:
            cur.execute(_TERMINATE_SQL, {"pids": pids})
            terminated = int(cur.fetchone()[0])
        after = len(pids)
        if terminate:  # of the sessions terminated, those still there (new ones are not these)
            cur.execute("select pg_stat_clear_snapshot()")  # the view is a snapshot per transaction
            cur.execute(_SESSIONS_SQL, {"role": role})
            after = len(set(pids) & {int(r[0]) for r in cur.fetchall()})
    conn.commit()
    return {"role": role, "sessions": len(pids), "others": others, "terminated": terminated, "after": after}
