"""drctl against the real app (devhost on a sandbox): configured by the file `make run` writes, it reads
the estate, runs a restore test to its end, explains it and prints its report; a second start is refused
with exit 5 naming the running run; the console script is installed into .venv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli.settings import write
from tests.fixtures.devhost import ROOT
from tests.polling import until
from tests.support.deploy_e2e import LEAN, REPO
from tests.support.e2e import Estate, EstateFactory


def drctl(config: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRCTL_")}
    env.update(DRCTL_CONFIG=str(config), COLUMNS="200", DRCTL_POLL_SECONDS="0.3")
    argv = [sys.executable, "-m", "cli", *args]
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def configured(estate: Estate, tmp_path: Path) -> Path:
    config = tmp_path / ".devhost" / "drctl.json"
    write(config, estate.host.url("/api"), estate.host.function_key)
    return config


def test_drctl_reads_the_estate_runs_a_drill_and_explains_it(
    estate_factory: EstateFactory, tmp_path: Path
) -> None:
    estate = estate_factory()
    config = configured(estate, tmp_path)
    status = drctl(config, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["primary_region"] == "uksouth"
    assert "replica lag" in drctl(config, "status").stdout

    run = drctl(config, "drill", "restore", "--reason", "nightly", "--wait", "--timeout", "200")
    assert run.returncode == 0, run.stdout + run.stderr
    run_id = run.stdout.split("started ", 1)[1].split()[0]
    assert "restore-test" in run.stdout and "succeeded" in run.stdout

    why = drctl(config, "why", run_id, "--json")
    assert next(d["step"] for d in json.loads(why.stdout)) == "find-primary"
    report = drctl(config, "report", run_id, "--markdown")
    assert report.stdout.startswith(f"# restore-test run {run_id}") and "- verdict: **pass**" in report.stdout
    listed = json.loads(drctl(config, "runs", "--operation", "restore-test", "--json").stdout)
    assert run_id in [r["id"] for r in listed["runs"]]


def test_a_second_start_is_refused_naming_the_running_run(
    estate_factory: EstateFactory, tmp_path: Path
) -> None:
    estate = estate_factory(FAILOVER_MODE="manual")
    config = configured(estate, tmp_path)
    estate.sandbox.fault("region-outage", region="uksouth")
    started = estate.alert().json()  # manual mode: the alert's failover waits for an operator
    run_id = str(started.get("run") or "")
    assert run_id, started
    waiting: list[int] = []
    until(
        lambda: waiting.append(drctl(config, "run", run_id).returncode) or waiting[-1] == 3, "it waits", 120
    )
    second = drctl(config, "drill", "database", "--reason", "x")
    assert second.returncode == 5 and run_id in second.stderr
    rejected = drctl(config, "reject", run_id, "--note", "not now")
    assert rejected.returncode == 0, rejected.stderr
    watched = drctl(config, "run", run_id, "--watch", "--timeout", "120")
    assert watched.returncode == 1 and "rejected" in watched.stdout  # rejected: not done


def test_the_console_script_is_installed() -> None:
    script = ROOT / ".venv" / "bin" / "drctl"
    assert script.exists(), "make installs drctl into .venv (pip install -e .)"
    shown = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert shown.returncode == 0 and "approve" in shown.stdout


def test_drctl_deploys_shows_the_releases_and_rolls_back(
    estate_factory: EstateFactory, tmp_path: Path
) -> None:
    estate = estate_factory(**LEAN)
    config = configured(estate, tmp_path)
    dry = drctl(config, "deploy", "1.1.0", "--reason", "what if", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert json.loads(dry.stdout)["plan"]["idle"]["slot"] == "green"

    deployed = drctl(config, "deploy", "1.1.0", "--reason", "release 1.1", "--change-id", "CHG-7", "--wait")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    shown = json.loads(drctl(config, "releases", "--json").stdout)
    assert (shown["live_slot"], shown["live"]["image"]) == ("green", f"{REPO}:1.1.0")
    assert "live slot: green" in drctl(config, "releases").stdout

    back = drctl(config, "rollback", "--reason", "errors after the release", "--wait", "--timeout", "300")
    assert back.returncode == 0, back.stdout + back.stderr
    after = json.loads(drctl(config, "releases", "--json").stdout)
    assert (after["live_slot"], after["live"]["image"]) == ("blue", f"{REPO}:1.0.0")
    assert [e["kind"] for e in after["history"]][-2:] == ["deploy", "rollback"]
