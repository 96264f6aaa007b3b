"""`python -m sandbox.app_settings` prints a local.settings.json that configures the app for the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.client import SandboxClient
from shared.config import load_secrets, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.sandbox
@pytest.mark.parametrize("kind", ["standard", "classic"])
def test_generated_settings_load_and_point_at_the_sandbox(sandbox: SandboxClient, kind: str) -> None:
    endpoints = sandbox.state_dir / "endpoints.json"
    argv = ["-m", "sandbox.app_settings", "--endpoints", str(endpoints), "--frontdoor-kind", kind]
    argv += ["--set", "CONTINUITY_FAILOVER_MODE=manual"]
    out = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    document = json.loads(out.stdout)
    assert document["IsEncrypted"] is False
    values = document["Values"]
    settings, secrets = load_settings(values), load_secrets(values)
    ep = sandbox.endpoints
    assert (settings.sandbox, settings.arm_endpoint, settings.ca_bundle) == (
        True,
        ep["arm_endpoint"],
        ep["ca_bundle"],
    )
    assert (settings.frontdoor_kind, settings.failover_mode) == (kind, "manual")
    assert settings.frontdoor_profile == (
        ep["frontdoor_classic_name"] if kind == "classic" else ep["frontdoor_profile"]
    )
    assert settings.container_group_standby == ep["container_groups"]["ukwest-standby"]
    assert (
        values["AzureWebJobsStorage"] == ep["storage_connection_string"] == secrets.storage_connection_string
    )
    assert "eventgrid" in settings.notify_targets


def test_missing_endpoints_file_is_a_clear_error(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "sandbox.app_settings", "--endpoints", str(tmp_path / "none.json")]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "python -m sandbox up" in out.stderr and out.stdout == ""


def test_every_setting_a_timer_schedule_refers_to_is_generated() -> None:
    """The host resolves %NAME% schedules from app settings; a missing one disables the timer."""
    from sandbox.app_settings import app_settings

    out = subprocess.run(
        [sys.executable, "-c", _LIST_TIMER_SETTINGS], cwd=ROOT, capture_output=True, text=True, check=True
    )
    referenced = set(json.loads(out.stdout))
    endpoints = {
        "resource_groups": {"primary": "rg-p", "secondary": "rg-s"},
        "servers": {"primary": "db-p", "replica": "db-s"},
        "subscription_id": "sub",
        "arm_endpoint": "https://127.0.0.1:1",
        "ca_bundle": "/ca.pem",
    }
    values = app_settings(endpoints)
    assert referenced, "the app has timer triggers whose schedules are app settings"
    assert sorted(referenced - set(values)) == []


_LIST_TIMER_SETTINGS = """
import json, function_app
found = []
for fn in function_app.app.get_functions():
    for b in fn.get_bindings():
        schedule = getattr(b, "schedule", None) if b.type == "timerTrigger" else None
        if schedule and schedule.startswith("%") and schedule.endswith("%"):
            found.append(schedule.strip("%"))
print(json.dumps(found))
"""
