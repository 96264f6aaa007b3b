"""The app's version, reported by /api/health and in every run report."""

from __future__ import annotations

VERSION = "0.1.0"
