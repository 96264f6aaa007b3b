"""Run reports: the run record's two views, Markdown, redaction of secrets, durations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrators.toolkit.record import RunRecord
from shared.models import Decision, Verdict, seconds_between
from shared.reports import redact, render_markdown
from tests.support.durable import T0


def test_record_records_steps_decisions_and_status() -> None:
    record = RunRecord("failover-qlp", "failover", {"kind": "alert", "reason": "down"}, T0)
    entry = record.begin("promote", T0)
    record.decide("promote", Decision("forced", "the primary does not answer", "rule 4"), T0)
    status = record.custom_status()
    assert (status["step"], status["last_decision"], status["reason"]) == (
        "promote",
        "forced",
        "the primary does not answer",
    )
    assert status["steps"] == [
        {"name": "promote", "outcome": "running", "started_at": T0.isoformat(), "ended_at": ""}
    ]
    assert status["decisions"] == [
        {"step": "promote", "action": "forced", "reason": "the primary does not answer", "rule": "rule 4"}
    ]
    record.end(entry, T0 + timedelta(seconds=30), "failed", "boom")
    status = record.custom_status()
    assert status["step"] == ""  # no step runs any more
    assert (status["last_decision"], status["reason"]) == ("forced", "the primary does not answer")
    assert status["steps"] == [
        {
            "name": "promote",
            "outcome": "failed",
            "started_at": T0.isoformat(),
            "ended_at": (T0 + timedelta(seconds=30)).isoformat(),
        }
    ]
    report = record.to_dict()
    assert report["steps"][0] == {
        "name": "promote",
        "started_at": T0.isoformat(),
        "ended_at": (T0 + timedelta(seconds=30)).isoformat(),
        "outcome": "failed",
        "detail": "boom",
    }
    assert record.ran() == []
    assert record.step_named("promote") == report["steps"][0]


def test_a_step_finishes_with_an_outcome() -> None:
    record = RunRecord("r", "failover", {"kind": "operator"}, T0)
    entry = record.begin("promote", T0)
    record.end(entry, T0 + timedelta(seconds=1), "failed", "boom")
    assert (entry["ended_at"], entry["outcome"], entry["detail"]) == (
        (T0 + timedelta(seconds=1)).isoformat(),
        "failed",
        "boom",
    )
    record.skip("fence", T0, "nothing to fence")
    assert record.step_named("fence") == {
        "name": "fence",
        "started_at": T0.isoformat(),
        "ended_at": T0.isoformat(),
        "outcome": "skipped",
        "detail": "nothing to fence",
    }
    record.end(record.begin("report", T0), T0, "succeeded")
    assert record.ran() == ["report"]


def test_markdown_has_every_section() -> None:
    record = RunRecord("failover-qlp", "failover", {"kind": "operator", "reason": "drill", "by": "ana"}, T0)
    record.end(record.begin("observe", T0), T0 + timedelta(seconds=2), "succeeded", "traffic on og|blue")
    record.decide("decide", Decision("refuse", "no healthy origin", "rule 2"), T0)
    record.measure(rto_seconds=95.0)
    record.resource(server="pg-south-pitr")
    record.observed("before", "route", {"origin_group": "og-blue"})
    record.observed("after", "route", {"origin_group": "og-standby"})
    record.judge(Verdict(False, ("no healthy origin",)))
    record.finish("refused", T0 + timedelta(minutes=2, seconds=5), "no healthy origin")
    text = render_markdown(record.to_dict())
    assert text.startswith("# failover run failover-qlp\n")
    assert "- verdict: **fail**\n- status: refused\n" in text
    assert "- started: 2026-11-29 12:00:00 UTC\n- ended: 2026-11-29 12:02:05 UTC (took 2 min)\n" in text
    assert "- trigger: operator by ana: drill" in text
    assert "## Verdict\n\n**fail**\n\n- the run ended refused: no healthy origin\n" in text
    assert "## Checks\n\nNo data checks or objectives were measured in this run." in text
    assert "| rto seconds | 1 min |" in text
    assert "| observe | 2026-11-29 12:00:00 UTC | 2.0 s | succeeded | traffic on og\\|blue |" in text
    assert "| 2026-11-29 12:00:00 UTC | decide | refuse | no healthy origin | rule 2 |" in text
    assert "## Resources\n\n| resource | name |\n|---|---|\n| server | pg-south-pitr |" in text
    assert "| route | origin_group (changed) | og-blue | og-standby |" in text


def plain_report(**fields: object) -> dict[str, object]:
    report: dict[str, object] = {
        "run_id": "drill-qlp-1",
        "operation": "drill-complete",
        "status": "succeeded",
        "started_at": "2026-11-29T13:00:00+01:00",
        "ended_at": "2026-11-29T12:00:09.5Z",
        "trigger": {"kind": "operator", "reason": "quarterly"},
    }
    return {**report, **fields}


def test_markdown_shows_plain_values_never_python_reprs() -> None:
    measurements = {
        "row_counts": {"intents": 2},
        "rows_missing": None,
        "teardown_verified": True,
        "switched": False,
        "restore_seconds": 1.026238,
        "achieved_restore_point": "2026-11-29T11:59:58.250+00:00",
        "healthy_origins": 3,
        "servers": ["pg-a", "pg-b"],
    }
    text = render_markdown(plain_report(measurements=measurements))
    for repr_ in ("{'", "None", "True", "False", "[", "1.026238"):
        assert repr_ not in text.split("## Measurements")[1], repr_
    assert "| row counts | intents: 2 |" in text
    assert "| rows missing | - |" in text
    assert "| teardown verified | yes |" in text and "| switched | no |" in text
    assert "| restore seconds | 1.0 s |" in text
    assert "| achieved restore point | 2026-11-29 11:59:58 UTC |" in text
    assert "| servers | pg-a, pg-b |" in text
    assert "- started: 2026-11-29 12:00:00 UTC\n- ended: 2026-11-29 12:00:09 UTC (took 9.5 s)" in text


def test_the_verdict_is_the_whole_runs_not_a_passing_parts() -> None:
    part = {"passed": True, "reasons": ["restore succeeded, 3 checks passed"]}
    report = plain_report(status="failed", summary="region: drill group did not answer", verdict=part)
    text = render_markdown(report)
    assert "- verdict: **fail**" in text and "**pass**" not in text
    assert "- the run ended failed: region: drill group did not answer" in text
    assert "a part of it passed on its own (restore succeeded, 3 checks passed)" in text


def test_checks_compare_rto_and_rpo_with_the_objectives_and_a_miss_fails_the_run() -> None:
    measurements = {
        "rto_seconds": 2400.0,
        "rto_objective_seconds": 1800.0,
        "rpo_seconds": None,
        "rpo_objective_seconds": 900.0,
    }
    checks = [{"name": "count intents", "passed": True, "detail": "2 rows (min 2)"}]
    text = render_markdown(plain_report(measurements=measurements, checks=checks))
    assert "| count intents | pass | 2 rows (min 2) |" in text
    assert "| RTO within objective | fail | 40 min against 30 min |" in text
    assert "| RPO within objective | fail | not measured (objective 15 min) |" in text
    assert "- verdict: **fail**" in text
    assert "- check failed: RTO within objective (40 min against 30 min)" in text


def test_a_run_that_succeeded_within_its_objectives_passes() -> None:
    measurements = {"rto_seconds": 95.0, "rto_objective_seconds": 1800, "rpo_seconds": 0.0}
    verdict = {"passed": True, "reasons": ["all steps passed"]}
    text = render_markdown(plain_report(measurements=measurements, verdict=verdict))
    assert "## Verdict\n\n**pass**\n\n- all steps passed\n" in text
    assert "| RTO within objective | pass | 1 min against 30 min |" in text


def test_no_exception_envelope_reaches_the_report() -> None:
    envelope = (
        '{"$type": "System.Exception", "ClassName": "System.Exception", '
        '"Message": "permanent: promote pg-west: the server is not a replica", "Data": null}'
    )
    step = {"name": "promote", "started_at": T0.isoformat(), "ended_at": T0.isoformat()}
    report = plain_report(status="failed", steps=[{**step, "outcome": "failed", "detail": envelope}])
    text = render_markdown(report)
    assert "$type" not in text and "System.Exception" not in text
    assert "| failed | permanent: promote pg-west: the server is not a replica |" in text


def test_estate_before_and_after_side_by_side() -> None:
    before = {
        "route": {"origin_group": "og-blue", "route": "route-qlp", "endpoint_url": "http://fd"},
        "primary_server": {"name": "pg-south", "state": "Ready", "tags": {"x": "y"}, "id": "/sub/x"},
    }
    after = {
        "route": {"origin_group": "og-standby"},
        "primary_server": {"name": "pg-south", "state": "Stopped"},
        "standby_group": {"group": "ci-west", "image": "app:1.0.0", "state": "Running"},
    }
    text = render_markdown(plain_report(estate={"before": before, "after": after}))
    table = text.split("## Estate before and after\n\n")[1]
    assert table.startswith("| resource | property | before | after |\n|---|---|---|---|\n")
    assert "| route | origin_group (changed) | og-blue | og-standby |" in table
    assert "| route | route | route-qlp | - |" in table
    assert "| primary server | state (changed) | Ready | Stopped |" in table
    assert "| primary server | name | pg-south | pg-south |" in table
    assert "| standby group | image | not observed | app:1.0.0 |" in table
    assert "tags" not in table and "/sub/x" not in table and "endpoint_url" not in table


def test_waits_are_recorded_and_shown_apart_from_running_time() -> None:
    record = RunRecord("failover-qlp", "failover", {"kind": "alert"}, T0)
    entry = record.begin("approval", T0)
    record.wait("approval", T0, (T0 + timedelta(minutes=30)).isoformat())
    assert record.custom_status()["awaiting"] == "approval"
    assert record.custom_status()["waiting_until"] == (T0 + timedelta(minutes=30)).isoformat()
    record.resume(T0 + timedelta(minutes=4))
    record.end(entry, T0 + timedelta(minutes=4), "succeeded", "approved by ana")
    record.wait("grace", T0 + timedelta(minutes=4))
    record.finish("succeeded", T0 + timedelta(minutes=5), "done")
    report = record.to_dict()
    assert report["waits"] == [
        {
            "what": "approval",
            "step": "approval",
            "started_at": T0.isoformat(),
            "until": (T0 + timedelta(minutes=30)).isoformat(),
            "ended_at": (T0 + timedelta(minutes=4)).isoformat(),
        },
        {
            "what": "grace",
            "step": "",
            "started_at": (T0 + timedelta(minutes=4)).isoformat(),
            "until": "",
            "ended_at": (T0 + timedelta(minutes=5)).isoformat(),
        },
    ]
    assert record.custom_status()["awaiting"] == ""
    text = render_markdown(report)
    assert "| approval | 2026-11-29 12:00:00 UTC | 2026-11-29 12:30:00 UTC | 4 min |" in text
    assert "| grace | 2026-11-29 12:04:00 UTC | - | 1 min |" in text


def test_secret_names_are_kept_and_secret_values_masked() -> None:
    value = {
        "drill_secret_name": "database-url-drill",
        "secret_name": "database-url",
        "drill_secret": "s3cr3t-value",
        "client_secret": "abc",
        "sas_token": "sv=1&sig=zz",
        "function_key": "fk",
        "detail": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJl",
        "url": "https://acct.blob.core.windows.net/c?sv=2024&sig=abcd%2F&se=1",
        "conn": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFy==;EndpointSuffix=x",
    }
    out = redact(value)
    assert out["drill_secret_name"] == "database-url-drill" and out["secret_name"] == "database-url"
    assert out["drill_secret"] == out["client_secret"] == out["sas_token"] == out["function_key"] == "***"
    text = str(out)
    for secret in ("s3cr3t-value", "eyJhbGci", "abcd%2F", "Zm9vYmFy", "'abc'", "fk'"):
        assert secret not in text, secret
    assert "AccountName=a" in out["conn"] and "sv=2024" in out["url"]


def test_a_drill_names_its_secret_in_the_report() -> None:
    record = RunRecord("drill-qlp", "drill-region", {"kind": "operator"}, T0)
    record.resource(drill_secret_name="database-url-drill")
    assert "| drill secret name | database-url-drill |" in render_markdown(record.to_dict())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgresql://qlp_app:pw123@host:5432/db", "postgresql://qlp_app:***@host:5432/db"),
        ("https://hooks.example/x?sig=abc&sv=1", "https://hooks.example/x?sig=***&sv=1"),
        (
            {"password": "pw", "routing_key": "k", "nested": ["password=pw;x"]},
            {"password": "***", "routing_key": "***", "nested": ["password=***;x"]},
        ),
        ({"lag_seconds": 3, "server": "pg"}, {"lag_seconds": 3, "server": "pg"}),
    ],
)
def test_redact(value: object, expected: object) -> None:
    assert redact(value) == expected


def test_record_redacts_what_goes_in() -> None:
    record = RunRecord("r", "failover", {"kind": "operator", "reason": "postgresql://u:pw9@h/db"}, T0)
    record.end(record.begin("x", T0), T0, "failed", "connect postgresql://u:pw9@h/db failed")
    record.decide("x", Decision("leave", "postgresql://u:pw9@h/db unreachable"), T0)
    record.measure(url="https://x?sig=pw9")
    record.resource(password="pw9")
    record.observed("after", "secret", {"host": "postgresql://u:pw9@h/db"})
    record.warn("password=pw9")
    record.judge(Verdict(False, ("postgresql://u:pw9@h/db",)))
    record.finish("failed", T0, "postgresql://u:pw9@h/db down")
    assert "pw9" not in str(record.to_dict())
    assert "pw9" not in str(record.custom_status())


def test_seconds_between() -> None:
    assert seconds_between(T0.isoformat(), (T0 + timedelta(minutes=2)).isoformat()) == 120.0
    assert seconds_between("", T0.isoformat()) is None
