"""The restore plan driven with fake activities: every branch from validation to the switch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrators import restore
from shared import names, policy
from shared.reports import render_markdown
from tests.support.durable import NOW, FakeContext, drive, fails, orchestrator, returns, sequence
from tests.support.estate import PITR, SOUTH, WEST
from tests.support.estate import estate as observed
from tests.support.settings import backup_settings

POINT = NOW - timedelta(minutes=30)
CHECKS_OK = {
    "server": "x",
    "passed": True,
    "counts": {"intents": 120},
    "checks": [{"name": "row-count:intents", "passed": True, "detail": "120 rows"}],
}
CHECKS_BAD = {
    "server": "x",
    "passed": False,
    "counts": {"intents": 0},
    "checks": [{"name": "row-count:intents", "passed": False, "detail": "0 rows"}],
}


WINDOW = {"earliest_restore_point": (NOW - timedelta(days=10)).isoformat(), "backup_retention_days": 30}


def _activities(state: str = "home", **overrides: Any) -> dict[str, Any]:
    groups = {"qlp-blue": "Running", "qlp-green": "Stopped", "qlp-standby": "Stopped"}
    base = {
        **observed(state),
        names.DATABASE_GET_SERVER: lambda p: {**observed(state)[names.DATABASE_GET_SERVER](p), **WINDOW},
        names.DATABASE_RESTORE_SERVER: lambda p: {
            "server": p["target"],
            "created": True,
            "state": "Ready",
            "fqdn": "127.0.0.1:6000",
            "point_in_time": p["point_in_time"],
        },
        names.DATABASE_RUN_CHECKS: returns(CHECKS_OK),
        names.SECRETS_POINT_DATABASE_URL: returns({"changed": True, "message": "pointed"}),
        names.CONTAINERS_GET_GROUP: lambda p: {"group": p["group"], "state": groups[p["group"]]},
        names.CONTAINERS_RESTART_GROUP: lambda p: {"group": p["group"], "state": "Running"},
        names.PROBE_HTTP: lambda p: {"url": p["url"], "ok": True, "status": 200},
        names.DATABASE_STOP_SERVER: lambda p: {"server": p["server"], "state": "Stopped", "changed": True},
    }
    base.update(overrides)
    return base


def _run(point: Any = POINT, *, switch: bool = False, approval: bool = False, **kwargs: Any) -> FakeContext:
    events = kwargs.pop("events", ())
    state = kwargs.pop("state", "home")
    inp = {
        "run_id": "restore-qlp",
        "settings": backup_settings(restore_requires_approval="true" if approval else "false"),
        "restore_point": point.isoformat(),
        "reason": "corruption at 11:30",
        "switch": switch,
        "requested_at": NOW.isoformat(),
        "trigger": {"kind": "operator", "reason": "corruption"},
    }
    ctx = FakeContext(inp, _activities(state, **kwargs), events=events)
    ctx.result = drive(orchestrator(names.RESTORE_ORCHESTRATOR), ctx)  # type: ignore[attr-defined]
    return ctx


def _report(ctx: FakeContext) -> dict[str, Any]:
    """The last report written; it agrees with the run's outcome."""
    report = ctx.last_report()
    out = ctx.result  # type: ignore[attr-defined]
    assert (out["status"], out["summary"]) == (report["status"], report["summary"])
    return report


def _events(ctx: FakeContext) -> list[str]:
    return [p["event"] for p in ctx.payloads(names.NOTIFY_SEND)]


