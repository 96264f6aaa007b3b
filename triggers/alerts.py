"""Alert intake: the Azure Monitor webhook and Event Grid, normalised to one health signal."""

from __future__ import annotations

import azure.durable_functions as df

bp = df.Blueprint()
