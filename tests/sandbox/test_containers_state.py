"""A container group's reported state while its process has exited but the exit is not yet recorded."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from sandbox.containers import ContainerGroups, Group


def _exited_process(code: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])
    proc.wait(timeout=30)
    return proc


def test_a_terminated_container_always_reports_its_exit_code() -> None:
    # The watcher task that records exits polls; a GET in between must not say "Terminated" without a code.
    group = Group(name="job", resource_group="rg", region="uksouth", port=1, spec={}, state="Running")
    group.proc = _exited_process(3)
    state: dict[str, Any] = ContainerGroups._current_state(None, group)  # type: ignore[arg-type]
    assert (state["state"], state["exitCode"]) == ("Terminated", 3)
