"""The run toolkit on its own, driven by the fake Durable runtime: retries, gathering, observations, steps,
the failure path, the report and its checkpoints, the estate after, waits and dry runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import pytest

from orchestrators.toolkit import DRY_RUN, REFUSED, End, Gen, Run, StepFailed, iso
from shared import names, policy
from shared.models import Decision
from tests.support.durable import T0, Event, FakeContext, drive, fails, returns, sequence
from tests.support.settings import failover_settings

RUN_ID = "check-qlp-20261129T120000-a1b2"
SERVER = names.DATABASE_GET_SERVER
ROUTE = names.TRAFFIC_GET_ROUTE
PROBE = names.PROBE_HTTP


def transient(n: int) -> RuntimeError:
    return RuntimeError(f"transient: get server pg-south: 503 (try {n})")


def context(
    activities: dict[str, Any] | None = None,
    *,
    events: Iterable[Event] = (),
    activity_seconds: float = 1.0,
    **settings: str,
) -> FakeContext:
    payload = {
        "run_id": RUN_ID,
        "settings": failover_settings(**settings),
        "trigger": {"kind": "operator", "reason": "tests"},
    }
    return FakeContext(payload, activities, events=events, activity_seconds=activity_seconds)


def call(ctx: FakeContext, body: Callable[[Run], Gen]) -> Any:
    """Drive one toolkit call on a fresh run; returns what it returns (its failure propagates)."""
    return drive(lambda c: body(Run(c, "check")), ctx)


def execute(
    ctx: FakeContext, plan: Callable[[Run], Gen], *, announce_start: bool = False
) -> tuple[dict[str, Any], Run]:
    """Drive ``plan`` through Run.execute; returns the run's outcome and the run."""
    runs: list[Run] = []

    def orchestrator(c: Any) -> Gen:
        run = Run(c, "check")
        runs.append(run)
        return (yield from run.execute(plan, announce_start=announce_start))

    return drive(orchestrator, ctx), runs[0]


def after(*seconds: float) -> list[Any]:
    return [T0 + timedelta(seconds=s) for s in seconds]


# ---- the retry policy ----------------------------------------------------------------------------------
def test_transient_failures_are_retried_after_exponential_delays_from_the_settings() -> None:
    ctx = context(
        {SERVER: sequence(transient(1), transient(2), transient(3), {"name": "pg-south"})},
        activity_seconds=0,
    )
    assert call(ctx, lambda run: run.act(SERVER, {"server": "pg-south"})) == {"name": "pg-south"}
    assert ctx.payloads(SERVER) == [{"server": "pg-south"}] * 4  # activity_retry_attempts=4
    assert ctx.timers == after(2, 2 + 4, 2 + 4 + 8)  # first 2 s, doubling, as durable timers


def test_retry_delays_are_capped_at_the_settings_maximum() -> None:
    failures = [transient(n) for n in range(1, 6)]
    ctx = context(
        {SERVER: sequence(*failures, {"name": "pg-south"})},
        activity_seconds=0,
        activity_retry_attempts="6",
        activity_retry_first_seconds="3",
        activity_retry_max_seconds="10",
    )
    assert call(ctx, lambda run: run.act(SERVER, {})) == {"name": "pg-south"}
    assert len(ctx.payloads(SERVER)) == 6
    assert ctx.timers == after(3, 3 + 6, 9 + 10, 19 + 10, 29 + 10)  # 3, 6, then capped at 10


def test_the_last_transient_failure_is_raised() -> None:
    ctx = context({SERVER: sequence(*(transient(n) for n in range(1, 6)))})
    with pytest.raises(Exception, match=r"failed: transient: get server pg-south: 503 \(try 4\)$"):
        call(ctx, lambda run: run.act(SERVER, {}))
    assert len(ctx.payloads(SERVER)) == 4
    assert len(ctx.timers) == 3  # no wait after the last call


@pytest.mark.parametrize(
    "message",
    [
        "permanent: promote pg-west: conflict",
        "precondition: promote pg-west: not a replica",
        "KeyError: 'server'",  # an unexpected crash names no kind: not retried either
    ],
)
def test_a_failure_that_is_not_transient_is_not_retried(message: str) -> None:
    ctx = context({SERVER: fails(message)})
    with pytest.raises(Exception, match=f"failed: {message}$"):
        call(ctx, lambda run: run.act(SERVER, {}))
    assert len(ctx.payloads(SERVER)) == 1
    assert ctx.timers == []