def test_restore_without_switch_restores_into_a_new_server_and_checks_it() -> None:
    ctx = _run()
    report = _report(ctx)
    assert report["status"] == "succeeded"
    restore_call = ctx.payloads(names.DATABASE_RESTORE_SERVER)[0]
    assert restore_call["source"] == "qlp-db-uksouth"
    assert restore_call["target"] != restore_call["source"]
    assert restore_call["target"].startswith("qlp-db-uksouth-pitr-")
    assert restore_call["point_in_time"] == POINT.isoformat()
    (checked,) = ctx.payloads(names.DATABASE_RUN_CHECKS)
    assert checked["server"] == restore_call["target"]
    assert checked["checks"]["critical_tables"] == ["intents"]
    sql = {c["name"]: c["sql"] for c in checked["checks"]["sql"]}
    at = POINT.isoformat()
    assert sql["sentinel before the restore point present"].endswith(f"written_at <= timestamptz '{at}')")
    assert sql["no sentinel after the restore point"].endswith(f"written_at > timestamptz '{at}')")
    assert names.SECRETS_POINT_DATABASE_URL not in ctx.names()
    assert names.DATABASE_STOP_SERVER not in ctx.names()
    assert report["measurements"]["data_loss_window_seconds"] == 1800.0
    assert "data-loss window 30 min" in report["summary"]
    assert "checked: row-count:intents" in report["summary"]
    assert _events(ctx) == ["started", "completed"]


def test_a_point_in_the_future_is_refused_and_nothing_is_restored() -> None:
    ctx = _run(NOW + timedelta(minutes=5))
    report = _report(ctx)
    assert report["status"] == "refused"
    assert names.DATABASE_RESTORE_SERVER not in ctx.names()
    decision = report["decisions"][-1]
    assert (decision["action"], decision["rule"]) == (policy.RULE_NOT_IN_FUTURE, "rule 8")
    assert _events(ctx) == ["started", "refused"]


def test_a_point_before_the_earliest_restore_point_is_refused_naming_the_rule() -> None:
    ctx = _run(NOW - timedelta(days=11))
    decision = _report(ctx)["decisions"][-1]
    assert (decision["action"], decision["rule"]) == (policy.RULE_NOT_BEFORE_EARLIEST, "rule 8")
    assert names.DATABASE_RESTORE_SERVER not in ctx.names()


def test_switch_points_the_secret_restarts_running_groups_verifies_and_stops_the_old_server() -> None:
    ctx = _run(switch=True)
    report = _report(ctx)
    assert report["status"] == "succeeded", report
    target = ctx.payloads(names.DATABASE_RESTORE_SERVER)[0]["target"]
    assert ctx.payloads(names.SECRETS_POINT_DATABASE_URL) == [
        {"server": target, "resource_group": "rg-uksouth"}
    ]
    assert ctx.payloads(names.CONTAINERS_RESTART_GROUP) == [{"group": "qlp-blue"}]
    urls = [p["url"] for p in ctx.payloads(names.PROBE_HTTP)]
    assert urls == ["https://qlp.example/health", "https://qlp.example/api/v1/health/database"]
    assert ctx.payloads(names.DATABASE_STOP_SERVER) == [{"server": SOUTH, "resource_group": "rg-uksouth"}]
    assert names.DATABASE_DELETE_SERVER not in ctx.names()
    assert (
        report["resources"]["replica_note"]
        == f"{WEST} still follows {SOUTH}: rebuild the replica from {target}"
    )
    order = ctx.names()
    assert order.index(names.SECRETS_POINT_DATABASE_URL) < order.index(names.CONTAINERS_RESTART_GROUP)
    assert order.index(names.PROBE_HTTP) < order.index(names.DATABASE_STOP_SERVER)
    assert report["summary"].startswith(f"switched to {target}")


def test_switch_waits_for_approval_and_goes_once_approved() -> None:
    ctx = _run(switch=True, approval=True, events={"approval": {"answer": "approve"}})
    report = _report(ctx)
    assert [d["action"] for d in report["decisions"]][-2:] == [policy.SWITCH_AWAIT_APPROVAL, policy.SWITCH_GO]
    assert names.SECRETS_POINT_DATABASE_URL in ctx.names()
    assert "awaiting-approval" in _events(ctx)
    assert any(
        s["awaiting"] == "approval"
        and s["waiting_until"]
        and s["last_decision"] == policy.SWITCH_AWAIT_APPROVAL
        and s["decisions"][-1]["step"] == "switch"
        for s in ctx.statuses
    )


