"""drctl's incident reads against a fake API: the list (and --open), one incident, its post-mortem."""

from __future__ import annotations

import json

from tests.support.fake_api import FakeApi, drctl

IID = "incident-qlp-20261203T112828-ba5b"
INCIDENT = {
    "id": IID,
    "severity": "P0",
    "status": "acknowledged",
    "opened_at": "2026-12-03T11:28:28+00:00",
    "level": "senior",
    "acknowledged_by": "ops@example.com",
    "runs": ["failover-qlp-20261203T112828-ce89"],
    "response": {"reason": "P0 response SLA met: acknowledged after 6 s"},
    "last_update": "failover succeeded",
}


def test_incidents_lists_them_and_open_asks_for_the_open_one(api: FakeApi) -> None:
    api.on("GET", "/api/incidents", (200, {"incidents": [INCIDENT], "count": 1}))
    shown = drctl(api, "incidents", "--open")
    assert shown.exit_code == 0, shown.output
    assert IID in shown.output and "P0" in shown.output and "ops@example.com" in shown.output
    assert api.requests[-1].query == {"status": "open"}
    assert json.loads(drctl(api, "incidents", "--json").output)["count"] == 1
    assert api.requests[-1].query == {}


def test_incident_shows_its_sla_and_its_postmortem(api: FakeApi) -> None:
    api.on("GET", f"/api/incidents/{IID}", (200, INCIDENT))
    api.on("GET", f"/api/incidents/{IID}/postmortem", (200, "# Post-mortem (draft): P0\n"))
    shown = drctl(api, "incident", IID)
    assert (
        shown.exit_code == 0
        and "P0 response SLA met" in shown.output
        and "failover succeeded" in shown.output
    )
    assert drctl(api, "incident", IID, "--postmortem").output == "# Post-mortem (draft): P0\n"
    missing = drctl(api, "incident", "incident-qlp-nope")
    assert missing.exit_code == 1 and "404" in missing.output
