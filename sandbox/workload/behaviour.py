"""How the image tag decides what a workload process does (serve, fail, slow down, crash, migrate)."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_SLOW_MS = 800
SLOW_MIGRATION_S = 8.0


@dataclass(frozen=True)
class Behaviour:
    """What a container running `image` does: see `behaviour_for`."""

    image: str
    tag: str
    broken: bool = False
    slow_ms: int = 0
    flaky_percent: int = 0  # that share of requests answers 500 (every n-th, so the share is exact)
    errors_after_s: float | None = None  # healthy for that long after start, then every route answers 500
    crash_after_s: float | None = None  # the process exits (code 1) that long after start
    migrate: bool = False
    migrate_to: int | None = None
    migrate_fails: bool = False
    migrate_hold_s: float = 0.0  # `migrate-<n>-slow`: holds its lock that long before committing
    schema_max: int | None = None  # `-schema-max-<n>`: refuses to start on a newer schema
    pg_restore: bool = False  # a `pg-restore` image restores a pg_dump archive and exits

    def failing(self, uptime_s: float, request_number: int) -> str:
        """Why request number ``request_number`` (1-based), ``uptime_s`` after start, answers 500 ('' when
        it does not)."""
        if self.broken:
            return f"image {self.tag} is broken"
        if self.errors_after_s is not None and uptime_s >= self.errors_after_s:
            return f"image {self.tag} fails after {self.errors_after_s:g} s"
        pct = self.flaky_percent
        if pct and (request_number * pct) // 100 > ((request_number - 1) * pct) // 100:
            return f"image {self.tag} fails {pct}% of requests"
        return ""


def image_tag(image: str) -> str:
    """The tag of `registry/name:tag` (digest references and untagged images give `latest`)."""
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return last.split("@", 1)[1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def _number(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else None


def behaviour_for(image: str, *, slow_ms: int = DEFAULT_SLOW_MS) -> Behaviour:
    """Read the behaviour from the tag.

    A normal version tag serves. `broken` fails every route; `slow` adds `slow_ms` of latency to every
    route and `slow-<ms>` that many milliseconds; `flaky-<pct>` answers 500 to that share of requests;
    `errors-after-<s>` serves for s seconds after start, then answers 500 everywhere; `crash-after-<s>`
    exits with code 1 s seconds after start. `migrate` runs the migration and exits (`migrate-7` sets
    schema_version to 7, plain `migrate` bumps it by one; `migrate` together with `fail` or `broken`
    exits 1 without a change; `migrate-<n>-slow` holds its table lock 8 s, `-slow-<s>` s seconds, so a
    lock timeout elsewhere matters). `-schema-max-<n>` (e.g. `1.4.0-schema-max-7`) refuses to start on a
    schema newer than n, as a release that never ran on it would fail. An image named or tagged `pg-restore`
    runs pg_restore and exits.
    """
    tag = image_tag(image)
    low = tag.lower()
    if "pg-restore" in image.lower():
        return Behaviour(image=image, tag=tag, pg_restore=True)
    if "migrate" in low:
        target = re.search(r"migrate[-_.]?v?(\d+)", low)
        return Behaviour(
            image=image,
            tag=tag,
            migrate=True,
            migrate_to=int(target.group(1)) if target else None,
            migrate_fails="fail" in low or "broken" in low,
            migrate_hold_s=(_number(r"slow-(\d+)", low) or SLOW_MIGRATION_S) if "slow" in low else 0.0,
        )
    slow = _number(r"slow-(\d+)", low)
    flaky = _number(r"flaky-(\d+)", low)
    return Behaviour(
        image=image,
        tag=tag,
        broken="broken" in low,
        slow_ms=int(slow) if slow is not None else (slow_ms if "slow" in low else 0),
        flaky_percent=min(100, int(flaky or 0)),
        errors_after_s=_number(r"errors-after-(\d+(?:\.\d+)?)", low),
        crash_after_s=_number(r"crash-after-(\d+(?:\.\d+)?)", low),
        schema_max=int(found) if (found := _number(r"schema-max-(\d+)", low)) is not None else None,
    )
