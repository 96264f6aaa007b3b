"""Incidents end to end (devhost + sandbox): a region outage alert starts a failover, which opens a P0
incident; the failover's notifications carry the incident's id and severity; the incident pages the
on-call level, climbs to the senior level's own target when nobody acknowledges, sends status updates to
the status page at its cadence; an acknowledgement through the API stops it; resolving it sends one last
update and writes a post-mortem draft that holds the failover's real figures, and the incident ends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.postmortem import exact
from tests.polling import until
from tests.support.e2e import EstateFactory
from tests.support.receiver import running_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

CADENCE_MINUTES = "0.05"  # a status update every 3 s
LEVELS = "on-call:0,senior:0.05,lead:60"  # senior after 3 s unacknowledged; lead never reached here


def test_a_failover_opens_an_incident_that_escalates_updates_and_closes_with_a_postmortem(
    estate_factory: EstateFactory,
) -> None:
    with running_receiver() as side:
        estate = estate_factory(
            STATUS_PAGE_WEBHOOK_URL=side.url + "/status",
            STATUS_UPDATE_MINUTES=CADENCE_MINUTES,
            ESCALATION_LEVELS=LEVELS,
            ESCALATION_TARGETS=json.dumps({"senior": {"webhook": side.url + "/senior"}}),
        )
        estate.sandbox.fault("region-outage", region="uksouth")
        started = estate.alert()
        assert started.status_code == 202 and started.json()["status"] == "started", started.text
        run_id = str(started.json()["run"])
        run = estate.wait_done(run_id)
        assert (run.get("output") or {}).get("status") == "succeeded", run

        # one open incident, P0, linking the failover; the failover's notifications carry it
        (incident,) = estate.api("GET", "/api/incidents", params={"status": "open"}).json()["incidents"]
        iid = incident["id"]
        assert iid.startswith("incident-qlp-")
        assert incident["severity"] == "P0" and incident["runs"] == [run_id]
        of_run = estate.receiver.messages(lambda m: m.get("run_id") == run_id)
        assert {m["event"] for m in of_run} >= {"started", "completed"}
        assert all(m["fields"]["incident"] == iid and m["fields"]["severity"] == "P0" for m in of_run)
        report = estate.report(run_id)
        assert report["incident"] == {"incident": iid, "severity": "P0"}

        # the on-call level is paged through the configured target; senior through its own, unacknowledged
        opened = estate.receiver.messages(lambda m: m.get("event") == "incident-opened")
        assert opened and opened[0]["page"] and opened[0]["fields"]["severity"] == "P0"
        side.wait_for(lambda got: any(p == "/senior" for p, _ in got), timeout=60)
        (senior, *_) = side.bodies("/senior")
        assert senior["event"] == "incident-escalated" and senior["fields"]["incident"] == iid
        assert "escalate to senior (level 2" in senior["text"]

        # status updates reach the status page with what is known
        side.wait_for(lambda got: any(p == "/status" for p, _ in got), timeout=60)
        update = side.bodies("/status")[0]
        assert update["schema"] == "continuity.incident-status/1" and update["incident_id"] == iid
        assert update["severity"] == "P0" and update["runs"] == [run_id] and "RTO" in update["eta"]

        # acknowledged through the API: by the principal (the function key here), once
        acked = estate.api("POST", f"/api/incidents/{iid}/ack", {"note": "looking"})
        assert acked.status_code == 202, acked.text
        until(
            lambda: estate.api("GET", f"/api/incidents/{iid}").json().get("acknowledged_at"),
            lambda: "the incident shows its acknowledgement",
            30,
            0.2,
        )
        again = estate.api("POST", f"/api/incidents/{iid}/ack", {})
        assert again.status_code == 409 and "already acknowledged" in again.json()["reason"]
        assert estate.api("POST", f"/api/incidents/{iid}/ack", {"by": "someone"}).status_code == 400

        # resolved: one last update, the post-mortem draft, and the incident ends (nothing after)
        resolved = estate.api("POST", f"/api/incidents/{iid}/resolve", {"note": "serving from ukwest"})
        assert resolved.status_code == 202, resolved.text
        done = until(
            lambda: _ended(estate.api("GET", f"/api/incidents/{iid}").json()),
            lambda: f"incident {iid} ends",
            60,
            0.25,
        )
        assert done["status"] == "resolved" and done["acknowledged_by"] == "function key"
        assert done["response"]["reason"].startswith("P0 response SLA")
        assert side.bodies("/status")[-1]["status"] == "resolved"
        assert estate.api("POST", f"/api/incidents/{iid}/resolve", {}).status_code == 409

        draft = estate.api("GET", f"/api/incidents/{iid}/postmortem")
        assert draft.status_code == 200 and draft.headers["Content-Type"].startswith("text/markdown")
        text = draft.text
        m = report["measurements"]
        assert f"# Post-mortem (draft): P0 incident {iid}" in text
        assert f"RTO {exact(m['rto_seconds'])} (objective 30 min: met)" in text
        assert f"RPO {exact(m['rpo_seconds'])}" in text
        assert "Resolution: serving from ukwest" in text
        for step in report["steps"]:
            assert f"| {run_id} | step {step['name']} started |" in text
        assert estate.runs(operation="incident") == []  # incidents are not runs


def _ended(view: dict[str, Any]) -> dict[str, Any] | None:
    return view if view.get("runtime_status") == "Completed" else None
