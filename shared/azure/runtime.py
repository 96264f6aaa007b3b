"""The composition root of the adapters: one Clients per process, built from this process's settings.

Activities call these functions; tests build adapters directly from Settings instead (no patching).
Each adapter module is imported by the function that builds it, on first use, so importing the app
loads (and, without bytecode caches, compiles) none of them. Those first imports may run on two activity
threads at once; that is safe because the adapter modules import no SDK at module level (SDK imports
take SDK_IMPORT_LOCK) and import one another without cycles (tests/unit/test_app_import.py).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from shared.config import current_secrets, current_settings

if TYPE_CHECKING:
    from shared.azure.clients import Clients
    from shared.azure.containers import ContainersAdapter
    from shared.azure.credentials import CredentialsAdapter
    from shared.azure.database import DatabaseAdapter
    from shared.azure.events import EventsAdapter
    from shared.azure.long_term import LongTermAdapter
    from shared.azure.metrics import MetricsAdapter
    from shared.azure.secrets import SecretsAdapter
    from shared.azure.storage import StorageAdapter
    from shared.azure.traffic import Traffic
    from shared.azure.virtual_endpoints import VirtualEndpointsAdapter


@functools.cache
def clients() -> Clients:
    from shared.azure.clients import Clients

    return Clients(current_settings(), current_secrets())


def database() -> DatabaseAdapter:
    from shared.azure.database import DatabaseAdapter

    return DatabaseAdapter(clients())


def virtual_endpoints() -> VirtualEndpointsAdapter:
    from shared.azure.virtual_endpoints import VirtualEndpointsAdapter

    return VirtualEndpointsAdapter(clients())


def containers() -> ContainersAdapter:
    from shared.azure.containers import ContainersAdapter

    return ContainersAdapter(clients())


def traffic() -> Traffic:
    from shared.azure.traffic import traffic_for

    return traffic_for(clients())


def credentials() -> CredentialsAdapter:
    from shared.azure.credentials import CredentialsAdapter

    return CredentialsAdapter(clients())


def secrets() -> SecretsAdapter:
    from shared.azure.secrets import SecretsAdapter

    return SecretsAdapter(clients())


def metrics() -> MetricsAdapter:
    from shared.azure.metrics import MetricsAdapter

    return MetricsAdapter(clients())


@functools.cache
def storage() -> StorageAdapter:
    from shared.azure.storage import StorageAdapter

    return StorageAdapter(clients())


def events() -> EventsAdapter:
    from shared.azure.events import EventsAdapter

    return EventsAdapter(clients())


def long_term() -> LongTermAdapter:
    from shared.azure.long_term import LongTermAdapter

    return LongTermAdapter(clients())


def reset() -> None:
    """Close and forget the cached clients and settings (tests that change the environment)."""
    if clients.cache_info().currsize:
        clients().close()
    for cached in (current_settings, current_secrets, clients, storage):
        cached.cache_clear()
