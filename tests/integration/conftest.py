"""Fixtures for the activity integration tests: the app's settings pointed at a sandbox, and a way to
call activities exactly as the host does (the registered user function with a JSON dict)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sandbox.app_settings import app_settings
from sandbox.client import SandboxClient
from shared.azure import runtime

Activity = Callable[..., dict[str, Any]]


def activity_functions() -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    """Activity name -> its user function, read from the blueprints (not from the app, whose
    get_functions() may run only once per process)."""
    from activities import containers, database, events, metrics, notify, probe, secrets, storage, traffic

    found = {}
    for module in (containers, database, events, metrics, notify, probe, secrets, storage, traffic):
        for value in vars(module).values():
            function = getattr(value, "_function", None)
            if function is not None:
                found[function.get_function_name()] = function.get_user_function()
    return found


@contextmanager
def app_environment(values: dict[str, str]) -> Iterator[None]:
    """The process environment of a host configured with ``values`` (restored afterwards)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    runtime.reset()
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        runtime.reset()


def caller(values: dict[str, str]) -> Activity:
    functions = activity_functions()

    def call(activity: str, /, **params: Any) -> dict[str, Any]:
        with app_environment(values):
            return functions[activity](params)

    return call


@pytest.fixture(scope="session")
def sandbox_values(sandbox: SandboxClient) -> dict[str, str]:
    return app_settings(sandbox.endpoints)


@pytest.fixture
def act(sandbox_values: dict[str, str]) -> Activity:
    """``act(names.X, **params)`` runs activity X against the session sandbox."""
    return caller(sandbox_values)


@pytest.fixture
def cleanup_backups(sandbox: SandboxClient, sandbox_values: dict[str, str]) -> Iterator[list[str]]:
    """Names of on-demand backups of the primary a test creates; deleted afterwards, so the shared
    sandbox keeps only its automatic backups."""
    from shared.azure.clients import Clients
    from shared.config import load_secrets, load_settings

    created: list[str] = []
    yield created
    clients = Clients(load_settings(sandbox_values), load_secrets(sandbox_values))
    ops = clients.postgres().backups_automatic_and_on_demand
    rg, server = sandbox.endpoints["resource_groups"]["primary"], sandbox.endpoints["servers"]["primary"]
    for name in created:
        ops.begin_delete(rg, server, name).result()
    clients.postgres().close()
