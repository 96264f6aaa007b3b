"""The security drill's tabletop through the API: answers recorded as documents of their own beside the
report (never replacing the report or an earlier answer), who answered from the principal, the checklist
read back with each item's answers and the open items; bad input refused naming the field, nothing
written."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared import config, names
from shared.azure import runtime
from tests.support.durable import call_http, http
from tests.support.settings import FAILOVER_ENV

DRILL = "drill-qlp-20261129T120000-a1b2"
CHECKLIST = [{"item": f"question {n}?", "status": "for the tabletop"} for n in range(1, 7)]


class Storage:
    """Reports and the documents beside them, as shared/azure/storage.py keeps them."""

    def __init__(self) -> None:
        self.reports: dict[str, dict[str, Any]] = {}
        self.documents: dict[tuple[str, str], str] = {}
        self.broken = False
        self.report_reads = 0

    def read_report(self, run_id: str) -> dict[str, Any]:
        if self.broken:
            raise RuntimeError("storage unreachable")
        self.report_reads += 1
        report = self.reports.get(run_id)
        return {"run_id": run_id, "found": report is not None, "report": report, "events": []}

    def read_documents(self, run_id: str, starting: str) -> list[tuple[str, str]]:
        kept = self.documents.items()
        return sorted((n, t) for (r, n), t in kept if r == run_id and n.startswith(starting))

    def write_document(self, run_id: str, name: str, text: str, *, retain_years: int) -> dict[str, Any]:
        assert (run_id, name) not in self.documents  # written once
        assert retain_years == 7  # kept as long as the drill's report (the compliance retention)
        self.documents[(run_id, name)] = text
        return {"blob": f"runs/{run_id}/{name}", "written": True}


@pytest.fixture(autouse=True)
def storage(monkeypatch: pytest.MonkeyPatch) -> Iterator[Storage]:
    for key, value in FAILOVER_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")  # Easy Auth on: its principal headers are read
    config.current_settings.cache_clear()
    kept = Storage()
    kept.reports[DRILL] = {
        "operation": "drill-security",
        "status": "succeeded",
        "tabletop": {"checklist": CHECKLIST, "proved": ["qlp_app revoked"]},
    }
    monkeypatch.setattr(runtime, "storage", lambda: kept)
    yield kept
    config.current_settings.cache_clear()


def principal(name: str) -> dict[str, str]:
    claims = {"auth_typ": "aad", "claims": [{"typ": "name", "val": name}], "name_typ": "name"}
    return {"x-ms-client-principal": base64.b64encode(json.dumps(claims).encode()).decode()}


def post(body: Any, iid: str = DRILL, who: str = "ops@example.com") -> tuple[int, Any]:
    req = http("POST", f"/api/drills/{iid}/tabletop", body, route_params={"id": iid}, headers=principal(who))
    resp = asyncio.run(call_http(names.HTTP_DRILL_TABLETOP_ANSWER, req))
    return resp.status_code, json.loads(resp.get_body())


def get(iid: str = DRILL) -> tuple[int, Any]:
    req = http("GET", f"/api/drills/{iid}/tabletop", route_params={"id": iid})
    resp = asyncio.run(call_http(names.HTTP_DRILL_TABLETOP, req))
    return resp.status_code, json.loads(resp.get_body())


def test_answers_are_kept_beside_the_report_with_who_gave_them(storage: Storage) -> None:
    status, out = post({"answers": {"1": "The Key Vault alert, 09:12, on-call", "3": "Sign-in logs: SecOps"}})
    assert status == 200, out
    assert storage.report_reads == 1  # the report is read once for a submission
    assert (out["recorded"], out["by"]) == ([1, 3], "ops@example.com")
    assert out["answered"] == 2 and out["open"] == [2, 4, 5, 6] and out["proved"] == ["qlp_app revoked"]
    (doc,) = storage.documents
    assert doc[1].startswith("tabletop-") and doc[1].endswith(".json") and out["document"].endswith(doc[1])
    assert json.loads(storage.documents[doc])["by"] == "ops@example.com"
    assert storage.reports[DRILL]["tabletop"]["checklist"] == CHECKLIST  # the report is never touched

    status, again = post({"answers": {"1": "Also a customer report at 09:20"}}, who="lead@example.com")
    assert status == 200 and again["submissions"] == 2 and len(storage.documents) == 2
    first = again["checklist"][0]
    assert [(a["answer"], a["by"]) for a in first["answers"]] == [
        ("The Key Vault alert, 09:12, on-call", "ops@example.com"),
        ("Also a customer report at 09:20", "lead@example.com"),
    ]  # the later answer is beside the first, not over it
    assert first["status"] == "answered" and again["checklist"][1]["status"] == "for the tabletop"
    status, read = get()
    assert status == 200 and read["checklist"] == again["checklist"] and read["open"] == [2, 4, 5, 6]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answers": {}}, "answers"),
        ({"answers": {"0": "x"}}, "answers"),
        ({"answers": {"one": "x"}}, "answers"),
        ({"answers": {"7": "x"}}, "answers.7"),
        ({"answers": {"2": ""}}, "answers.2"),
        ({"answers": {"2": 5}}, "answers.2"),
        ({"answers": {"2": "x" * 4001}}, "answers.2"),
        ({"answers": {"2": "bell\x07"}}, "answers.2"),
        ({"answers": ["x"]}, "answers"),
        ({"answers": {"1": "x"}, "by": "someone else"}, "by"),  # who answered is never a body field
        ({}, "answers"),
    ],
)
def test_bad_answers_are_refused_naming_the_field_and_nothing_is_written(
    storage: Storage, body: Any, field: str
) -> None:
    status, out = post(body)
    assert (status, out["field"]) == (400, field), out
    assert storage.documents == {}


def test_only_a_security_drill_whose_checklist_is_recorded_takes_answers(storage: Storage) -> None:
    storage.reports["drill-qlp-20261129T130000-c3d4"] = {"operation": "drill-region", "status": "succeeded"}
    storage.reports["drill-qlp-20261129T140000-e5f6"] = {"operation": "drill-security", "status": "running"}
    status, out = post({"answers": {"1": "x"}}, iid="drill-qlp-20261129T130000-c3d4")
    assert status == 409 and "only the security drill has a tabletop" in out["reason"]
    status, out = post({"answers": {"1": "x"}}, iid="drill-qlp-20261129T140000-e5f6")
    assert status == 409 and "not recorded its tabletop checklist yet (it is running)" in out["reason"]
    assert post({"answers": {"1": "x"}}, iid="drill-qlp-20261129T150000-0000")[0] == 404
    status, out = post({"answers": {"1": "x"}}, iid="failover-qlp-20261129T150000-0000")
    assert (status, out["field"]) == (400, "id")
    assert get("drill-qlp-20261129T150000-0000")[0] == 404
    assert storage.documents == {}


def test_unreadable_reports_answer_503_and_write_nothing(storage: Storage) -> None:
    storage.broken = True
    status, out = post({"answers": {"1": "x"}})
    assert status == 503 and out["reason"] == "the reports cannot be read now"
    assert storage.documents == {} and get()[0] == 503
