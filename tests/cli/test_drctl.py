"""drctl against a fake operator API over real HTTP: what it sends, what it shows, the exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli import settings
from tests.support.fake_api import FakeApi, drctl

RUN = "failover-qlp-20261202T151759-3f2a"
T = "2026-12-02T15:18:00+00:00"


def view(status: str = "running", runtime: str = "Running", **custom: Any) -> dict[str, Any]:
    steps = [
        {"name": "observe", "outcome": "succeeded", "started_at": T, "ended_at": "2026-12-02T15:18:02+00:00"},
        {"name": "promote", "outcome": "running", "started_at": "2026-12-02T15:18:02+00:00", "ended_at": ""},
    ]
    done = runtime != "Running"
    return {
        "id": RUN,
        "operation": "failover",
        "runtime_status": runtime,
        "created": T,
        "custom_status": {"status": status, "step": "promote", "steps": steps, "awaiting": "", **custom},
        "output": {"status": status, "summary": f"the run {status}"} if done else None,
    }


STATUS = {
    "app": "qlp",
    "primary_region": "uksouth",
    "live_slot": "blue",
    "origin_group": "og-blue",
    "live_image": "qlp-app:1.4.0",
    "standby_image": "qlp-app:1.4.0",
    "servers": {"primary": {"name": "pg-south", "state": "Ready", "role": "primary", "location": "uksouth"}},
    "replica_lag_seconds": 2.0,
    "latest_backup_age_seconds": 5400.0,
    "running_operations": [],
    "last_drill": {"run_id": "drill-qlp-1", "status": "succeeded", "started_at": T},
    "last_restore_test": None,
    "objectives": {"rpo_minutes": 15.0, "backup_age_alert_hours": 4.0},
    "errors": {},
}


def test_status_shows_the_estate_against_objectives_and_json_as_it_came(api: FakeApi) -> None:
    api.on("GET", "/api/status", (200, STATUS))
    shown = drctl(api, "status")
    assert shown.exit_code == 0, shown.output
    for text in (
        "uksouth",
        "pg-south Ready uksouth (primary)",
        "2.0 s (objective 15 min 0 s)",
        "qlp-app:1.4.0",
    ):
        assert text in shown.output, text
    assert "1 h 30 min (objective 4 h 0 min)" in shown.output
    assert "succeeded 2026-12-02 15:18:00 UTC drill-qlp-1" in shown.output and "never" in shown.output
    as_json = drctl(api, "status", "--json")
    assert as_json.exit_code == 0 and json.loads(as_json.output) == STATUS
    sent = api.requests[-1]
    assert sent.headers["x-functions-key"] == "the-key" and "code" not in sent.query


def test_an_unreachable_api_is_one_clear_line_and_exit_1() -> None:
    shown = drctl(None, "status")
    assert shown.exit_code == 1
    assert "cannot reach the Continuity API at http://127.0.0.1:9/api" in shown.output
    assert "make run" in shown.output and "Traceback" not in shown.output


def test_a_wrong_key_says_so(api: FakeApi) -> None:
    api.on("GET", "/api/status", (401, ""))
    shown = drctl(api, "status", key="wrong")
    assert shown.exit_code == 1 and "401: the function key was refused" in shown.output
    assert "DRCTL_KEY" in shown.output
    missing = drctl(api, "status", key="")
    assert "no function key was given" in missing.output


def test_a_missing_role_is_the_apis_own_sentence(api: FakeApi) -> None:
    refusal = {"error": "forbidden", "reason": "this needs the operator role; the principal has reader"}
    api.on("POST", "/api/failover", (403, refusal))
    shown = drctl(api, "failover", "--reason", "x")
    assert (
        shown.exit_code == 1 and "403: this needs the operator role; the principal has reader" in shown.output
    )


def test_a_409_names_the_running_operation_and_exits_5(api: FakeApi) -> None:
    conflict = {
        "error": "conflict",
        "reason": f"failover refused: {RUN} is already running for this app",
        "running": [RUN],
    }
    api.on("POST", "/api/failover", (409, conflict))
    shown = drctl(api, "failover", "--reason", "uksouth is down")
    assert shown.exit_code == 5
    assert f"refused (409): failover refused: {RUN} is already running" in shown.output
    assert f"drctl run {RUN} --watch" in shown.output


def test_failover_sends_every_field_and_waits_for_the_end(api: FakeApi) -> None:
    api.on("POST", "/api/failover", (202, {"id": RUN, "status": "started"}))
    api.sequence("GET", f"/api/runs/{RUN}", [(200, view()), (200, view("succeeded", "Completed"))])
    shown = drctl(api, "failover", "--reason", "uksouth is down", "--mode", "forced", "--wait")
    assert shown.exit_code == 0, shown.output
    posted = next(r for r in api.requests if r.method == "POST")
    assert posted.body == {"reason": "uksouth is down", "mode": "forced", "dry_run": False}
    assert f"started {RUN}" in shown.output and "the run succeeded" in shown.output


def test_a_start_without_wait_prints_the_run_and_how_to_watch_it(api: FakeApi) -> None:
    api.on("POST", "/api/drills", (202, {"id": "drill-qlp-2", "status": "started"}))
    shown = drctl(api, "drill", "complete", "--reason", "quarterly")
    assert shown.exit_code == 0 and "drctl run drill-qlp-2 --watch" in shown.output
    assert api.requests[-1].body == {"scenario": "complete", "reason": "quarterly"}


def test_drctl_offers_every_drill_scenario_the_api_takes(api: FakeApi) -> None:
    from cli.operations import Scenario
    from orchestrators.drill import SCENARIOS

    assert [s.value for s in Scenario] == list(SCENARIOS)
    api.on("POST", "/api/drills", (202, {"id": "drill-qlp-3", "status": "started"}))
    assert drctl(api, "drill", "security", "--reason", "Q4").exit_code == 0
    assert api.requests[-1].body == {"scenario": "security", "reason": "Q4"}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("succeeded", 0),
        ("rolled-back", 2),
        ("inconclusive", 4),
        ("refused", 5),
        ("failed", 1),
        ("rejected", 1),
    ],
)
def test_exit_codes_follow_the_runs_outcome(api: FakeApi, status: str, code: int) -> None:
    api.on("POST", "/api/deployments", (202, {"id": RUN, "status": "started"}))
    api.on("GET", f"/api/runs/{RUN}", (200, view(status, "Completed")))
    shown = drctl(api, "deploy", "qlp-app:1.5.0", "--reason", "release 1.5", "--wait")
    assert shown.exit_code == code, shown.output


def test_a_crashed_orchestration_is_an_error(api: FakeApi) -> None:
    crashed = {**view(runtime="Failed"), "output": "unhandled: boom"}
    api.on("GET", f"/api/runs/{RUN}", (200, crashed))
    shown = drctl(api, "run", RUN)
    assert shown.exit_code == 1 and "unhandled: boom" in shown.output


def test_waiting_for_approval_exits_3_and_says_how_to_answer(api: FakeApi) -> None:
    api.on("POST", "/api/failover", (202, {"id": RUN, "status": "started"}))
    waiting = view(awaiting="approval", waiting_until="2026-12-02T15:48:00+00:00")
    api.on("GET", f"/api/runs/{RUN}", (200, waiting))
    shown = drctl(api, "failover", "--reason", "x", "--wait")
    assert shown.exit_code == 3
    assert f"drctl approve {RUN} --note" in shown.output
    assert "waiting for approval, deadline 2026-12-02 15:48:00 UTC" in shown.output


def test_a_wait_that_outlasts_its_timeout_exits_4(api: FakeApi) -> None:
    api.on("POST", "/api/failback", (202, {"id": RUN, "status": "started"}))
    api.on("GET", f"/api/runs/{RUN}", (200, view()))
    shown = drctl(api, "failback", "--reason", "home", "--slot", "green", "--wait", "--timeout", "0.05")
    assert shown.exit_code == 4 and "still running after 0.05 s" in shown.output
    assert api.requests[0].body == {"reason": "home", "slot": "green"}


def test_deploy_rollback_and_migrate_send_the_deployments_contract(api: FakeApi) -> None:
    for path in ("/api/deployments", "/api/rollback", "/api/migrations", "/api/maintenance"):
        api.on("POST", path, (202, {"id": RUN, "status": "started"}))
    deploy = [
        "deploy", "qlp-app:1.5.0", "--reason", "r", "--not-before", "2026-12-03T09:00:00Z",
        "--change-id", "CHG-42", "--force-window", "--retry-quarantined",
    ]  # fmt: skip
    assert drctl(api, *deploy).exit_code == 0
    assert api.requests[-1].body == {
        "image": "qlp-app:1.5.0",
        "reason": "r",
        "dry_run": False,
        "not_before": "2026-12-03T09:00:00Z",
        "change_id": "CHG-42",
        "force_window": True,
        "retry_quarantined": True,
    }
    assert drctl(api, "rollback", "--reason", "bad", "--to-image", "qlp-app:1.4.0", "--force").exit_code == 0
    assert api.requests[-1].body == {"reason": "bad", "to_image": "qlp-app:1.4.0", "force": True}
    assert drctl(api, "rollback", "--reason", "bad").exit_code == 0
    assert api.requests[-1].body == {"reason": "bad", "force": False}  # absent options are not sent
    migrate = ["migrate", "qlp-migrate:7", "--reason", "r", "--target-version", "7", "--class", "expand"]
    assert drctl(api, *migrate, "--dry-run").exit_code == 0
    assert api.requests[-1].body == {
        "image": "qlp-migrate:7",
        "reason": "r",
        "target_version": 7,
        "class": "expand",
        "dry_run": True,
    }
    assert drctl(api, "maintenance", "off", "--reason", "after the failed migration").exit_code == 0
    assert api.requests[-1].body == {"enabled": False, "reason": "after the failed migration"}


def test_a_dry_run_prints_its_plan_and_changes_nothing(api: FakeApi) -> None:
    plan = {
        "run_id": "failover-dryrun-qlp-1",
        "status": "dry-run",
        "dry_run": True,
        "plan": {"promote": "pg-west"},
    }
    plan["decisions"] = [{"step": "decide", "action": "forced", "reason": "the primary does not answer"}]
    api.on("POST", "/api/failover", (200, plan))
    shown = drctl(api, "failover", "--reason", "x", "--dry-run")
    assert shown.exit_code == 0 and "dry run: nothing was changed" in shown.output
    assert "pg-west" in shown.output and "the primary does not answer" in shown.output
    refused = {**plan, "status": "refused"}
    api.on("POST", "/api/failover", (200, refused))
    assert drctl(api, "failover", "--reason", "x", "--dry-run").exit_code == 5


def test_run_shows_the_steps_with_durations_and_the_wait_with_its_deadline(api: FakeApi) -> None:
    waits = [{"what": "grace", "started_at": T, "ended_at": "2026-12-02T15:18:30+00:00"}]
    api.on(
        "GET",
        f"/api/runs/{RUN}",
        (200, view(waits=waits, awaiting="approval", waiting_until="2026-12-02T16:00:00Z")),
    )
    shown = drctl(api, "run", RUN)
    assert shown.exit_code == 3, shown.output
    assert "observe  succeeded 2.0 s" in shown.output and "promote  running for" in shown.output
    assert "waited 30 s for grace" in shown.output
    assert "waiting for approval, deadline 2026-12-02 16:00:00 UTC" in shown.output
    assert json.loads(drctl(api, "run", RUN, "--json").output)["id"] == RUN


def test_run_watch_follows_through_an_approval_to_the_end(api: FakeApi) -> None:
    answers = [(200, view(awaiting="approval")), (200, view()), (200, view("succeeded", "Completed"))]
    api.sequence("GET", f"/api/runs/{RUN}", answers)
    shown = drctl(api, "run", RUN, "--watch")
    assert shown.exit_code == 0 and "the run succeeded" in shown.output
    assert len([r for r in api.requests if r.path == f"/api/runs/{RUN}"]) == 3


def test_why_lists_every_decision_in_order_from_the_report(api: FakeApi) -> None:
    decisions = [
        {
            "at": T,
            "step": "decide",
            "action": "forced",
            "reason": "the primary does not answer",
            "rule": "rule 4",
        },
        {
            "at": T,
            "step": "check_pool",
            "action": "switch",
            "reason": "1 of 1 origins healthy",
            "rule": "rule 2",
        },
    ]
    api.on("GET", f"/api/runs/{RUN}/report", (200, {"decisions": decisions}))
    shown = drctl(api, "why", RUN)
    assert shown.exit_code == 0
    first, second = shown.output.index("the primary does not answer"), shown.output.index("1 of 1 origins")
    assert first < second and "rule 4" in shown.output
    assert json.loads(drctl(api, "why", RUN, "--json").output) == decisions


def test_why_falls_back_to_the_custom_status_when_no_report_was_written(api: FakeApi) -> None:
    decisions = [{"step": "decide", "action": "proceed", "reason": "started by an operator", "rule": ""}]
    api.on("GET", f"/api/runs/{RUN}", (200, view(decisions=decisions)))
    assert "started by an operator" in drctl(api, "why", RUN).output


def test_report_as_json_or_markdown(api: FakeApi) -> None:
    def report(req: Any) -> tuple[int, Any]:
        return (
            (200, "# failover run x\n") if req.query.get("format") == "markdown" else (200, {"run_id": "x"})
        )

    api.on("GET", f"/api/runs/{RUN}/report", report)
    assert drctl(api, "report", RUN, "--markdown").output == "# failover run x\n"
    assert json.loads(drctl(api, "report", RUN).output) == {"run_id": "x"}
    missing = drctl(api, "report", "nope")
    assert missing.exit_code == 1 and "404" in missing.output


def test_runs_passes_its_filters(api: FakeApi) -> None:
    api.on("GET", "/api/runs", (200, {"runs": [view("succeeded", "Completed")], "count": 1}))
    shown = drctl(api, "runs", "--operation", "failover", "--status", "Completed")
    assert shown.exit_code == 0 and RUN in shown.output and "succeeded" in shown.output
    assert api.requests[-1].query == {"operation": "failover", "status": "Completed", "limit": "50"}


def test_answers_carry_the_note_and_a_run_not_waiting_is_refused(api: FakeApi) -> None:
    api.on("POST", f"/api/runs/{RUN}/approve", (202, {"id": RUN, "delivered": "approve", "by": "ana"}))
    shown = drctl(api, "approve", RUN, "--note", "lag checked by hand")
    assert shown.exit_code == 0 and "approve delivered" in shown.output
    assert api.requests[-1].body == {"note": "lag checked by hand"}
    not_waiting = {"error": "conflict", "reason": f"run {RUN} is at step promote, not waiting for approval"}
    api.on("POST", f"/api/runs/{RUN}/reject", (409, not_waiting))
    refused = drctl(api, "reject", RUN, "--note", "no")
    assert refused.exit_code == 5 and "not waiting for approval" in refused.output
    assert drctl(api, "cancel", RUN).exit_code == 2  # the note is required (a usage error)


def test_releases_shows_what_runs_where_and_the_history(api: FakeApi) -> None:
    events = [
        {"at": T, "kind": "deploy", "image": "qlp-app:1.5.0", "slot": "green", "outcome": "rolled-back"}
    ]
    view = {
        "live_slot": "blue",
        "live": {"group": "ci-blue", "image": "qlp-app:1.4.0", "state": "Running"},
        "idle": {"group": "ci-green", "image": "qlp-app:1.5.0", "state": "Stopped"},
        "standby": {"group": "ci-west", "image": "qlp-app:1.4.0", "state": "Stopped"},
        "standby_matches": True,
        "history": events,
    }
    api.on("GET", "/api/releases", (200, view))
    shown = drctl(api, "releases")
    assert shown.exit_code == 0 and "live slot: blue" in shown.output and "ci-west" in shown.output
    assert "qlp-app:1.5.0" in shown.output and "rolled-back" in shown.output
    assert json.loads(drctl(api, "releases", "--json").output) == view


def test_text_from_the_api_is_never_read_as_markup(api: FakeApi) -> None:
    api.on("GET", "/api/runs", (200, {"runs": [{**view(), "id": "[red]x[/red]"}]}))
    assert "[red]x[/red]" in drctl(api, "runs").output


def test_the_config_file_make_run_writes_is_found_upwards_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.write(tmp_path / ".devhost" / "drctl.json", "http://127.0.0.1:7071/api", "k1")
    assert oct((tmp_path / ".devhost" / "drctl.json").stat().st_mode & 0o777) == "0o600"
    deeper = tmp_path / "docs" / "x"
    deeper.mkdir(parents=True)
    for name in ("DRCTL_URL", "DRCTL_KEY", "DRCTL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    found = settings.resolve(start=deeper)
    assert (found.url, found.key) == ("http://127.0.0.1:7071/api", "k1")
    monkeypatch.setenv("DRCTL_KEY", "k2")
    assert settings.resolve(start=deeper).key == "k2"
    assert settings.resolve(url="http://h/api/", start=deeper).url == "http://h/api"


def test_status_shows_the_readiness_score_and_each_check_not_passing(api: FakeApi) -> None:
    reason = "replica lag 30 min is over the 15 min RPO"
    failing = [{"name": "replica_lag", "result": "fail", "reason": reason}]
    readiness = {"score": 91, "observed_at": T, "failing": failing}
    api.on("GET", "/api/status", (200, {**STATUS, "readiness": readiness}))
    shown = drctl(api, "status")
    assert shown.exit_code == 0, shown.output
    assert "91/100 at 2026-12-02 15:18:00 UTC" in shown.output
    assert "replica_lag fail: replica lag 30 min is over the 15 min RPO" in shown.output
    api.on("GET", "/api/status", (200, STATUS))
    assert "not scored yet" in drctl(api, "status").output
