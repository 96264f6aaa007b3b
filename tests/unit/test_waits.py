"""One activity call waits for an Azure operation at most ACTIVITY_WAIT_SECONDS, well inside the host's
functionTimeout (host.json), then answers pending; the plan looks again (run.act_long)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared import waits

ROOT = Path(__file__).resolve().parents[2]


def seconds_of(value: str) -> float:
    hours, minutes, seconds = (float(part) for part in value.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def test_an_activity_call_waits_well_inside_the_function_timeout() -> None:
    timeout = seconds_of(json.loads((ROOT / "host.json").read_text())["functionTimeout"])
    assert timeout <= 600  # the Consumption plan's maximum: the app runs on every plan
    assert timeout / 2 >= waits.ACTIVITY_WAIT_SECONDS  # the rest of the call (ARM, SQL) has room


def test_the_budget_is_what_was_asked_never_more() -> None:
    assert waits.budget(None) == waits.ACTIVITY_WAIT_SECONDS
    assert waits.budget(0) == 0 and waits.budget(-5) == 0 and waits.budget(12.5) == 12.5
    assert waits.budget(10_000) == waits.ACTIVITY_WAIT_SECONDS


def test_a_wait_reads_until_done_or_the_time_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waits, "POLL_SECONDS", 0.01)
    views = iter([{"state": "Provisioning"}, {"state": "Ready"}])
    done, view = waits.wait_until(lambda: next(views), lambda v: v["state"] == "Ready", 30)
    assert (done, view) == (True, {"state": "Ready"})
    done, view = waits.wait_until(lambda: {"state": "x"}, lambda v: False, 0, first={"state": "Updating"})
    assert (done, view) == (False, {"state": "Updating"})  # no time: the view it had is the answer
    still = waits.pending(view, "restore server s1", 240)
    assert (
        still["pending"] is True
        and still["message"] == "restore server s1: still Updating after 240 s; call again"
    )
