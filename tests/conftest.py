"""Shared pytest configuration: the repo root is importable as the Functions host makes it."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Fixtures live in their own modules, one per thing they start.
pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.devhost"]
