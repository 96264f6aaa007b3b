"""Runs end to end (devhost + a fresh sandbox per scenario): every run has its own id, the app's lock lets
one DR operation run at a time, reports are evidence that outlives the run and its Durable record.

Two concurrent starts (two failovers, or a failover and a drill) give exactly one 202, the other a 409
naming the running run; two failovers one after the other keep their own ids, reports and list entries;
a run whose Durable record was purged is still listed and served from its report; after a failback, whose
new home primary has a new name, an alert on that server starts a failover.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.support.e2e import Estate, EstateFactory, durable_status

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

FAILOVER = ("/api/failover", {"reason": "planned move", "mode": "planned"})
DRILL = ("/api/drills", {"scenario": "database", "reason": "quarterly practice"})


def at_once(estate: Estate, *requests_: tuple[str, dict[str, Any]]) -> list[requests.Response]:
    """POST every (path, body) at the same moment (threads released together); answers in order."""
    gate = threading.Barrier(len(requests_))

    def send(request: tuple[str, dict[str, Any]]) -> requests.Response:
        gate.wait()
        return estate.api("POST", *request)

    with ThreadPoolExecutor(len(requests_)) as pool:
        return list(pool.map(send, requests_))


def one_started(answers: list[requests.Response]) -> tuple[str, dict[str, Any]]:
    """Exactly one answer is a 202 and every other a 409 naming its run: (its run id, the 409 body)."""
    assert sorted(a.status_code for a in answers) == [202, 409], [(a.status_code, a.text) for a in answers]
    won = next(a for a in answers if a.status_code == 202).json()
    lost = next(a for a in answers if a.status_code == 409).json()
    assert lost["error"] == "conflict" and lost["running"] == [won["id"]], (won, lost)
    assert f"{won['id']} is already running for this app" in lost["reason"], lost
    return str(won["id"]), lost


def ids(runs: list[dict[str, Any]]) -> list[str]:
    return [str(r["id"]) for r in runs]


def test_two_failovers_at_once_start_one_run_and_the_other_is_refused_naming_it(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory()
    winner, lost = one_started(at_once(estate, FAILOVER, FAILOVER))
    assert lost["reason"].startswith("failover refused: ")
    assert ids(estate.runs()) == [winner]  # the refused start left no run behind
    run = estate.wait_done(winner)
    assert run["output"]["status"] == "succeeded", run
    assert ids(estate.runs(operation="failover")) == [winner]


def test_a_failover_racing_a_drill_starts_one_of_them_and_refuses_the_other(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory()
    answers = at_once(estate, FAILOVER, DRILL)
    winner, lost = one_started(answers)
    operation = "failover" if answers[0].status_code == 202 else "drill"
    assert winner.startswith(f"{operation}-qlp-"), winner
    refused = "drill" if operation == "failover" else "failover"
    assert lost["reason"].startswith(f"{refused} refused: "), lost
    assert ids(estate.runs()) == [winner]
    run = estate.wait_done(winner, timeout=150)
    assert run["output"]["status"] == "succeeded", run


def test_two_failovers_one_after_the_other_keep_their_own_ids_reports_and_entries(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory()
    first = estate.start(*FAILOVER)
    assert estate.wait_done(first)["output"]["status"] == "succeeded"
    first_report = estate.report(first)
    assert (first_report["run_id"], first_report["status"]) == (first, "succeeded")

    second = estate.start("/api/failover", {"reason": "again", "mode": "planned"})
    assert second != first and re.fullmatch(r"failover-qlp-\d{8}T\d{6}-[0-9a-f]{4}", second), second
    run = estate.wait_done(second)
    assert run["output"]["summary"] == "traffic already serves from the DR region: nothing to fail over"

    assert estate.report(first) == first_report  # the second run did not overwrite the first's report
    second_report = estate.report(second)
    assert (second_report["run_id"], second_report["status"]) == (second, "stood-down")
    for iid in (first, second):
        assert estate.report(iid, format="markdown").startswith(f"# failover run {iid}\n")
    listed = estate.runs(operation="failover")
    assert ids(listed) == [second, first]  # newest first
    assert {r["runtime_status"] for r in listed} == {"Completed"}


def test_a_run_whose_durable_record_was_purged_is_still_listed_and_served_from_its_report(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory()
    iid = estate.start(*FAILOVER)
    assert estate.wait_done(iid)["output"]["status"] == "succeeded"
    report = estate.report(iid)
    assert estate.run(iid)["source"] == "durable"

    purged = estate.host.request("DELETE", f"/runtime/webhooks/durabletask/instances/{iid}", key="master")
    assert purged.status_code == 200 and purged.json()["instancesDeleted"] == 1, purged.text
    assert durable_status(estate.host, iid) == {}  # Durable no longer knows the run

    view = estate.run(iid)
    assert (view["id"], view["source"], view["operation"]) == (iid, "report", "failover"), view
    assert (view["runtime_status"], view["output"]) == ("Completed", {"status": "succeeded"})
    assert view["report"] == report
    (listed,) = [r for r in estate.runs() if r["id"] == iid]
    assert (listed["source"], listed["runtime_status"]) == ("report", "Completed")
    assert estate.runs(operation="failover", status="Completed") == [listed]
    assert estate.report(iid) == report
    assert estate.report(iid, format="markdown").startswith(f"# failover run {iid}\n")


def test_after_a_failback_an_alert_on_the_new_home_primary_starts_a_failover(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(MAX_AUTO_FAILOVERS="2")  # two outages today, each failed over by its alert
    servers = estate.endpoints["servers"]
    estate.sandbox.fault("region-outage", region="uksouth")
    first = estate.alert()  # on the configured primary
    assert first.status_code == 202 and first.json()["status"] == "started", first.text
    assert estate.wait_done(first.json()["run"])["output"]["status"] == "succeeded"
    estate.sandbox.fault("heal", region="uksouth")
    # an alert on the server that serves now, in the DR region: the intake observes the estate as it is
    # before the failback (the run it starts stands down: traffic is already there)
    blip = estate.alert(target=estate.resource_id(servers["replica"], "secondary"))
    assert blip.status_code == 202 and blip.json()["status"] == "started", blip.text
    blipped = estate.wait_done(blip.json()["run"])["output"]
    assert blipped["summary"] == "traffic already serves from the DR region: nothing to fail over", blipped
    back = estate.start("/api/failback", {"reason": "home again"})
    assert estate.wait_done(back, timeout=180)["output"]["status"] == "succeeded"
    home = estate.report(back)["resources"]["home_server"]["name"]
    assert re.fullmatch(re.escape(servers["primary"]) + r"-fb[0-9a-f]{6}", home), home

    estate.sandbox.fault("region-outage", region="uksouth")
    answer = estate.alert(target=estate.resource_id(home))
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "started", answer.json()  # not "not a protected resource"
    iid = answer.json()["run"]
    run = estate.wait_done(iid)
    assert run["output"]["status"] == "succeeded", run
    reasons = [d["reason"] for d in run["custom_status"]["decisions"]]
    assert f"the replica {servers['replica']} follows {home}: {home} is the primary" in reasons
    report = estate.report(iid)
    assert report["trigger"]["kind"] == "alert"
    assert report["trigger"]["signal"]["resource_ids"] == [estate.resource_id(home).lower()]
