"""`make run` (devhost/run_local.sh) as an operator uses it: it starts the sandbox and devhost, serves the
API, and on Ctrl-C stops cleanly: devhost closes every client session (no "Unclosed client session"),
the sandbox is brought down, the script exits 0 and no process it started is left.

The script runs in its own session with its sandbox, state and settings under a temporary directory
(RUN_SANDBOX_DIR, RUN_STATE_DIR, RUN_SETTINGS), so a developer's own `make run` is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from tests.fixtures.devhost import ROOT
from tests.polling import until

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def left_running(marker: str) -> list[str]:
    """Processes whose command line names ``marker`` (the temporary directory)."""
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines() if marker in line and "ps -eo" not in line]


def test_make_run_serves_and_a_ctrl_c_stops_everything_cleanly() -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="continuity-make-run-"))
    tmp_path.chmod(0o755)  # the sandbox's PostgreSQL runs as its own user
    port, log_path = free_port(), tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVHOST_", "CONTINUITY_", "RUN_"))}
    env |= {
        "DEVHOST_PORT": str(port),
        "RUN_SANDBOX_DIR": str(tmp_path / "sandbox"),
        "RUN_STATE_DIR": str(tmp_path / "devhost"),
        "RUN_SETTINGS": str(tmp_path / "local.settings.json"),
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["bash", "devhost/run_local.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:

        def up() -> bool:
            assert proc.poll() is None, log_path.read_text()
            return "Continuity is up on the sandbox" in log_path.read_text()

        until(up, "make run reports the app up", timeout=180, interval=0.5)
        key = json.loads((tmp_path / "devhost" / "keys.json").read_text())["functionKey"]
        values = json.loads((tmp_path / "local.settings.json").read_text())["Values"]  # the practice alert's
        assert values["CONTINUITY_ALERT_INTAKE_URL"] == f"http://127.0.0.1:{port}/api/alerts?code={key}"
        for path in ("/api/status", "/api/runs"):  # the estate, and the durable client's session
            answer = requests.get(
                f"http://127.0.0.1:{port}{path}", headers={"x-functions-key": key}, timeout=30
            )
            assert answer.status_code == 200, answer.text
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal: the whole foreground group
        assert proc.wait(timeout=90) == 0, log_path.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            down = ["-m", "sandbox", "down", "--state-dir", str(tmp_path / "sandbox")]
            subprocess.run([str(ROOT / ".venv/bin/python"), *down], cwd=ROOT, check=False, timeout=60)
    output = log_path.read_text()
    assert "[devhost] stopped" in output and "[run] stopping the sandbox" in output, output[-3000:]
    assert "Unclosed" not in output and "Traceback" not in output, output[-3000:]
    assert until(lambda: not left_running(str(tmp_path)), "nothing make run started is left", 30) is True
    shutil.rmtree(tmp_path, ignore_errors=True)
