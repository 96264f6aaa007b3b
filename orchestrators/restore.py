"""The restore plan as a Durable orchestration: a deterministic generator that decides with shared.policy."""

from __future__ import annotations

import azure.durable_functions as df

bp = df.Blueprint()
