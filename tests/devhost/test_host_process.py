"""devhost as a process: serving the real app, settings, keys, start-up errors and a clean stop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from shared.version import VERSION
from tests.fixtures.devhost import HOST_APP, ROOT, DevhostFactory


def test_serves_the_real_function_app_health(devhost_factory: DevhostFactory) -> None:
    host = devhost_factory(app="function_app", cwd=ROOT)
    response = host.request("GET", "/api/health")
    assert response.status_code == 200
    assert response.json()["version"] == VERSION
    host.wait_for_log(r"\[devhost\] http_health id=[0-9a-f-]{36} Succeeded \d+ms")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_host_cleanly(devhost_factory: DevhostFactory, signum: int) -> None:
    host = devhost_factory(app="function_app", cwd=ROOT)
    assert host.proc is not None
    host.proc.send_signal(signum)
    assert host.proc.wait(timeout=30) == 0
    assert "[devhost] stopped" in host.log


def test_local_settings_fill_the_environment_and_real_env_wins(
    devhost_factory: DevhostFactory, tmp_path: Path
) -> None:
    app_dir = tmp_path / "app"
    shutil.copytree(HOST_APP, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    out.mkdir()
    values = {"GREETING": "from settings", "OVERRIDDEN": "from settings", "TICK_SCHEDULE": "61 * * * * *"}
    (app_dir / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    host = devhost_factory(
        cwd=app_dir, env={"HOST_APP_OUT": str(out), "OVERRIDDEN": "from env"}, local_settings=True
    )
    env = host.request("GET", "/api/settings").json()["env"]
    assert env == {"GREETING": "from settings", "OVERRIDDEN": "from env"}
    assert "tick disabled: NCRONTAB second field '61': 61 is out of range 0-59" in host.log


def test_generated_keys_are_printed_stored_and_enforced(
    devhost_factory: DevhostFactory, tmp_path: Path
) -> None:
    host = devhost_factory(cwd=HOST_APP, env={"HOST_APP_OUT": str(tmp_path)}, generate_keys=True)
    assert f"function key: {host.function_key}" in host.log
    assert host.master_key not in host.log  # the master key administers the host: never printed
    assert f"master key: in {host.state_dir / 'keys.json'}; not printed" in host.log
    assert host.request("GET", "/api/keyed").status_code == 401
    assert host.request("GET", "/api/keyed", key="function").status_code == 200
    first = (host.function_key, host.master_key)
    host.restart()
    assert (host.function_key, host.master_key) == first
    assert host.request("GET", "/api/admin-only", key="master").status_code == 200


def run_devhost(*args: str, cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "devhost", *args, "--state-dir", str(tmp_path / "state")]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_missing_app_module_is_a_clear_start_up_error(tmp_path: Path) -> None:
    result = run_devhost("--app", "no_such_app", "--port", "0", cwd=tmp_path, tmp_path=tmp_path)
    assert result.returncode == 1
    assert "cannot start: no module 'no_such_app'" in result.stderr


def test_a_busy_port_is_a_clear_start_up_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_devhost("--app", "function_app", "--port", port, cwd=ROOT, tmp_path=tmp_path)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_a_stop_after_durable_client_calls_closes_every_session_and_leaves_no_process(
    devhost_factory: DevhostFactory,
) -> None:
    """The durable client binding's calls open the SDK's HTTP session; a clean stop closes it (no
    "Unclosed client session" / "Unclosed connector"), exits 0 and leaves nothing running."""
    from tests.support.e2e import SCHEDULES
    from tests.support.settings import FAILOVER_ENV

    env = {**FAILOVER_ENV, **{f"CONTINUITY_{k}": v for k, v in SCHEDULES.items()}}
    env["CONTINUITY_WATCHDOG_SCHEDULE"] = SCHEDULES["DRILL_SCHEDULE"]
    host = devhost_factory(app="function_app", cwd=ROOT, env=env)
    for _ in range(3):  # each reads the run through the durable client (the SDK's shared session)
        answer = host.request("POST", "/api/runs/failover-qlp-x/approve", key="function", json={"note": "n"})
        assert answer.status_code == 404, answer.text
    assert host.proc is not None
    host.proc.send_signal(signal.SIGINT)
    assert host.proc.wait(timeout=30) == 0
    assert "[devhost] stopped" in host.log
    assert "Unclosed" not in host.log, host.log[-2000:]
    left = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert str(host.state_dir) not in left