def test_act_returns_a_dict_even_for_an_empty_result() -> None:
    ctx = context({SERVER: returns(None)})
    assert call(ctx, lambda run: run.act(SERVER, {})) == {}


# ---- gather and observe ----------------------------------------------------------------------------------
def test_gather_runs_in_parallel_and_keeps_the_order() -> None:
    ctx = context({SERVER: lambda p: {"name": p["server"]}, ROUTE: returns({"origin_group": "og-blue"})})
    reads = [(SERVER, {"server": "a"}), (ROUTE, {}), (SERVER, {"server": "b"})]
    found = call(ctx, lambda run: run.gather(reads))
    assert found == [{"name": "a"}, {"origin_group": "og-blue"}, {"name": "b"}]
    assert ctx.names() == [SERVER, ROUTE, SERVER]


def test_gather_falls_back_to_one_by_one_under_the_retry_policy() -> None:
    ctx = context(
        {
            ROUTE: returns({"origin_group": "og-blue"}),
            SERVER: sequence(transient(1), transient(2), {"name": "b"}),
        },
        activity_seconds=0,
    )
    found = call(ctx, lambda run: run.gather([(ROUTE, {}), (SERVER, {"server": "b"})]))
    assert found == [{"origin_group": "og-blue"}, {"name": "b"}]
    # in parallel (the server read fails), then each again on its own: the server read retried once
    assert ctx.names() == [ROUTE, SERVER, ROUTE, SERVER, SERVER]
    assert ctx.timers == after(2)


def test_gather_raises_a_failure_that_persists_one_by_one() -> None:
    ctx = context({ROUTE: returns({}), SERVER: fails("permanent: get server b: forbidden")})
    with pytest.raises(Exception, match="permanent: get server b: forbidden"):
        call(ctx, lambda run: run.gather([(ROUTE, {}), (SERVER, {})]))
    assert ctx.names() == [ROUTE, SERVER, ROUTE, SERVER]


def test_gather_safely_answers_a_failed_call_with_its_error() -> None:
    ctx = context(
        {ROUTE: returns({"origin_group": "og-blue"}), SERVER: fails("transient: get server b: 503")}
    )
    found = call(ctx, lambda run: run.gather([(ROUTE, {}), (SERVER, {})], safely=True))
    assert found == [
        {"origin_group": "og-blue"},
        {"error": "transient: get server b: 503"},
    ]
    assert ctx.names() == [ROUTE, SERVER, ROUTE, SERVER, SERVER]  # an observation is tried twice


def test_observe_returns_the_error_instead_of_raising() -> None:
    ctx = context({SERVER: fails("permanent: get server pg-south: region unavailable")})
    found = call(ctx, lambda run: run.observe(SERVER, {"server": "pg-south"}))
    assert found == {"error": "permanent: get server pg-south: region unavailable"}
    assert len(ctx.payloads(SERVER)) == 1


def test_observe_tries_a_transient_failure_twice_and_keeps_the_error_short() -> None:
    long = "transient: get server pg-south: " + "x" * 400
    ctx = context({SERVER: fails(long)})
    found = call(ctx, lambda run: run.observe(SERVER, {}))
    assert set(found) == {"error"} and len(found["error"]) == 300
    assert found["error"].startswith("transient: get server pg-south: x")  # the host's wrapping removed
    assert len(ctx.payloads(SERVER)) == 2
    assert len(ctx.timers) == 1


def test_observe_returns_what_the_read_found() -> None:
    ctx = context({SERVER: sequence(transient(1), {"name": "pg-south"})})
    assert call(ctx, lambda run: run.observe(SERVER, {})) == {"name": "pg-south"}


# ---- steps ------------------------------------------------------------------------------------------
def test_a_step_records_start_end_and_outcome() -> None:
    ctx = context({SERVER: returns({"server": "pg-south", "state": "Ready"})})

    def plan(run: Run) -> Gen:
        found = yield from run.step("read", run.act(SERVER, {}))
        assert found == {"server": "pg-south", "state": "Ready"}  # a step returns its body's result
        return End("succeeded", "read")

    out, run = execute(ctx, plan)
    assert out["status"] == "succeeded"
    assert run.record.steps == [
        {
            "name": "read",
            "started_at": iso(T0),
            "ended_at": iso(T0 + timedelta(seconds=1)),
            "outcome": "succeeded",
            "detail": "Ready",  # the result's state (message, state, server, group: the first there)
        }
    ]
    during = ctx.statuses[0]
    running = {"name": "read", "outcome": "running", "started_at": iso(T0), "ended_at": ""}
    assert (during["step"], during["steps"]) == ("read", [running])
    assert ctx.custom_status["step"] == ""
    ended = {**running, "outcome": "succeeded", "ended_at": iso(T0 + timedelta(seconds=1))}
    assert ctx.custom_status["steps"] == [ended]


