"""The failover after a point-in-time restore with switch: a replica that follows a server that is no longer
the primary is never promoted; a replica that follows the current primary fails over as before."""

from __future__ import annotations

from typing import Any

from shared import names
from tests.support.failover_estate import Estate, operator_input, run

SOUTH = "pg-south"
WEST = "pg-west"
RESTORED = "pg-south-pitr-20261129t1100"


def fqdn(server: str) -> str:
    return f"{server}.postgres.database.azure.com"


class RestoredEstate(Estate):
    """Servers with addresses: the replica follows pg-south; the secret points where the test says."""

    def __init__(self, *, south_state: str, secret_at: str) -> None:
        super().__init__()
        self.south_state = south_state
        self.secret_host = f"{fqdn(secret_at)}:5432"

    def get_server(self, i: dict[str, Any]) -> dict[str, Any]:
        server = i["server"]
        if server == WEST and not self.switched:
            return {
                "name": WEST,
                "state": "Ready",
                "role": "replica",
                "source_server": SOUTH,
                "fqdn": fqdn(WEST),
            }
        if server == WEST:
            return {"name": WEST, "state": "Ready", "role": "standalone", "fqdn": fqdn(WEST)}
        return {"name": server, "state": self.south_state, "role": "primary", "fqdn": fqdn(server)}


def test_replica_following_the_current_primary_fails_over_as_before() -> None:
    estate = RestoredEstate(south_state="Ready", secret_at=SOUTH)
    out, ctx = run(estate, operator_input())
    assert out["status"] == "succeeded"
    assert ctx.payloads(names.SECRETS_GET_DATABASE_HOST) == [{}]  # the current primary was observed
    assert ctx.payloads(names.DATABASE_PROMOTE_REPLICA) == [
        {"server": WEST, "mode": "forced", "operation": "standalone"}
    ]
    assert ctx.payloads(names.SECRETS_POINT_DATABASE_URL) == [{"server": WEST}]
    assert ctx.payloads(names.TRAFFIC_SWITCH_ROUTE) == [{"origin_group": "og-standby"}]
    assert not any(d["action"] == "refuse" for d in estate.reports[-1]["report"]["decisions"])


def test_replica_following_a_stopped_server_after_a_restore_is_refused_and_pages() -> None:
    estate = RestoredEstate(south_state="Stopped", secret_at=RESTORED)
    estate.tagged = [
        {
            "name": RESTORED,
            "resource_group": "rg-south",
            "state": "Ready",
            "role": "standalone",
            "fqdn": fqdn(RESTORED),
            "created_by_continuity": True,
        }
    ]
    out, ctx = run(estate, operator_input())
    assert out["status"] == "refused"
    summary = out["summary"]
    assert summary.startswith(f"refusing to fail over: the replica {WEST} follows {SOUTH}, but the current ")
    assert f"the current primary is {RESTORED}" in summary
    assert summary.endswith(f"Rebuild the DR replica from {RESTORED}, then run again")
    report = estate.reports[-1]["report"]
    assert report["status"] == "refused"
    assert any(d["action"] == "refuse" and RESTORED in d["reason"] for d in report["decisions"])
    refused = [n for n in estate.notes if n["event"] == "refused"]
    assert refused and refused[-1]["page"] is True
    for activity in (
        names.DATABASE_PROMOTE_REPLICA,
        names.SECRETS_POINT_DATABASE_URL,
        names.TRAFFIC_SWITCH_ROUTE,
        names.CONTAINERS_START_GROUP,
        names.CONTAINERS_RESTART_GROUP,
        names.DATABASE_STOP_SERVER,
    ):
        assert not ctx.payloads(activity), activity
