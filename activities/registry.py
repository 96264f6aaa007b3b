"""How activities are declared: ``@activity(bp, names.X)`` registers a function as the Durable activity
``X`` and keeps it callable in-process, so an estate read (shared.estate) runs the same code whether a
plan calls it as an activity or a trigger reads the estate directly (activities.inprocess)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

ActivityFunction = Callable[[dict[str, Any]], dict[str, Any]]
IN_PROCESS: dict[str, ActivityFunction] = {}


def activity(bp: df.Blueprint, name: str) -> Callable[[ActivityFunction], Any]:
    """Register ``function`` as the activity ``name`` on ``bp`` (its input binding is ``params``)."""

    def register(function: ActivityFunction) -> Any:
        IN_PROCESS[name] = function
        return bp.function_name(name)(bp.activity_trigger(input_name="params")(function))

    return register
