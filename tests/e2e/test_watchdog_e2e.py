"""The stuck-run watchdog on a running devhost: a failover waiting for an operator longer than its
operation's deadline is paged once, with its step, whatever the number of ticks, and /api/status lists
it until it ends."""

from __future__ import annotations

import pytest

from shared import names
from tests.polling import until
from tests.support.e2e import EstateFactory, run_timer

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]


def test_a_run_past_its_deadline_is_paged_once_and_shown_in_the_status(estate_factory: EstateFactory) -> None:
    # a failover may run 0.05 min (3 s) here; in manual mode an alert's waits for an operator far longer
    estate = estate_factory(FAILOVER_MODE="manual", RUN_DEADLINES_MINUTES="failover=0.05,*=120")
    estate.sandbox.fault("region-outage", region="uksouth")
    answer = estate.alert()
    assert answer.status_code == 202 and answer.json()["status"] == "started", answer.text
    run = str(answer.json()["run"])
    estate.wait_step(run)

    def stuck() -> list[dict[str, str]]:
        return list(estate.api("GET", "/api/status").json()["stuck_runs"])

    shown = until(stuck, "the waiting failover is past its deadline", timeout=30, interval=0.5)
    assert [(s["run"], s["kind"], s["step"]) for s in shown] == [(run, "stuck", "approval")]

    def pages() -> list[dict[str, object]]:
        return estate.receiver.messages(lambda m: m.get("event") == "run-stuck")

    run_timer(estate.host, names.TIMER_STUCK_RUNS)
    (page,) = until(pages, "the watchdog paged the stuck run", timeout=30, interval=0.2)
    assert page["run_id"] == run and page["page"] is True and "at step approval" in str(page["text"])
    run_timer(estate.host, names.TIMER_STUCK_RUNS)
    estate.host.wait_for_log(r"timer_stuck_runs id=\S+ Succeeded.*\n(.|\n)*timer_stuck_runs id=\S+ Succeeded")
    assert len(pages()) == 1  # the second tick saw it and did not page again

    assert estate.api("POST", f"/api/runs/{run}/reject", {"note": "practice over"}).status_code == 202
    estate.wait_done(run)
    assert stuck() == []
