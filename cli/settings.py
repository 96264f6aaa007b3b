"""Where drctl finds the API and its key: flags, then the environment, then the file ``make run`` writes.

``DRCTL_URL`` (the API base, e.g. ``http://127.0.0.1:7071/api``) and ``DRCTL_KEY`` (a function key) win over
the file; ``DRCTL_CONFIG`` names the file, else ``.devhost/drctl.json`` is looked for in the current
directory and its parents (``make run`` writes it there, readable by its owner only).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = Path(".devhost") / "drctl.json"
DEFAULT_URL = "http://127.0.0.1:7071/api"


@dataclass(frozen=True)
class Target:
    """The API drctl talks to: its base URL, the function key (may be empty: Easy Auth), and where from."""

    url: str
    key: str
    source: str


def config_file(start: Path | None = None) -> Path | None:
    """The drctl config file: ``DRCTL_CONFIG``, else the nearest ``.devhost/drctl.json`` upwards."""
    named = os.environ.get("DRCTL_CONFIG")
    if named:
        return Path(named)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder / CONFIG_FILE
    return None


def resolve(url: str | None = None, key: str | None = None, start: Path | None = None) -> Target:
    """The target from flags, environment and file, in that order of precedence."""
    found: dict[str, str] = {}
    path = config_file(start)
    if path is not None and path.is_file():
        try:
            found = {k: str(v) for k, v in json.loads(path.read_text()).items()}
        except (OSError, ValueError):
            found = {}
    source = str(path) if found else "defaults"
    chosen_url = url or os.environ.get("DRCTL_URL") or found.get("url") or DEFAULT_URL
    chosen_key = key or os.environ.get("DRCTL_KEY") or found.get("key") or ""
    if url or key:
        source = "flags"
    elif os.environ.get("DRCTL_URL") or os.environ.get("DRCTL_KEY"):
        source = "environment"
    return Target(chosen_url.rstrip("/"), chosen_key, source)


def write(path: Path, url: str, key: str) -> None:
    """Write a config file readable by its owner only (what ``make run`` calls)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": url, "key": key}, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
