"""`python -m sandbox up / status / fault / down` as separate processes, as `make run` uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.cli import _session_members
from sandbox.client import SandboxClient, SandboxError
from tests.fixtures.sandbox import ROOT, start_sandbox, stop_sandbox
from tests.polling import until


def sandbox_cmd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def _postgres_pids(session: int) -> list[int]:
    return [p for p in _session_members(session) if "postgres" in Path(f"/proc/{p}/cmdline").read_text()]


def test_up_status_fault_down_leaves_no_process() -> None:
    client = start_sandbox(components=["flexible_servers"])
    state = client.state_dir
    try:
        endpoints = json.loads((state / "endpoints.json").read_text())
        for key in ("arm_endpoint", "ca_bundle", "subscription_id", "resource_groups", "servers"):
            assert key in endpoints
        pid = int(json.loads((state / "serve.pid").read_text())["pid"])
        assert len(_postgres_pids(pid)) >= 4  # two postmasters and their helpers

        status = sandbox_cmd("status", "--state-dir", str(state))
        assert status.returncode == 0, status.stderr
        assert "running" in status.stdout

        fault = sandbox_cmd("fault", "arm-faults", "0.25", "--state-dir", str(state))
        assert fault.returncode == 0, fault.stderr
        assert client.status()["arm_fault_rate"] == 0.25
        refused = sandbox_cmd("fault", "arm-faults", "7", "--state-dir", str(state))
        assert refused.returncode == 2
        assert "between 0 and 1" in refused.stderr
        refused = sandbox_cmd("fault", "region-outage", "mars", "--state-dir", str(state))
        assert refused.returncode == 2
        assert "one of uksouth, ukwest" in refused.stderr
        assert client.status()["faults"] == {"arm-faults": {"rate": "0.25"}}

        corrupt = sandbox_cmd("fault", "corrupt-db", "--state-dir", str(state))
        assert corrupt.returncode == 0, corrupt.stderr
        assert corrupt.stdout.startswith("corrupt-db ran at 20")

        again = sandbox_cmd("up", "--state-dir", str(state), "--components", "none")
        assert again.returncode == 1
        assert "already running" in again.stderr
    finally:
        down = sandbox_cmd("down", "--state-dir", str(state))
    assert down.returncode == 0, down.stderr
    assert _session_members(pid) == []
    assert sandbox_cmd("status", "--state-dir", str(state)).returncode == 3
    stop_sandbox(state)


def test_client_without_sandbox_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="no running sandbox"):
        SandboxClient(tmp_path)


def test_serve_stops_by_itself_when_its_owner_dies(tmp_path: Path) -> None:
    """A killed test run (the fixture passes --owner-pid) leaves no sandbox behind."""
    state = tmp_path / "state"
    owner = subprocess.Popen(["sleep", "300"])
    try:
        up = sandbox_cmd(
            "up", "--state-dir", str(state), "--components", "none", "--owner-pid", str(owner.pid)
        )
        assert up.returncode == 0, up.stderr
        pid = int(json.loads((state / "serve.pid").read_text())["pid"])
        assert _session_members(pid)
    finally:
        owner.kill()
        owner.wait()
    until(
        lambda: _session_members(pid) == [], "every process of the sandbox's session has exited", timeout=30
    )
    assert "owner process" in (state / "logs" / "serve.log").read_text()
    assert sandbox_cmd("down", "--state-dir", str(state)).returncode == 0
