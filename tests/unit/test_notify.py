"""Notifications: one message rendered per target, and sent end to end to a local HTTP receiver."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from shared import notify
from shared.config import Secrets, load_secrets, load_settings
from tests.support.settings import env

ROUTING_KEY = "R0UT1NGKEY0123456789"


@dataclass
class Receiver:
    """An aiohttp server on 127.0.0.1:<free port> in a thread, recording every POST."""

    url: str = ""
    received: list[tuple[str, Any]] = field(default_factory=list)
    statuses: dict[str, list[int]] = field(default_factory=dict)  # path -> statuses to answer, in order

    def bodies(self, path: str) -> list[Any]:
        return [body for p, body in self.received if p == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def handle(request: web.Request) -> web.Response:
        rec.received.append((request.path, await request.json()))
        queue = rec.statuses.get(request.path) or [202]
        status = queue.pop(0) if len(queue) > 1 else queue[0]
        return web.Response(status=status, text="ok")

    async def start() -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        rec.url = f"http://127.0.0.1:{port}"
        runner_box.append(runner)
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    assert started.wait(10)
    try:
        yield rec
    finally:
        asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def configured(rec: Receiver, **extra: str) -> tuple[Any, Secrets]:
    environment = env(
        SLACK_WEBHOOK_URL=f"{rec.url}/slack/T000/B000/XXXX",
        TEAMS_WEBHOOK_URL=f"{rec.url}/teams",
        WEBHOOK_URL=f"{rec.url}/hook",
        PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        PAGERDUTY_EVENTS_URL=f"{rec.url}/v2/enqueue",
        NOTIFY_TIMEOUT_SECONDS="5",
        **extra,
    )
    return load_settings(environment), load_secrets(environment)


MESSAGE = notify.Message(
    title="Failover started",
    text="uksouth is down; promoting qlp-db-ukwest",
    severity="critical",
    event="started",
    run_id="failover-qlp-1",
    fields={"region": "uksouth", "lag": "2.1 s"},
    link="https://continuity.example/api/runs/failover-qlp-1",
    page=True,
)


# ---- rendering -------------------------------------------------------------------------------------
def test_slack_rendering_has_header_text_fields_and_context() -> None:
    payload = notify.render_slack(MESSAGE)
    assert payload["text"].startswith(":rotating_light: Failover started: uksouth is down")
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds == ["header", "section", "section", "context"]
    assert {"type": "mrkdwn", "text": "*region*\nuksouth"} in payload["blocks"][2]["fields"]
    assert "run failover-qlp-1" in payload["blocks"][3]["elements"][0]["text"]


def test_teams_rendering_is_an_adaptive_card_with_facts_and_link() -> None:
    payload = notify.render_teams(MESSAGE)
    card = payload["attachments"][0]["content"]
    assert payload["type"] == "message" and card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "Failover started" and card["body"][0]["color"] == "attention"
    assert {"title": "run", "value": "failover-qlp-1"} in card["body"][2]["facts"]
    assert card["actions"][0]["url"] == MESSAGE.link


def test_pagerduty_trigger_and_resolve_share_the_dedup_key() -> None:
    trigger = notify.render_pagerduty(MESSAGE, ROUTING_KEY, "qlp")
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == "continuity-qlp-failover-qlp-1"
    assert trigger["payload"]["severity"] == "critical" and trigger["payload"]["source"] == "continuity/qlp"
    assert trigger["payload"]["custom_details"]["lag"] == "2.1 s"
    resolve = notify.render_pagerduty(
        notify.Message(title="t", text="x", run_id="failover-qlp-1", action="resolve"), ROUTING_KEY, "qlp"
    )
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": trigger["dedup_key"],
    }


def test_message_from_dict_names_every_bad_key() -> None:
    with pytest.raises(ValueError) as caught:
        notify.Message.from_dict({"title": "", "severity": "loud", "action": "shout", "colour": "red"})
    text = str(caught.value)
    for part in ("colour: unknown key", "title: required", "text: required", "severity:", "action:"):
        assert part in text
    assert notify.Message.from_dict(MESSAGE.to_dict()) == MESSAGE


# ---- sending ---------------------------------------------------------------------------------------
def test_a_page_reaches_every_target_with_its_own_shape(receiver: Receiver) -> None:
    settings, secrets = configured(receiver)
    result = notify.send(MESSAGE, settings, secrets)
    assert result == {"sent": ["slack", "teams", "webhook", "pagerduty"], "failed": [], "skipped": []}
    assert receiver.bodies("/slack/T000/B000/XXXX")[0]["blocks"][0]["type"] == "header"
    assert (
        receiver.bodies("/teams")[0]["attachments"][0]["contentType"]
        == "application/vnd.microsoft.card.adaptive"
    )
    assert receiver.bodies("/hook")[0]["run_id"] == "failover-qlp-1"
    assert receiver.bodies("/v2/enqueue")[0]["routing_key"] == ROUTING_KEY


def test_a_non_paging_message_skips_pagerduty(receiver: Receiver) -> None:
    settings, secrets = configured(receiver)
    result = notify.send(notify.Message(title="Step done", text="promoted"), settings, secrets)
    assert result["sent"] == ["slack", "teams", "webhook"] and result["skipped"] == ["pagerduty"]
    assert receiver.bodies("/v2/enqueue") == []


def test_resolve_goes_to_pagerduty_with_the_same_dedup_key(receiver: Receiver) -> None:
    settings, secrets = configured(receiver)
    notify.send(MESSAGE, settings, secrets)
    notify.send(
        notify.Message(title="Recovered", text="ok", run_id="failover-qlp-1", action="resolve"),
        settings,
        secrets,
    )
    trigger, resolve = receiver.bodies("/v2/enqueue")
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"]


def test_server_errors_are_retried_once_and_reported_without_the_url(receiver: Receiver) -> None:
    receiver.statuses["/teams"] = [503, 503]
    receiver.statuses["/hook"] = [500, 200]
    receiver.statuses["/slack/T000/B000/XXXX"] = [400]
    settings, secrets = configured(receiver)
    result = notify.send(notify.Message(title="t", text="x"), settings, secrets)
    assert result["sent"] == ["webhook"]
    assert result["failed"] == [
        {"target": "slack", "error": "HTTP 400"},
        {"target": "teams", "error": "HTTP 503"},
    ]
    assert len(receiver.bodies("/teams")) == 2 and len(receiver.bodies("/hook")) == 2
    assert len(receiver.bodies("/slack/T000/B000/XXXX")) == 1  # 4xx is not retried
    assert "XXXX" not in json.dumps(result) and receiver.url not in json.dumps(result)


def test_an_unreachable_target_is_reported_not_raised() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    environment = env(WEBHOOK_URL=f"{dead}/hook", NOTIFY_TIMEOUT_SECONDS="2")
    result = notify.send(
        notify.Message(title="t", text="x"), load_settings(environment), load_secrets(environment)
    )
    assert result["sent"] == [] and result["failed"][0]["target"] == "webhook"
    assert dead not in json.dumps(result)


def test_connection_strings_in_text_are_redacted_before_sending(receiver: Receiver) -> None:
    settings, secrets = configured(receiver)
    leaky = notify.Message(
        title="t",
        text="failed to reach postgresql://qlp_app:hunter2@db:5432/qlp_db",
        fields={"k": "AccountKey=abc=="},
    )
    notify.send(leaky, settings, secrets)
    body = json.dumps(receiver.received)
    assert "hunter2" not in body and "abc==" not in body and "<redacted>" in body


def test_notify_activity_sends_with_the_process_settings(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from activities import notify as notify_activity
    from shared.azure import runtime

    environment = env(WEBHOOK_URL=f"{receiver.url}/hook")
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    runtime.reset()
    try:
        send = notify_activity.notify_send._function.get_user_function()
        result = send({"title": "Drill done", "text": "restore test passed", "run_id": "drill-1"})
        assert result["sent"] == ["webhook"] and receiver.bodies("/hook")[0]["title"] == "Drill done"
        with pytest.raises(Exception, match=r"^permanent: validate input of notify_send: .*severity"):
            send({"title": "x", "text": "y", "severity": "loud"})
    finally:
        runtime.reset()