def test_a_step_turns_an_exception_into_step_failed() -> None:
    ctx = context({SERVER: fails("permanent: get server pg-south: forbidden")})
    caught: list[StepFailed] = []

    def body(run: Run) -> Gen:
        try:
            yield from run.step("read", run.act(SERVER, {}))
        except StepFailed as failed:
            caught.append(failed)
        try:
            yield from run.step("think", broken())
        except StepFailed as failed:
            caught.append(failed)
        return run

    def broken() -> Gen:
        raise KeyError("origin_group")
        yield  # pragma: no cover

    run = call(ctx, body)
    error = "permanent: get server pg-south: forbidden"
    assert [(f.step, f.error) for f in caught] == [("read", error), ("think", "'origin_group'")]
    assert isinstance(caught[1].__cause__, KeyError)
    assert [(s["name"], s["outcome"], s["detail"]) for s in run.record.steps] == [
        ("read", "failed", error),
        ("think", "failed", "'origin_group'"),
    ]
    assert run.record.ran() == []


def test_a_step_failed_inside_keeps_its_step_and_a_stop_is_a_success() -> None:
    ctx = context()
    outcomes: list[Any] = []

    def inner(run: Run) -> Gen:
        raise StepFailed("verify", "not healthy after 3 checks")
        yield  # pragma: no cover

    def stopping(run: Run) -> Gen:
        run.stop("stood-down", "recovered")
        yield  # pragma: no cover

    def plan(run: Run) -> Gen:
        try:
            yield from run.step("outer", inner(run))
        except StepFailed as failed:
            outcomes.append((failed.step, failed.error))
        yield from run.step("decide", stopping(run))
        return End("succeeded", "never reached")  # pragma: no cover

    out, run = execute(ctx, plan)
    assert outcomes == [("verify", "not healthy after 3 checks")]
    assert [(s["name"], s["outcome"], s["detail"]) for s in run.record.steps] == [
        ("outer", "failed", "not healthy after 3 checks"),
        ("decide", "succeeded", "decided to stop"),
    ]
    assert (out["status"], out["summary"]) == ("stood-down", "recovered")


# ---- the failure path -------------------------------------------------------------------------------
def test_a_failed_step_ends_the_run_failed_and_pages_with_the_policy_reason() -> None:
    ctx = context(
        {ROUTE: returns({"origin_group": "og-blue"}), PROBE: fails("permanent: probe: 503 from the app")}
    )

    def plan(run: Run) -> Gen:
        yield from run.step("observe", run.act(ROUTE, {}))
        run.promoted = True
        yield from run.step("verify", run.act(PROBE, {"url": "http://standby"}))
        return End("succeeded", "never reached")  # pragma: no cover

    out, run = execute(ctx, plan, announce_start=True)
    error = "permanent: probe: 503 from the app"
    expected = policy.on_step_failure("verify", promoted=True, traffic_moved=False, error=error)
    assert out["status"] == "failed"
    assert out["summary"] == f"{expected.reason}. Steps that ran: observe."
    assert run.record.decisions[-1] == {**expected.to_dict(), "step": "verify", "at": run.record.ended_at}
    assert [n["event"] for n in ctx.notifications] == ["started", "step-failed"]
    failed = ctx.notifications[-1]
    assert (failed["page"], failed["severity"], failed["text"]) == (True, "critical", out["summary"])
    assert ctx.cloud_events[-1]["type"] == "continuity.check.step-failed"
    report = ctx.last_report()
    assert (report["status"], report["summary"]) == ("failed", out["summary"])
    assert ctx.custom_status["status"] == "failed"


def test_a_fault_outside_any_step_still_ends_the_run_with_its_report() -> None:
    ctx = context({ROUTE: returns({"origin_group": "og-blue"})})

    def plan(run: Run) -> Gen:
        yield from run.step("observe", run.act(ROUTE, {}))
        raise RuntimeError("bug in the plan")

    out, run = execute(ctx, plan)
    expected = policy.on_step_failure("plan", promoted=False, traffic_moved=False, error="bug in the plan")
    assert out["status"] == "failed"
    assert out["summary"] == f"{expected.reason}. Steps that ran: observe."
    assert run.record.decisions[-1]["step"] == "plan"
    assert ctx.notifications[-1]["event"] == "step-failed" and ctx.notifications[-1]["page"] is True
    assert (ctx.last_report()["status"], ctx.last_report()["summary"]) == ("failed", out["summary"])
    assert out["report"] == f"memory://runs/{RUN_ID}/report.json"


