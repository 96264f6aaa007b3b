"""The dashboard in a real browser: Debian's chromium driven by Playwright (``executable_path``, no browser
download), against devhost serving the app on a fresh sandbox (one for the module: the tests run in
order, the approval last because it fails the estate over). Screenshots go to .artifacts/browser/.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.app_settings import app_settings
from tests.fixtures.devhost import ROOT, DevhostError, DevhostProcess
from tests.fixtures.sandbox import start_sandbox, stop_sandbox
from tests.support.browser import ARTIFACTS, CHROMIUM, FLAGS, SETTINGS, World


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    sandbox = start_sandbox()
    work = tmp_path_factory.mktemp("browser-devhost")
    overrides = {f"CONTINUITY_{k}": v for k, v in SETTINGS.items()}
    env = app_settings(sandbox.endpoints, overrides=overrides)
    host = DevhostProcess(
        app="function_app", cwd=ROOT, env=env, state_dir=work / "state", log_path=work / "devhost.log"
    )
    try:
        host.start()
        yield World(sandbox, host)
    finally:
        with contextlib.suppress(DevhostError):
            host.stop()
        stop_sandbox(sandbox.state_dir)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab (its own session storage); a screenshot of it is kept whatever the outcome."""
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    tab = context.new_page()
    tab.problems = []  # console errors and page errors (a CSP violation is one); the first call without
    # a key is answered 401 on purpose (that is how the page knows to ask for it)
    expected = "the server responded with a status of 401"
    tab.on(
        "console",
        lambda m: tab.problems.append(m.text) if m.type == "error" and expected not in m.text else None,
    )
    tab.on("pageerror", lambda e: tab.problems.append(str(e)))
    try:
        yield tab
    finally:
        with contextlib.suppress(Exception):
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"), full_page=True)
        context.close()
