"""The restore-test plan as a Durable orchestration: a deterministic generator deciding with shared.policy."""

from __future__ import annotations

import azure.durable_functions as df

bp = df.Blueprint()