def test_a_stop_ends_the_run_with_its_status_event_and_page() -> None:
    ctx = context()

    def plan(run: Run) -> Gen:
        run.stop("refused", "refusing: not the primary", event=REFUSED, page=True)
        yield  # pragma: no cover

    out, _ = execute(ctx, plan)
    assert (out["status"], out["summary"]) == ("refused", "refusing: not the primary")
    assert [(n["event"], n["page"], n["severity"]) for n in ctx.notifications] == [
        ("refused", True, "critical")
    ]


# ---- the report ------------------------------------------------------------------------------------
def test_the_report_is_written_at_checkpoints_and_at_the_end() -> None:
    ctx = context({ROUTE: returns({"origin_group": "og-blue"})})

    def plan(run: Run) -> Gen:
        run.checkpoints = frozenset({"b"})
        for name in ("a", "b", "c"):
            yield from run.step(name, run.act(ROUTE, {}))
        return End("succeeded", "all done")

    out, _ = execute(ctx, plan, announce_start=True)
    written = [(r["status"], [s["name"] for s in r["steps"]]) for r in ctx.reports]
    assert written == [("running", []), ("running", ["a", "b"]), ("succeeded", ["a", "b", "c"])]
    assert ctx.payloads(names.STORAGE_WRITE_REPORT)[-1] == {
        "run_id": RUN_ID,
        "report": ctx.last_report(),
        "kind": "check",
    }
    assert out["report"] == f"memory://runs/{RUN_ID}/report.json"
    assert ctx.custom_status["report"] == out["report"]


def test_a_report_that_cannot_be_written_never_fails_the_run() -> None:
    ctx = context({names.STORAGE_WRITE_REPORT: fails("transient: write report: 503")})

    def plan(run: Run) -> Gen:
        yield from run.save()
        return End("succeeded", "done")

    out, run = execute(ctx, plan)
    assert out["status"] == "succeeded"
    assert out["report"] == ""
    assert len(run.record.warnings) == 2  # the checkpoint, then the final report
    assert all(w.startswith("report could not be saved at ") for w in run.record.warnings)
    assert "error" not in run.record.notifications[-1]  # the final notification was sent; the write failed
    assert [n["event"] for n in ctx.notifications] == ["completed"]  # the notification still went


def test_a_failed_final_notification_is_recorded_in_the_final_report() -> None:
    ctx = FakeContext(
        {"settings": failover_settings(), "run_id": "r1"}, {names.NOTIFY_SEND: fails("transient: slack 503")}
    )

    def plan(run: Run) -> Gen:
        return End("succeeded", "done")
        yield

    drive(lambda c: Run(c, "example").execute(plan, announce_start=False), ctx)
    final = ctx.reports[-1]
    assert final["status"] == "succeeded"
    assert "slack 503" in final["notifications"][-1]["error"]


def test_watched_resources_are_observed_again_into_the_estate_after() -> None:
    ctx = context(
        {
            ROUTE: sequence(
                {"origin_group": "og-blue"}, {"origin_group": "og-standby", "route": "r", "etag": "x"}
            ),
            SERVER: fails("permanent: get server pg-south: region unavailable"),
        }
    )

    def plan(run: Run) -> Gen:
        run.watched = [("route", (ROUTE, {})), ("primary_server", (SERVER, {"server": "pg-south"}))]
        route = yield from run.step("observe", run.act(ROUTE, {}))
        run.record.observed("before", "route", route)
        return End("succeeded", "done")

    out, run = execute(ctx, plan)
    error = "permanent: get server pg-south: region unavailable"
    assert run.record.estate == {
        "before": {"route": {"origin_group": "og-blue"}},
        "after": {"route": {"origin_group": "og-standby"}, "primary_server": {"error": error}},
    }
    assert ctx.last_report()["estate"] == run.record.estate  # observed before the final report
    assert out["status"] == "succeeded"


def test_watched_resources_are_observed_after_a_failed_step_too() -> None:
    ctx = context({ROUTE: returns({"origin_group": "og-blue"}), PROBE: fails("permanent: probe: 503")})

    def plan(run: Run) -> Gen:
        run.watched = [("route", (ROUTE, {}))]
        yield from run.step("verify", run.act(PROBE, {}))
        return End("succeeded", "never reached")  # pragma: no cover

    out, _ = execute(ctx, plan)
    assert out["status"] == "failed"
    assert ctx.names()[-4:] == [ROUTE, names.NOTIFY_SEND, names.EVENTS_PUBLISH, names.STORAGE_WRITE_REPORT]
    assert ctx.last_report()["estate"]["after"] == {"route": {"origin_group": "og-blue"}}


