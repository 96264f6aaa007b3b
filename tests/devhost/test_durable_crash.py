"""devhost killed with SIGKILL mid-orchestration: restart resumes, and no recorded activity runs again."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.polling import until

ROOT = Path(__file__).resolve().parents[2]
HOOKS = "/runtime/webhooks/durabletask"
TASK_COMPLETED = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    request.add_header("x-functions-key", "m")  # the webhook needs the system or master key
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, ConnectionError):
        return 0, None


@contextmanager
def _devhost(state_dir: Path, port: int, output: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m devhost` serving the test app, ready when its durable API answers."""
    argv = [sys.executable, "-m", "devhost", "--app", "tests.devhost.durable_app.function_app"]
    argv += ["--port", str(port), "--state-dir", str(state_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEVHOST_FUNCTION_KEY": "k", "DEVHOST_MASTER_KEY": "m"}
    with output.open("ab") as sink:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        until(
            lambda: (
                process.poll() is not None or _request(f"http://127.0.0.1:{port}{HOOKS}/instances/")[0] == 200
            ),
            "devhost answers on its Durable API (or has exited)",
            interval=0.05,
        )
        assert process.poll() is None, output.read_text()
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _recorded_steps(state_dir: Path) -> set[int]:
    """Steps whose completion the engine committed (history or inbox) before it died."""
    with sqlite3.connect(state_dir / "durable.sqlite3") as db:
        rows = db.execute("SELECT event FROM history UNION ALL SELECT event FROM inbox").fetchall()
    events = [json.loads(r[0]) for r in rows]
    return {json.loads(e["Result"]) for e in events if e["EventType"] == TASK_COMPLETED}


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "devhost" / "__main__.py").exists(), reason="devhost command not present")
def test_sigkill_during_a_chain_then_restart_completes_without_rerunning_recorded_steps(
    tmp_path: Path,
) -> None:
    state_dir, log, output = tmp_path / "state", tmp_path / "steps.log", tmp_path / "devhost.out"
    port = _free_port()
    base = f"http://127.0.0.1:{port}{HOOKS}"
    with _devhost(state_dir, port, output) as process:
        status, started = _request(
            f"{base}/orchestrators/slow_chain", {"log": str(log), "steps": 6, "sleep": 0.3}
        )
        assert status == 202, output.read_text()
        until(
            lambda: log.exists() and len(log.read_text().split()) >= 3, "three steps have run", interval=0.05
        )
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    recorded = _recorded_steps(state_dir)
    assert recorded, "some steps completed before the kill"
    assert len(recorded) < 6
    port = _free_port()
    with _devhost(state_dir, port, output):
        url = f"http://127.0.0.1:{port}{HOOKS}/instances/{started['id']}"
        final = until(
            lambda: (s := _request(url))[0] == 200 and s[1],
            "the instance has completed (its status answers 200)",
            interval=0.05,
        )
    assert (final["runtimeStatus"], final["output"]) == ("Completed", [0, 1, 2, 3, 4, 5])
    runs = [int(step) for step in log.read_text().split()]
    assert sorted(set(runs)) == [0, 1, 2, 3, 4, 5]
    for step in recorded:
        assert runs.count(step) == 1, (
            f"step {step} was recorded as done before the kill but ran {runs.count(step)} times"
        )
    assert all(runs.count(step) <= 2 for step in range(6))
