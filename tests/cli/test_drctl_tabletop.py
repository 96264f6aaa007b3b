"""drctl tabletop against a fake API: the checklist with its answers, and --answer N=TEXT recording
answers (a malformed one is refused before anything is sent)."""

from __future__ import annotations

import json

from tests.support.fake_api import FakeApi, drctl

DRILL = "drill-qlp-20261204T013358-d4e8"
PATH = f"/api/drills/{DRILL}/tabletop"
ANSWERED = {"answer": "Scheduled: the Q4 drill", "by": "ops@example.com", "at": "2026-12-04T03:55:12+00:00"}
TABLETOP = {
    "drill": DRILL,
    "checklist": [
        {"item": 1, "text": "How was the exposure detected?", "answers": [ANSWERED], "status": "answered"},
        {"item": 2, "text": "Which credentials were in scope?", "answers": [], "status": "for the tabletop"},
    ],
    "answered": 1,
    "open": [2],
}


def test_tabletop_shows_each_item_with_its_answers_and_the_open_ones(api: FakeApi) -> None:
    api.on("GET", PATH, (200, TABLETOP))
    shown = drctl(api, "tabletop", DRILL)
    assert shown.exit_code == 0, shown.output
    assert "1. How was the exposure detected?" in shown.output
    assert "- Scheduled: the Q4 drill (ops@example.com, " in shown.output
    assert "(for the tabletop)" in shown.output and "answered 1 of 2; open: 2" in shown.output


def test_answer_sends_the_items_and_a_malformed_one_sends_nothing(api: FakeApi) -> None:
    api.on("POST", PATH, (200, {**TABLETOP, "recorded": [2], "by": "ops@example.com"}))
    shown = drctl(api, "tabletop", DRILL, "--answer", "2=qlp_app and its alternate", "--json")
    assert shown.exit_code == 0, shown.output
    assert api.requests[-1].body == {"answers": {"2": "qlp_app and its alternate"}}
    assert json.loads(shown.output)["recorded"] == [2]
    sent = len(api.requests)
    refused = drctl(api, "tabletop", DRILL, "--answer", "two: nothing")
    assert refused.exit_code == 2 and "N=TEXT" in refused.output and len(api.requests) == sent
