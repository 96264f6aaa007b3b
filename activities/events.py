"""Activity publishing CloudEvents to the Event Grid topic. Contract in shared/names.py."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params
from activities.registry import activity
from shared import names
from shared.azure import runtime

bp = df.Blueprint()


@activity(bp, names.EVENTS_PUBLISH)
def events_publish(params: dict[str, Any]) -> dict[str, Any]:
    """Publish one CloudEvent (type prefixed ``Continuity.``); ``published: false`` when no topic is set.

    Pass a stable ``id`` so that a retried publish is the same event for subscribers.
    """
    p = Params(names.EVENTS_PUBLISH, params)
    return runtime.events().publish(p.text("type"), p.text("subject"), p.mapping("data"), p.opt_text("id"))
