"""What the benchmarks share: the sandbox with the app on it (devhost), started and stopped together, the
app's timers kept quiet so that only what a benchmark starts runs, and the operator API with a run awaited
to its end. A benchmark puts the repository on ``sys.path`` before it imports this."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sandbox.app_settings import app_settings
from sandbox.client import SandboxClient
from tests.fixtures.devhost import DevhostProcess
from tests.fixtures.sandbox import start_sandbox, stop_sandbox

ROOT = Path(__file__).resolve().parents[1]
NEVER = "0 0 0 1 1 *"  # a schedule that never comes: the timer runs only when asked
QUIET = {f"CONTINUITY_{k}_SCHEDULE": NEVER for k in ("HEALTH_PROBE", "BACKUP_WATCH", "RESTORE_TEST", "DRILL")}
FINISHED = ("Completed", "Failed", "Terminated")


@contextmanager
def estate(
    name: str, overrides: dict[str, str]
) -> Iterator[tuple[SandboxClient, DevhostProcess, dict[str, str]]]:
    """A fresh sandbox and the app on it with ``overrides`` (on top of QUIET): (sandbox, host, app
    settings); both are stopped when the block ends, however it ends."""
    sandbox = start_sandbox()
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    env = app_settings(sandbox.endpoints, overrides={**QUIET, **overrides})
    host = DevhostProcess(
        app="function_app", cwd=ROOT, env=env, state_dir=work / "state", log_path=work / "devhost.log"
    )
    try:
        host.start()
        yield sandbox, host, env
    finally:
        host.stop()
        stop_sandbox(sandbox.state_dir)


class Api:
    """The operator API of the app on ``host``, with its function key."""

    def __init__(self, host: DevhostProcess) -> None:
        self.host = host

    def api(self, method: str, path: str, body: Any = None) -> Any:
        return self.host.request(method, path, key="function", json=body).json()

    def wait_run(self, iid: str, timeout: float = 900) -> dict[str, Any]:
        """The run's view (GET /api/runs/{iid}) once it has ended; TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = dict(self.api("GET", f"/api/runs/{iid}"))
            if run.get("runtime_status") in FINISHED:
                return run
            time.sleep(0.2)
        raise TimeoutError(f"{iid} did not finish in {timeout:g} s")
