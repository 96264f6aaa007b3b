"""Activities for traffic: thin, idempotent steps over one adapter in shared/azure/."""

from __future__ import annotations

import azure.durable_functions as df

bp = df.Blueprint()
