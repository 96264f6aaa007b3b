"""Activity sending one notification to every configured target (shared/notify.py). Contract in
shared/names.py. Never raises for a target that fails: it is listed under ``failed``.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params, done
from activities.registry import activity
from shared import names
from shared.config import current_secrets, current_settings
from shared.errors import PermanentError

bp = df.Blueprint()


@activity(bp, names.NOTIFY_SEND)
def notify_send(params: dict[str, Any]) -> dict[str, Any]:
    """Send the message to Slack, Teams, the webhook, and PagerDuty when it pages or resolves."""
    from shared import notify  # the sending module loads on first use, not at import

    p = Params(names.NOTIFY_SEND, params)
    try:
        message = notify.Message.from_dict(p.data)
    except ValueError as exc:
        raise PermanentError("validate input of", p.activity, str(exc)) from None
    result = notify.send(message, current_settings(), current_secrets())
    summary = f"sent to {result['sent'] or 'nobody'}; failed {[f['target'] for f in result['failed']]}"
    return done(p.activity, {**result, "message": summary})