# ---- waits --------------------------------------------------------------------------------------------
def test_the_custom_status_carries_what_the_run_awaits_and_until_when() -> None:
    answer = Event("approval", {"answer": "approve", "by": "ops"}, T0 + timedelta(minutes=5))
    ctx = context(events=[answer])

    def plan(run: Run) -> Gen:
        gate = Decision("approval", "lag over the RPO: waiting for operator approval", "rule 3")
        reason = yield from run.step("approval", run.await_approval(gate))
        return End("succeeded", reason)

    out, run = execute(ctx, plan)
    assert (out["status"], out["summary"]) == ("succeeded", "approved by ops")
    waiting = [s for s in ctx.statuses if s["awaiting"]]
    assert waiting and {(s["awaiting"], s["waiting_until"], s["step"]) for s in waiting} == {
        ("approval", iso(T0 + timedelta(minutes=30)), "approval")  # approval_timeout_minutes=30
    }
    answered = ctx.statuses.index(waiting[-1]) + 1
    assert (ctx.statuses[answered]["awaiting"], ctx.statuses[answered]["waiting_until"]) == ("", "")
    assert (ctx.custom_status["awaiting"], ctx.custom_status["waiting_until"]) == ("", "")
    asked = ctx.notifications[0]
    assert (asked["event"], asked["severity"], asked["text"]) == (
        "awaiting-approval",
        "warning",
        "lag over the RPO: waiting for operator approval",
    )
    assert [(d["action"], d["reason"]) for d in run.record.decisions] == [("proceed", "approved by ops")]


def test_an_unanswered_approval_escalates_and_waits_again_until_a_new_deadline() -> None:
    answer = Event("approval", {"answer": "reject", "by": "ops"}, T0 + timedelta(minutes=45))
    ctx = context(events=[answer], activity_seconds=0)

    def plan(run: Run) -> Gen:
        yield from run.await_approval(Decision("approval", "manual mode"))
        return End("succeeded", "never reached")  # pragma: no cover

    out, _ = execute(ctx, plan)
    assert (out["status"], out["summary"]) == ("rejected", "rejected by ops: stopped, nothing changed")
    deadlines = list(dict.fromkeys(s["waiting_until"] for s in ctx.statuses if s["awaiting"] == "approval"))
    assert deadlines == [iso(T0 + timedelta(minutes=30)), iso(T0 + timedelta(minutes=60))]
    escalated = [n for n in ctx.notifications if n["event"] == "awaiting-approval"]
    assert [n["page"] for n in escalated] == [False, True]


# ---- dry runs ---------------------------------------------------------------------------------------
def test_a_dry_run_writes_its_report_and_notifies_nobody() -> None:
    ctx = context()

    def plan(run: Run) -> Gen:
        run.decide("decide", Decision("forced", "the primary does not answer", "rule 4"))
        run.record.extra["plan"] = ["promote replica (forced)", "switch traffic"]
        yield from ()
        return End(DRY_RUN, "dry run: nothing was changed", event="")

    out, run = execute(ctx, plan)
    assert ctx.notifications == [] and ctx.cloud_events == []
    assert names.NOTIFY_SEND not in ctx.names() and names.EVENTS_PUBLISH not in ctx.names()
    assert run.record.notifications == []
    assert [r["status"] for r in ctx.reports] == [DRY_RUN]
    assert ctx.last_report()["plan"] == ["promote replica (forced)", "switch traffic"]
    assert out["dry_run"] is True
    assert out["plan"] == ["promote replica (forced)", "switch traffic"]
    assert [d["action"] for d in out["decisions"]] == ["forced"]
    assert out["report"] == f"memory://runs/{RUN_ID}/report.json"


def test_error_text_removes_the_hosts_wrapping() -> None:
    from orchestrators.toolkit.calls import error_text

    assert (
        error_text(Exception("Activity function 'x' failed: transient: get a: 503"))
        == "transient: get a: 503"
    )
    envelope = '{"$type": "System.Exception", "Message": "permanent: get b: \\"gone\\"", "StackTrace": null}'
    assert error_text(Exception(envelope)) == 'permanent: get b: "gone"'
    assert error_text(Exception("plain")) == "plain"
