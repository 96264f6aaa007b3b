"""The composition root of the adapters: one Clients per process, built from this process's settings.

Activities call these functions; tests build adapters directly from Settings instead (no patching).
"""

from __future__ import annotations

import functools

from shared.azure.clients import Clients
from shared.azure.containers import ContainersAdapter
from shared.azure.database import DatabaseAdapter
from shared.azure.events import EventsAdapter
from shared.azure.metrics import MetricsAdapter
from shared.azure.secrets import SecretsAdapter
from shared.azure.storage import StorageAdapter
from shared.azure.traffic import Traffic, traffic_for
from shared.config import current_secrets, current_settings


@functools.cache
def clients() -> Clients:
    return Clients(current_settings(), current_secrets())


def database() -> DatabaseAdapter:
    return DatabaseAdapter(clients())


def containers() -> ContainersAdapter:
    return ContainersAdapter(clients())


def traffic() -> Traffic:
    return traffic_for(clients())


def secrets() -> SecretsAdapter:
    return SecretsAdapter(clients())


def metrics() -> MetricsAdapter:
    return MetricsAdapter(clients())


@functools.cache
def storage() -> StorageAdapter:
    return StorageAdapter(clients())


def events() -> EventsAdapter:
    return EventsAdapter(clients())


def reset() -> None:
    """Close and forget the cached clients and settings (tests that change the environment)."""
    if clients.cache_info().currsize:
        clients().close()
    for cached in (current_settings, current_secrets, clients, storage):
        cached.cache_clear()
