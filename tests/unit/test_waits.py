"""One activity call waits for an Azure operation at most ACTIVITY_WAIT_SECONDS, well inside the host's
functionTimeout (host.json), then answers pending; the plan looks again (run.act_long)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


# ---- a server's start or stop (shared/azure/database.py) --------------------------------------------------
class Poller:
    def __init__(self, calls: list[Any]) -> None:
        self.calls = calls

    def wait(self, timeout: float | None = None) -> None:
        self.calls.append(("wait", timeout))


class Servers:
    def __init__(self, calls: list[Any]) -> None:
        self.calls = calls

    def begin_stop(self, rg: str, name: str) -> Poller:
        self.calls.append(("begin_stop", name))
        return Poller(self.calls)


def adapter(states: list[str], calls: list[Any]) -> Any:
    from shared.azure.database import DatabaseAdapter

    class Fake(DatabaseAdapter):
        _servers = Servers(calls)  # type: ignore[assignment]

        def __init__(self) -> None:
            pass

        def get(self, name: str, resource_group: str) -> dict[str, Any]:
            return {"name": name, "state": states.pop(0) if len(states) > 1 else states[0]}

    return Fake()


def test_a_stop_is_asked_once_and_a_later_call_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waits, "POLL_SECONDS", 0.01)
    calls: list[Any] = []
    first = adapter(["Ready", "Stopping"], calls).stop("db1", "rg", wait=0)
    assert first["pending"] is True and first["state"] == "Stopping"
    assert calls == [("begin_stop", "db1"), ("wait", 0.0)]  # asked once, waited the budget
    calls.clear()
    again = adapter(["Stopping", "Stopped"], calls).stop("db1", "rg", wait=5)
    assert calls == [] and again == {
        "server": "db1",
        "state": "Stopped",
        "changed": True,
        "message": again["message"],
    }
    assert adapter(["Stopped"], calls).stop("db1", "rg")["changed"] is False and calls == []
