"""Fixtures for the activity integration tests: the app's settings pointed at the session sandbox, and
activities called as the host calls them (tests/support/activities.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.app_settings import app_settings
from sandbox.client import SandboxClient
from tests.support.activities import Activity, caller


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
