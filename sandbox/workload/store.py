"""The workload's SQL: intents with a float8[] embedding and cosine similarity computed in SQL.

pgvector is not installable here, so the vector column is a plain `float8[]` and the similarity is
computed with `unnest` in SQL; the query shape (ORDER BY similarity LIMIT k) is the one pgvector would run.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from typing import Any

import psycopg

EMBEDDING_DIMS = 64

SEARCH_SQL = """
SELECT id, text, created_at,
       (SELECT sum(a * b) FROM unnest(i.embedding, %(q)s::float8[]) AS t(a, b))
       / nullif(sqrt((SELECT sum(a * a) FROM unnest(i.embedding) AS t(a)))
                * sqrt((SELECT sum(b * b) FROM unnest(%(q)s::float8[]) AS t(b))), 0) AS score
FROM intents AS i
WHERE cardinality(i.embedding) = cardinality(%(q)s::float8[])
ORDER BY score DESC NULLS LAST, id
LIMIT %(k)s
"""


def embed(text: str) -> list[float]:
    """A deterministic stand-in embedding: hashed bag of words, L2-normalised."""
    vec = [0.0] * EMBEDDING_DIMS
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vec[digest[0] % EMBEDDING_DIMS] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [x / norm for x in vec]


async def connect(url: str) -> psycopg.AsyncConnection[Any]:
    """Open one autocommit connection (a short connect timeout so a dead server fails fast)."""
    return await psycopg.AsyncConnection.connect(url, connect_timeout=3, autocommit=True)


async def insert_intent(url: str, text: str, embedding: list[float]) -> dict[str, Any]:
    async with await connect(url) as conn:
        cur = await conn.execute(
            "INSERT INTO intents (text, embedding) VALUES (%s, %s) RETURNING id, created_at",
            (text, embedding),
        )
        row = await cur.fetchone()
    assert row is not None
    return {"id": row[0], "text": text, "created_at": row[1].isoformat()}


async def search(url: str, embedding: list[float], limit: int) -> list[dict[str, Any]]:
    async with await connect(url) as conn:
        cur = await conn.execute(SEARCH_SQL, {"q": embedding, "k": limit})
        rows = await cur.fetchall()
    return [
        {
            "id": r[0],
            "text": r[1],
            "created_at": r[2].isoformat(),
            "score": None if r[3] is None else float(r[3]),
        }
        for r in rows
    ]


async def database_health(url: str) -> dict[str, Any]:
    """SELECT 1 plus whether the server is a read-only replica and the schema version."""
    async with await connect(url) as conn:
        cur = await conn.execute("SELECT pg_is_in_recovery(), (SELECT max(version) FROM schema_version)")
        row = await cur.fetchone()
    assert row is not None
    return {"read_only": bool(row[0]), "schema_version": row[1]}


async def migrate(url: str, target: int | None, hold_s: float = 0.0) -> tuple[int, int]:
    """Set schema_version to `target` (or bump it by one), holding its lock `hold_s` seconds first; return
    (before, after). The lock waits at most lock_timeout (libpq reads PGOPTIONS from the environment)."""
    async with await connect(url) as conn, conn.transaction():
        await conn.execute("LOCK TABLE schema_version IN ACCESS EXCLUSIVE MODE")
        if hold_s:
            await asyncio.sleep(hold_s)
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        row = await cur.fetchone()
        before = int(row[0]) if row else 0
        after = before + 1 if target is None else target
        await conn.execute("DELETE FROM schema_version")
        await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (after,))
    return before, after


async def schema_version(url: str) -> int:
    async with await connect(url) as conn:
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        row = await cur.fetchone()
    return int(row[0]) if row else 0
