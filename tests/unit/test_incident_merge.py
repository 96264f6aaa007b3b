"""Two runs that open an incident at the same moment end with one: each lists the open incidents again
after starting its own, the earliest opened wins, the other run joins it and merges its own into it; the
merged incident resolves its pages saying so, sends no status update, writes no post-mortem, and ends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from activities import incidents
from orchestrators.incident import SETTLE_SECONDS
from shared import names
from shared.config import load_settings
from shared.models import parse_time
from shared.policy import incidents as rules
from tests.support.durable import Event, FakeClient
from tests.support.incidents import IID, RUN, context, minutes, resolve, run, sent
from tests.support.settings import FAILOVER_ENV

EARLIER = "incident-qlp-20261129T115959-ffff"
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def ask(run_id: str, operation: str, severity: str) -> dict[str, Any]:
    return {"run_id": run_id, "operation": operation, "severity": severity, "reason": f"{operation} started"}


def join(client: FakeClient, params: dict[str, Any]) -> Any:
    return incidents.join(client, load_settings(FAILOVER_ENV), params)


def both(client: FakeClient) -> list[dict[str, Any]]:
    async def at_once() -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(
                join(client, ask("failover-qlp-1", "failover", "P1")),
                join(client, ask("container-recovery-qlp-2", "container-recovery", "P0")),
            )
        )

    return asyncio.run(at_once())


# ---- the race, through the durable client ------------------------------------------------------------------
def test_two_runs_opening_at_the_same_moment_end_with_the_earliest_incident() -> None:
    client = FakeClient()
    first, second = both(client)  # neither saw an open incident; the second lists both after starting
    (_, winner, _), (_, loser, _) = client.started
    assert client.instances[winner].created_time < client.instances[loser].created_time
    assert first == {
        "incident_id": winner,
        "severity": "P1",
        "opened": True,
        "linked": True,
        "message": f"P1 incident {winner} opened by failover-qlp-1",
    }
    assert second["incident_id"] == winner and second["linked"] and not second["opened"]
    assert second["severity"] == "P0"  # the winner is raised to the run's severity by the link
    assert second["message"].startswith(f"container-recovery-qlp-2 joins {winner}: {winner} was opened first")
    kept = [(iid, data) for iid, name, data in client.events if name == "kept"]
    assert kept == [(winner, {"by": "failover-qlp-1"})]  # the loser is merged before it may page anyone
    link, merge = [e for e in client.events if e[1] == "incident"]
    assert link == (
        winner,
        "incident",
        {
            "action": "link",
            "run_id": "container-recovery-qlp-2",
            "operation": "container-recovery",
            "severity": "P0",
            "reason": "container-recovery started",
        },
    )
    assert merge[:2] == (loser, "incident") and merge[2]["action"] == "merge"
    assert merge[2]["into"] == winner and merge[2]["by"] == "continuity"
    assert f"{loser} is merged into it" in merge[2]["note"]


def test_a_retried_join_after_the_merge_links_to_the_earliest_again() -> None:
    client = FakeClient()
    both(client)
    winner = client.started[0][1]
    again = asyncio.run(join(client, ask("container-recovery-qlp-2", "container-recovery", "P0")))
    assert again["incident_id"] == winner and not again["opened"] and len(client.started) == 2
    assert client.events[-1][0] == winner and client.events[-1][2]["action"] == "link"


def test_a_retry_merges_the_incident_an_attempt_opened_but_never_merged() -> None:
    client = FakeClient()
    later, other = "incident-qlp-20261129T120000-aaaa", "incident-qlp-20261129T120001-bbbb"
    for iid, created, runs in (
        (EARLIER, "2026-11-29T11:59:59+00:00", ["failover-qlp-1"]),
        (later, "2026-11-29T12:00:00+00:00", ["container-recovery-qlp-2"]),
        (other, "2026-11-29T12:00:01+00:00", ["restore-qlp-3"]),  # not this run's: left alone
    ):
        view = {"id": iid, "status": "open", "severity": "P1", "runs": runs}
        client.put(iid, "Running", name=names.INCIDENT_ORCHESTRATOR, custom=view, created=created)
    found = asyncio.run(join(client, ask("container-recovery-qlp-2", "container-recovery", "P0")))
    assert found["incident_id"] == EARLIER and found["severity"] == "P0" and client.started == []
    assert [(iid, data["action"]) for iid, _, data in client.events] == [(EARLIER, "link"), (later, "merge")]
    assert client.events[1][2]["into"] == EARLIER


def test_an_incident_that_is_resolving_or_merged_is_not_open() -> None:
    client = FakeClient()
    client.put(
        EARLIER, "Running", name=names.INCIDENT_ORCHESTRATOR, custom={"id": EARLIER, "status": "resolved"}
    )
    found = asyncio.run(join(client, ask("failover-qlp-1", "failover", "P0")))
    assert found["opened"] and found["incident_id"] != EARLIER
    assert client.events == [(found["incident_id"], "kept", {"by": "failover-qlp-1"})]


def test_the_earliest_opened_wins_ties_by_id_unknown_time_last() -> None:
    early, late = T0, T0 + timedelta(seconds=1)
    keep = rules.first_opened("incident-b", [(early, "incident-b"), (late, "incident-a")])
    assert keep.action == "keep"
    merge = rules.first_opened("incident-b", [(late, "incident-b"), (early, "incident-a")])
    assert merge.action == "merge" and merge.value == "incident-a"
    assert (
        merge.reason
        == "incident-a was opened first and incident-b at the same moment: incident-b is merged into it"
    )
    assert (
        rules.first_opened("incident-b", [(early, "incident-b"), (early, "incident-a")]).value == "incident-a"
    )
    assert (
        rules.first_opened("incident-a", [(None, "incident-a"), (late, "incident-b")]).value == "incident-b"
    )
    assert rules.first_opened("incident-a", []).action == "keep"  # not listed yet: it is the incident


# ---- the merged incident -----------------------------------------------------------------------------------
def merge(at: float, into: str = EARLIER) -> Event:
    note = f"{into} was opened first and {IID} at the same moment: {IID} is merged into it"
    return Event(
        "incident", {"action": "merge", "into": into, "by": "continuity", "note": note}, at=minutes(at)
    )


def test_a_merged_incident_resolves_its_pages_and_ends_without_update_or_postmortem() -> None:
    ctx = context([merge(0.5)])
    out = run(ctx)
    assert out["status"] == "merged" and out["merged_into"] == EARLIER and out["postmortem"] == {}
    opened, told = sent(ctx)  # the page at opening, then the page resolved saying it was merged
    assert opened["audience"] == "level:on-call" and opened["message"]["event"] == "incident-opened"
    assert told["audience"] == "level:on-call" and told["message"]["action"] == "resolve"
    assert told["message"]["event"] == "incident-merged" and told["message"]["severity"] == "info"
    assert f"merged into {EARLIER}" in told["message"]["text"]
    assert not any(p["audience"] == "status" for p in sent(ctx))  # no resolution status update
    assert (
        ctx.payloads(names.INCIDENTS_WRITE_POSTMORTEM) == [] and ctx.payloads(names.STORAGE_READ_REPORT) == []
    )
    report = ctx.last_report()
    assert ctx.names()[-1] == names.STORAGE_WRITE_REPORT
    assert report["status"] == "merged" and report["summary"] == f"P0 incident merged into {EARLIER}"
    incident = report["incident"]
    assert incident["status"] == "merged" and incident["resolution"] == f"merged into {EARLIER}"
    assert incident["merged_into"] == EARLIER and incident["resolved_by"] == "continuity"
    (decision,) = [d for d in report["decisions"] if d["step"] == "merge"]
    assert decision["action"] == "merge" and decision["reason"].endswith(f"{IID} is merged into it")
    assert ctx.statuses[-1]["status"] == "merged" and ctx.statuses[-1]["merged_into"] == EARLIER


def test_a_new_incident_pages_once_its_opener_says_it_is_no_duplicate() -> None:
    kept = Event("kept", {"by": RUN}, at=T0 + timedelta(seconds=2))
    ctx = context([kept, resolve(100)], settle=True, STATUS_UPDATE_MINUTES="600")
    run(ctx)
    first = sent(ctx)[0]
    assert first["audience"] == "level:on-call" and first["message"]["event"] == "incident-opened"
    paged_at = parse_time(ctx.last_report()["incident"]["escalations"][0]["at"])
    assert T0 + timedelta(seconds=2) <= paged_at < T0 + timedelta(seconds=SETTLE_SECONDS)


def test_a_duplicate_merged_before_its_opener_keeps_it_never_pages() -> None:
    ctx = context([merge(0.05)], settle=True)
    out = run(ctx)
    assert out["status"] == "merged" and sent(ctx) == []  # nobody was paged, so nobody is told
    assert ctx.last_report()["incident"]["escalations"] == []


def test_without_word_from_its_opener_it_pages_when_the_settle_time_is_up() -> None:
    ctx = context([resolve(100)], settle=True, STATUS_UPDATE_MINUTES="600")
    run(ctx)
    paged_at = parse_time(ctx.last_report()["incident"]["escalations"][0]["at"])
    assert paged_at == T0 + timedelta(seconds=SETTLE_SECONDS)


def test_a_merge_resolves_every_level_it_paged() -> None:
    ctx = context([merge(16)], STATUS_UPDATE_MINUTES="600")
    run(ctx)
    told = [p for p in sent(ctx) if p["message"]["event"] == "incident-merged"]
    assert [p["audience"] for p in told] == ["level:on-call", "level:senior"]


def test_a_merge_into_itself_is_ignored() -> None:
    resolve = Event("incident", {"action": "resolve", "by": "ops@example.com", "note": "ok"}, at=minutes(2))
    ctx = context([merge(1, into=IID), resolve])
    assert run(ctx)["status"] == "resolved"
    assert ctx.last_report()["warnings"] == [f"merge ignored: {IID!r} is not another incident"]


def test_a_merged_incident_takes_no_ack_or_resolve() -> None:
    from triggers.incidents_api import refusal

    view = {"id": IID, "status": "merged", "merged_into": EARLIER}
    assert (
        refusal("resolve", view, True) == f"incident {IID} was merged into {EARLIER}: nothing to resolve here"
    )
    assert refusal("acknowledge", view, False).startswith(f"incident {IID} was merged into {EARLIER}")