def test_a_rejected_switch_keeps_the_app_where_it_is() -> None:
    ctx = _run(switch=True, approval=True, events={"approval": {"answer": "reject"}})
    assert _report(ctx)["decisions"][-1]["action"] == policy.SWITCH_KEEP
    assert names.SECRETS_POINT_DATABASE_URL not in ctx.names()


def test_no_answer_before_the_approval_timeout_changes_nothing() -> None:
    ctx = _run(switch=True, approval=True)
    assert ctx.timers == [ctx.timers[0]] and ctx.timers[0] > NOW + timedelta(minutes=29)
    assert names.SECRETS_POINT_DATABASE_URL not in ctx.names()
    assert _report(ctx)["status"] == "succeeded"


def test_failed_integrity_checks_refuse_the_switch_and_fail_the_run() -> None:
    ctx = _run(switch=True, **{names.DATABASE_RUN_CHECKS: returns(CHECKS_BAD)})
    report = _report(ctx)
    assert report["status"] == "failed"
    assert report["decisions"][-1]["action"] == policy.SWITCH_REFUSE
    assert "row-count:intents" in report["decisions"][-1]["reason"]
    assert names.SECRETS_POINT_DATABASE_URL not in ctx.names()
    # one notification of the ending (was a "refused" and then a "failed" one), with the refusal's reason
    assert _events(ctx) == ["started", "failed"]
    failed = ctx.payloads(names.NOTIFY_SEND)[-1]
    assert failed["severity"] == "error" and "row-count:intents" in failed["text"]


def test_a_permanent_restore_failure_fails_the_run_pages_and_is_not_retried() -> None:
    ctx = _run(**{names.DATABASE_RESTORE_SERVER: fails("permanent: restore qlp-db-uksouth: quota exceeded")})
    report = _report(ctx)
    assert report["status"] == "failed" and "quota exceeded" in report["summary"]
    assert ctx.names().count(names.DATABASE_RESTORE_SERVER) == 1
    step = next(s for s in report["steps"] if s["name"] == "restore")
    assert step["outcome"] == "failed"
    paged = [p for p in ctx.payloads(names.NOTIFY_SEND) if p.get("page")]
    assert len(paged) == 1 and paged[0]["event"] == "step-failed"


def test_a_transient_restore_failure_is_retried_after_a_durable_timer() -> None:
    flaky = sequence(
        RuntimeError("transient: restore qlp-db-uksouth: 503"),
        {"server": "t", "state": "Ready", "fqdn": "127.0.0.1:6000"},
    )
    ctx = _run(**{names.DATABASE_RESTORE_SERVER: flaky})
    assert _report(ctx)["status"] == "succeeded"
    assert ctx.names().count(names.DATABASE_RESTORE_SERVER) == 2
    assert len(ctx.timers) == 1


def test_a_public_endpoint_that_never_answers_fails_the_switch_and_keeps_the_old_server_running() -> None:
    down = returns({"ok": False, "status": 502, "error": "bad gateway"})
    ctx = _run(switch=True, **{names.PROBE_HTTP: down})
    report = _report(ctx)
    assert report["status"] == "failed"
    assert ctx.names().count(names.PROBE_HTTP) == restore.VERIFY_ATTEMPTS
    assert names.DATABASE_STOP_SERVER not in ctx.names()


def test_a_report_is_saved_as_the_run_goes() -> None:
    ctx = _run()
    saved = ctx.payloads(names.STORAGE_WRITE_REPORT)
    assert len(saved) >= 2
    assert {(p["run_id"], p["kind"]) for p in saved} == {("restore-qlp", "restore")}
    assert saved[0]["report"]["status"] == "running"
    assert saved[-1]["report"]["status"] == "succeeded"
    # the Markdown is rendered by the storage activity from the report, no longer sent with it
    assert "markdown" not in saved[-1]
    assert "# restore run restore-qlp" in render_markdown(saved[-1]["report"])


def test_every_notification_is_also_a_cloud_event() -> None:
    ctx = _run()
    published = ctx.payloads(names.EVENTS_PUBLISH)
    assert [p["type"] for p in published] == ["continuity.restore.started", "continuity.restore.completed"]


