"""How the image tag decides what a workload process does (serve, fail, slow down, migrate)."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_SLOW_MS = 800


@dataclass(frozen=True)
class Behaviour:
    """What a container running `image` does: see `behaviour_for`."""

    image: str
    tag: str
    broken: bool = False
    slow_ms: int = 0
    migrate: bool = False
    migrate_to: int | None = None
    migrate_fails: bool = False


def image_tag(image: str) -> str:
    """The tag of `registry/name:tag` (digest references and untagged images give `latest`)."""
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return last.split("@", 1)[1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def behaviour_for(image: str, *, slow_ms: int = DEFAULT_SLOW_MS) -> Behaviour:
    """Read the behaviour from the tag.

    A normal version tag serves. `broken` fails the health and smoke routes, `slow` adds `slow_ms` of
    latency to every route, `migrate` runs the migration and exits (`migrate-7` sets schema_version to 7,
    plain `migrate` bumps it by one; `migrate` together with `fail` or `broken` exits 1 without a change).
    """
    tag = image_tag(image)
    low = tag.lower()
    if "migrate" in low:
        target = re.search(r"migrate[-_.]?v?(\d+)", low)
        return Behaviour(
            image=image,
            tag=tag,
            migrate=True,
            migrate_to=int(target.group(1)) if target else None,
            migrate_fails="fail" in low or "broken" in low,
        )
    return Behaviour(image=image, tag=tag, broken="broken" in low, slow_ms=slow_ms if "slow" in low else 0)
