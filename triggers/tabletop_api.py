"""The security drill's tabletop through the operator API: the people at the table answer the checklist
the drill recorded in its report, and read it back beside what the drill proved.

``POST /api/drills/{id}/tabletop {"answers": {"<item number>": "<answer>"}}`` records one submission as a
document of its own beside the drill's report (``runs/<id>/tabletop-<UTC stamp>-<token>.json``): neither
the report nor an earlier answer is ever overwritten, and who answered is the authenticated principal,
never a body field. ``GET`` answers the checklist with every answer given to each item, and the items no
one has answered yet (shared/policy/security.py ``tabletop_record``).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import names, policy
from shared.azure import runtime
from shared.config import current_settings
from triggers.api import endpoint
from triggers.web import BadRequest, Body, Field, actor_of, json_response, run_id_of

bp = df.Blueprint()

ANSWERS = Body(
    Field("answers", "object", required=True, doc='{"<item number>": "<answer>"}, items numbered from 1')
)
ANSWER_MAX = 4000  # characters of one answer
DOCUMENT = "tabletop-"  # the names of the submissions beside the report
SECURITY_DRILL = "drill-security"
READS = {
    200: "the checklist, each item with its answers, and the open items",
    400: "invalid request: the field and the problem",
    404: "no such drill",
    409: "not a security drill, or its checklist is not recorded yet",
    503: "the reports cannot be read now",
}


class Refused(Exception):
    """The drill's report does not allow a tabletop (404 or 409, with the reason)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason

    def response(self, iid: str) -> func.HttpResponse:
        error = "not found" if self.status == 404 else "conflict"
        return json_response({"error": error, "id": iid, "reason": self.reason}, self.status)


def drill_id_of(req: func.HttpRequest) -> str:
    value = run_id_of(req)
    if not value.startswith("drill-"):
        raise BadRequest("id", "must be a drill's run id (drill-<app>-<stamp>-<token>)")
    return value


def answers_of(raw: dict[str, Any]) -> dict[int, str]:
    """The answers by item number; raises BadRequest naming the first bad one."""
    if not raw:
        raise BadRequest("answers", "must answer at least one item")
    out: dict[int, str] = {}
    for key, text in raw.items():
        if not re.fullmatch(r"[1-9][0-9]{0,2}", key):
            shown = key if len(key) <= 40 and key.isprintable() else "an item"
            raise BadRequest("answers", f"{shown!r} is not an item number (1, 2, ...)")
        where = f"answers.{key}"
        if not isinstance(text, str) or not text.strip():
            raise BadRequest(where, "must be a non-empty string")
        if len(text) > ANSWER_MAX or any(ord(c) < 32 and c not in "\t\n\r" for c in text):
            raise BadRequest(where, f"must be at most {ANSWER_MAX} printable characters")
        out[int(key)] = text.strip()
    return out


def checklist_of(iid: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The security drill's report and its tabletop checklist; raises Refused."""
    found = runtime.storage().read_report(iid)
    report = found.get("report") if found.get("found") else None
    if not isinstance(report, dict):
        raise Refused(404, f"no report of a drill {iid}")
    if report.get("operation") != SECURITY_DRILL:
        what = f"{iid} is a {report.get('operation')} run"
        raise Refused(409, f"{what}: only the security drill has a tabletop")
    checklist = (report.get("tabletop") or {}).get("checklist")
    if not isinstance(checklist, list) or not checklist:
        status = report.get("status") or "running"
        raise Refused(409, f"{iid} has not recorded its tabletop checklist yet (it is {status})")
    return report, checklist


def submissions_of(iid: str) -> list[dict[str, Any]]:
    """The answers given so far, oldest first (a document that is not a submission is passed over)."""
    out = []
    for _, text in runtime.storage().read_documents(iid, DOCUMENT):
        try:
            sub = json.loads(text)
        except ValueError:
            continue
        if isinstance(sub, dict) and isinstance(sub.get("answers"), dict):
            out.append(sub)
    return out


def tabletop_view(
    iid: str, found: tuple[dict[str, Any], list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The tabletop as it stands; ``found``: the report and checklist already read (``checklist_of``)."""
    report, checklist = found or checklist_of(iid)
    record = policy.tabletop_record(checklist, submissions_of(iid))
    proved = list((report.get("tabletop") or {}).get("proved") or [])
    return {"drill": iid, "status": report.get("status"), "proved": proved, **record}


def answer(iid: str, answers: dict[int, str], by: str) -> dict[str, Any]:
    """Record one submission (after the checklist allows each item); the tabletop as it now stands."""
    found = checklist_of(iid)
    checklist = found[1]
    beyond = [n for n in answers if n > len(checklist)]
    if beyond:
        raise BadRequest(f"answers.{beyond[0]}", f"the checklist has {len(checklist)} items")
    now = datetime.now(UTC)
    name = f"{DOCUMENT}{now:%Y%m%dt%H%M%S%f}-{uuid.uuid4().hex[:6]}.json"
    sub = {"drill": iid, "by": by, "at": now.isoformat(), "answers": {str(n): t for n, t in answers.items()}}
    kept = current_settings().compliance_retention_years  # as long as the drill's report
    written = runtime.storage().write_document(
        iid, name, json.dumps(sub, ensure_ascii=False), retain_years=kept
    )
    view = tabletop_view(iid, found)  # the report read once: a submission never changes it
    return {**view, "recorded": sorted(answers), "by": by, "document": written["blob"]}


async def _answered(iid: str, work: Any) -> func.HttpResponse:
    """``work()`` in a thread, as JSON; a refusal as its 404 / 409 (a BadRequest goes to the route's
    guard), storage that cannot be reached as 503."""
    try:
        return json_response(await asyncio.to_thread(work))
    except Refused as refused:
        return refused.response(iid)
    except BadRequest:
        raise
    except Exception:
        return json_response({"error": "unavailable", "reason": "the reports cannot be read now"}, 503)


@endpoint(
    bp,
    names.HTTP_DRILL_TABLETOP,
    "GET",
    "drills/{id}/tabletop",
    client=False,
    responses=READS,
    tag="drills",
    summary="The security drill's tabletop: the checklist, each item's answers, what the drill proved",
)
async def http_drill_tabletop(req: func.HttpRequest) -> func.HttpResponse:
    iid = drill_id_of(req)
    return await _answered(iid, lambda: tabletop_view(iid))


@endpoint(
    bp,
    names.HTTP_DRILL_TABLETOP_ANSWER,
    "POST",
    "drills/{id}/tabletop",
    body=ANSWERS,
    client=False,
    responses={**READS, 200: "recorded: the tabletop as it now stands, and who answered", 413: "too large"},
    tag="drills",
    summary="Answer items of the security drill's tabletop checklist (each answer kept, never replaced)",
)
async def http_drill_tabletop_answer(req: func.HttpRequest) -> func.HttpResponse:
    iid = drill_id_of(req)
    answers = answers_of(ANSWERS.parse(req)["answers"])
    by = actor_of(req)
    return await _answered(iid, lambda: answer(iid, answers, by))