def test_custom_status_names_the_step_and_the_reason() -> None:
    ctx = _run(NOW + timedelta(minutes=5))
    assert any(
        s["decisions"]
        and s["decisions"][-1]["step"] == "validate"
        and s["last_decision"] == policy.RULE_NOT_IN_FUTURE
        and "future" in s["reason"]
        for s in ctx.statuses
    )


def test_a_connection_string_in_an_error_never_reaches_the_report() -> None:
    leak = fails("permanent: restore qlp-db-uksouth: postgresql://qlp_app:hunter2@127.0.0.1:5432/qlp_db")
    ctx = _run(**{names.DATABASE_RESTORE_SERVER: leak})
    assert ctx.payloads(names.STORAGE_WRITE_REPORT) and ctx.payloads(names.NOTIFY_SEND)
    for saved in ctx.payloads(names.STORAGE_WRITE_REPORT):
        assert "hunter2" not in str(saved)
    for sent in ctx.payloads(names.NOTIFY_SEND):
        assert "hunter2" not in str(sent)
    assert "hunter2" not in str(ctx.statuses) and "hunter2" not in str(ctx.result)  # type: ignore[attr-defined]


def test_after_a_failover_the_promoted_server_is_restored_switched_to_and_stopped() -> None:
    ctx = _run(switch=True, state="failed-over")
    report = _report(ctx)
    assert report["status"] == "succeeded", report
    restore_call = ctx.payloads(names.DATABASE_RESTORE_SERVER)[0]
    assert (restore_call["source"], restore_call["source_resource_group"]) == (WEST, "rg-ukwest")
    target = restore_call["target"]
    assert target.startswith(f"{WEST}-pitr-") and restore_call["resource_group"] == "rg-ukwest"
    assert ctx.payloads(names.DATABASE_RUN_CHECKS)[0]["resource_group"] == "rg-ukwest"
    assert ctx.payloads(names.SECRETS_POINT_DATABASE_URL) == [
        {"server": target, "resource_group": "rg-ukwest"}
    ]
    assert ctx.payloads(names.DATABASE_STOP_SERVER) == [{"server": WEST, "resource_group": "rg-ukwest"}]
    assert SOUTH not in {p.get("server") for p in ctx.payloads(names.DATABASE_STOP_SERVER)}
    assert "replica_note" not in report["resources"]  # a promoted server has no replica to rebuild
    assert report["resources"]["source_server"] == WEST
    assert report["decisions"][0] == {
        "step": "find-primary",
        "action": "primary",
        "reason": f"{WEST} is the primary ({SOUTH} is stopped; the database secret points at {WEST})",
        "rule": "",
        "value": report["decisions"][0]["value"],
        "at": report["decisions"][0]["at"],
    }
    assert report["decisions"][0]["value"]["server"] == WEST


def test_with_two_writable_servers_nothing_is_restored_and_the_reason_is_reported() -> None:
    ctx = _run(switch=True, state="split")
    report = _report(ctx)
    assert report["status"] == "refused"
    assert report["summary"].startswith(f"refusing to choose a primary: {SOUTH} and {WEST} are both writable")
    for activity in (
        names.DATABASE_RESTORE_SERVER,
        names.SECRETS_POINT_DATABASE_URL,
        names.DATABASE_STOP_SERVER,
    ):
        assert activity not in ctx.names()
    assert _events(ctx) == ["refused"]


def test_after_a_restore_with_switch_the_next_restore_starts_from_the_restored_server() -> None:
    ctx = _run(state="restored")
    report = _report(ctx)
    assert report["status"] == "succeeded", report
    restore_call = ctx.payloads(names.DATABASE_RESTORE_SERVER)[0]
    assert restore_call["source"] == PITR
    assert report["primary"]["primary"] == PITR
    # the name does not grow with each restore: the restored server's base, a new stamp
    assert restore_call["target"] == f"{SOUTH}-pitr-20261129t120000"
