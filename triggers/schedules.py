"""Timers: backup watch, readiness, restore test, drill schedule, stuck-run watchdog."""

from __future__ import annotations

import azure.durable_functions as df

bp = df.Blueprint()
