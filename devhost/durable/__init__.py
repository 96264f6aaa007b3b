"""devhost's Durable Functions engine: SDK replay protocol, SQLite persistence, the extension's HTTP API."""

from __future__ import annotations

from devhost.durable.api import DurableEngine

__all__ = ["DurableEngine"]
