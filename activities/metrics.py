"""Activities for Azure Monitor metrics. Contracts (input -> output keys) are in shared/names.py."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params
from activities.registry import activity
from shared import names
from shared.azure import runtime

bp = df.Blueprint()


@activity(bp, names.METRICS_GET_WINDOW)
def metrics_get_window(params: dict[str, Any]) -> dict[str, Any]:
    """Metrics of a target over the last ``minutes`` (default 5) and a baseline window before it
    (``baseline_minutes``, default 0 = none). Read-only; a metric without data is None."""
    from shared.azure.metrics import TARGETS  # the adapter module loads on first use, not at import

    p = Params(names.METRICS_GET_WINDOW, params)
    target = p.choice("target", TARGETS)
    return runtime.metrics().get_window(
        target,
        p.opt_text("name"),
        p.opt_text("resource_group"),
        minutes=p.number("minutes", 5),
        baseline_minutes=p.number("baseline_minutes", 0),
    )
