"""drctl tests: Rich reads COLUMNS once, when cli.core is first imported (perhaps by another test file in
the same worker), so every test here sets the consoles' width itself: wide enough for every table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cli import core
from tests.support.fake_api import FakeApi


@pytest.fixture(autouse=True)
def wide_consoles() -> Iterator[None]:
    widths = [(console, console.width) for console in (core.out, core.err)]
    for console, _ in widths:
        console.width = 250
    yield
    for console, width in widths:
        console.width = width


@pytest.fixture
def api() -> Iterator[FakeApi]:
    """The fake operator API drctl talks to in a test."""
    fake = FakeApi()
    yield fake
    fake.close()
