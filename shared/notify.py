"""Notifications: one message shape, rendered for Slack, Teams, PagerDuty Events API v2 and a generic webhook.

``Message`` is what orchestrations say; ``render_<target>`` turns it into each target's JSON;
``send`` posts it to every configured target and reports, per target, whether it arrived. Sending never
raises: a notification that fails is reported, it does not fail the run. PagerDuty receives only pages
(``page=True``), acknowledgements and resolves. Webhook URLs and the routing key are secrets: they are
never put in results, errors or logs, and text that looks like a connection string is redacted before it
leaves.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.config import Secrets, Settings

SEVERITIES = ("info", "warning", "error", "critical")
ACTIONS = ("trigger", "acknowledge", "resolve")  # PagerDuty Events API v2 event_action
_COLOURS = {"info": "good", "warning": "warning", "error": "attention", "critical": "attention"}
_EMOJI = {
    "info": ":information_source:",
    "warning": ":warning:",
    "error": ":x:",
    "critical": ":rotating_light:",
}
_SECRETISH = re.compile(r"(postgres(ql)?://\S+|(password|pwd|accountkey|sig|key)=[^\s;&]+)", re.IGNORECASE)

# A port for sending: (url, body, headers, timeout) -> HTTP status. Tests pass a local receiver's URL
# through settings instead of replacing this.
Post = Callable[[str, bytes, Mapping[str, str], float], int]


def redact(text: str) -> str:
    """Replace anything that looks like a connection string or key in free text."""
    return _SECRETISH.sub("<redacted>", text)


@dataclass(frozen=True)
class Message:
    """What happened, once, for every target."""

    title: str
    text: str
    severity: str = "info"
    event: str = ""
    run_id: str = ""
    dedup_key: str = ""
    action: str = "trigger"
    fields: dict[str, str] = field(default_factory=dict)
    link: str = ""
    page: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Build from activity input; raises ValueError naming every bad key."""
        problems = [f"{k}: unknown key" for k in data if k not in {f.name for f in dataclasses.fields(cls)}]
        problems += [
            f"{k}: required text"
            for k in ("title", "text")
            if not isinstance(data.get(k), str) or not data[k]
        ]
        if data.get("severity", "info") not in SEVERITIES:
            problems.append("severity: must be one of " + ", ".join(SEVERITIES))
        if data.get("action", "trigger") not in ACTIONS:
            problems.append("action: must be trigger, acknowledge or resolve")
        if not isinstance(data.get("fields", {}), dict):
            problems.append("fields: must be an object")
        if problems:
            raise ValueError("; ".join(problems))
        values = dict(data)
        values["fields"] = {str(k): str(v) for k, v in (data.get("fields") or {}).items()}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def safe(self) -> Message:
        """The same message with secret-looking text redacted."""
        fields = {k: redact(v) for k, v in self.fields.items()}
        return dataclasses.replace(self, title=redact(self.title), text=redact(self.text), fields=fields)


# ---- renderers -------------------------------------------------------------------------------------
def render_slack(msg: Message) -> dict[str, Any]:
    header = f"{_EMOJI[msg.severity]} {msg.title}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": msg.text[:3000]}},
    ]
    if msg.fields:
        items = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"[:2000]} for k, v in list(msg.fields.items())[:10]]
        blocks.append({"type": "section", "fields": items})
    context = " · ".join(x for x in (msg.event, f"run {msg.run_id}" if msg.run_id else "", msg.link) if x)
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": f"{header}: {msg.text}"[:3000], "blocks": blocks}


def render_teams(msg: Message) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": msg.title,
            "weight": "Bolder",
            "size": "Medium",
            "color": _COLOURS[msg.severity],
        },
        {"type": "TextBlock", "text": msg.text, "wrap": True},
    ]
    facts = [{"title": k, "value": v} for k, v in msg.fields.items()]
    if msg.run_id:
        facts.append({"title": "run", "value": msg.run_id})
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if msg.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open run", "url": msg.link}]
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    return {"type": "message", "attachments": [attachment]}


def dedup_key_of(msg: Message, app: str) -> str:
    return msg.dedup_key or f"continuity-{app}-{msg.run_id or msg.event or 'general'}"


def render_pagerduty(msg: Message, routing_key: str, app: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": msg.action,
        "dedup_key": dedup_key_of(msg, app),
    }
    if msg.action != "trigger":  # acknowledge / resolve: the dedup key says which alert
        return event
    details = {"text": msg.text, **msg.fields, **({"run_id": msg.run_id} if msg.run_id else {})}
    event["payload"] = {
        "summary": msg.title[:1024],
        "source": f"continuity/{app}",
        "severity": msg.severity,
        "component": app,
        "class": msg.event or "continuity",
        "custom_details": details,
    }
    if msg.link:
        event["links"] = [{"href": msg.link, "text": "Continuity run"}]
    return event


def render_webhook(msg: Message, app: str) -> dict[str, Any]:
    return {"source": f"continuity/{app}", **msg.to_dict()}


# ---- sending ---------------------------------------------------------------------------------------
def urllib_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _deliver(post: Post, url: str, payload: dict[str, Any], timeout: float) -> str | None:
    """None when delivered; else the reason (never the URL). One retry for 429 / 5xx / network errors."""
    body = json.dumps(payload).encode()
    reason = ""
    for attempt in range(2):
        try:
            status = post(url, body, {"Content-Type": "application/json"}, timeout)
        except (OSError, TimeoutError) as exc:
            reason = f"{type(exc).__name__}"
        else:
            if 200 <= status < 300:
                return None
            reason = f"HTTP {status}"
            if status != 429 and status < 500:
                return reason
        if attempt == 0:
            time.sleep(0.5)
    return reason


def targets_for(msg: Message, settings: Settings, secrets: Secrets) -> dict[str, tuple[str, dict[str, Any]]]:
    """target -> (url, payload) for every configured target this message goes to."""
    app = settings.app_name
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    if secrets.slack_webhook_url:
        out["slack"] = (secrets.slack_webhook_url, render_slack(msg))
    if secrets.teams_webhook_url:
        out["teams"] = (secrets.teams_webhook_url, render_teams(msg))
    if secrets.webhook_url:
        out["webhook"] = (secrets.webhook_url, render_webhook(msg, app))
    if secrets.pagerduty_routing_key and (msg.page or msg.action != "trigger"):
        payload = render_pagerduty(msg, secrets.pagerduty_routing_key, app)
        out["pagerduty"] = (settings.pagerduty_events_url, payload)
    return out


def send(msg: Message, settings: Settings, secrets: Secrets, *, post: Post = urllib_post) -> dict[str, Any]:
    """Send to every configured target; returns {sent, failed: [{target, error}], skipped}."""
    safe = msg.safe()
    chosen = targets_for(safe, settings, secrets)
    configured = [t for t in ("slack", "teams", "pagerduty", "webhook") if t in settings.notify_targets]
    sent: list[str] = []
    failed: list[dict[str, str]] = []
    for target, (url, payload) in chosen.items():
        error = _deliver(post, url, payload, settings.notify_timeout_seconds)
        if error is None:
            sent.append(target)
        else:
            failed.append({"target": target, "error": error})
    skipped = [t for t in configured if t not in chosen]
    return {"sent": sent, "failed": failed, "skipped": skipped}
