"""Credentials and SDK clients, built from Settings; the only place that knows about the sandbox overrides.

Every SDK import happens inside a method, so importing this module (and the app) loads no Azure SDK.
Clients are built once per process and shared by the adapters. In Azure the credential is
``DefaultAzureCredential`` (managed identity); with ``CONTINUITY_CREDENTIAL=sandbox`` a static bearer
token is used instead, the ARM endpoint and CA bundle come from the settings, and the Key Vault client
skips its challenge-resource check (the sandbox vault is on 127.0.0.1, not *.vault.azure.net).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from shared.azure.imports import SDK_IMPORT_LOCK
from shared.config import Secrets, Settings

T = TypeVar("T")


class StaticTokenCredential:
    """A TokenCredential that always returns one bearer token (the sandbox accepts any value)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        with SDK_IMPORT_LOCK:
            from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        with SDK_IMPORT_LOCK:
            from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self._token, int(time.time()) + 3600)

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "StaticTokenCredential(<hidden>)"


class Clients:
    """Builds and caches the SDK clients for one set of settings."""

    def __init__(self, settings: Settings, secrets: Secrets) -> None:
        self.settings = settings
        self._secrets = secrets
        self._cache: dict[str, Any] = {}
        self._lock = threading.RLock()

    def _cached(self, key: str, build: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close every client built so far (their connection pools); the next use builds new ones."""
        with self._lock:
            built, self._cache = list(self._cache.values()), {}
        for client in built:
            close = getattr(client, "close", None)
            if callable(close):
                close()

    # ---- shared pieces -------------------------------------------------------------------------------
    def credential(self) -> Any:
        """DefaultAzureCredential in Azure; the static sandbox token only when settings say so."""
        return self._cached("credential", self._build_credential)

    def _build_credential(self) -> Any:
        if self.settings.sandbox:
            return StaticTokenCredential(self._secrets.sandbox_token or "")
        with SDK_IMPORT_LOCK:
            from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def transport_options(self) -> dict[str, Any]:
        """Keyword options every SDK client takes: the CA bundle, and quicker retries in the sandbox."""
        options: dict[str, Any] = {}
        if self.settings.ca_bundle:
            options["connection_verify"] = self.settings.ca_bundle
        if self.settings.sandbox:
            options.update(retry_total=12, retry_backoff_factor=0.2, retry_backoff_max=2)
        return options

    def _arm(self, key: str, factory: Callable[..., T]) -> T:
        def build() -> T:
            return factory(
                self.credential(),
                self.settings.subscription_id,
                base_url=self.settings.arm_endpoint,
                **self.transport_options(),
            )

        return self._cached(key, build)

    # ---- management plane ----------------------------------------------------------------------------
    def postgres(self) -> Any:
        with SDK_IMPORT_LOCK:
            from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

        return self._arm("postgres", PostgreSQLManagementClient)

    def cdn(self) -> Any:
        with SDK_IMPORT_LOCK:
            from azure.mgmt.cdn import CdnManagementClient

        return self._arm("cdn", CdnManagementClient)

    def frontdoor(self) -> Any:
        with SDK_IMPORT_LOCK:
            from azure.mgmt.frontdoor import FrontDoorManagementClient

        return self._arm("frontdoor", FrontDoorManagementClient)

    def containers(self) -> Any:
        with SDK_IMPORT_LOCK:
            from azure.mgmt.containerinstance import ContainerInstanceManagementClient

        return self._arm("containers", ContainerInstanceManagementClient)

    def monitor(self) -> Any:
        with SDK_IMPORT_LOCK:
            from azure.mgmt.monitor import MonitorManagementClient

        return self._arm("monitor", MonitorManagementClient)

    # ---- data planes ---------------------------------------------------------------------------------
    def secrets(self) -> Any:
        def build() -> Any:
            with SDK_IMPORT_LOCK:
                from azure.keyvault.secrets import SecretClient

            options = self.transport_options()
            if self.settings.sandbox:
                options["verify_challenge_resource"] = False
            return SecretClient(self.settings.key_vault_url, self.credential(), **options)

        return self._cached("secrets", build)

    def blobs(self) -> Any:
        def build() -> Any:
            with SDK_IMPORT_LOCK:
                from azure.storage.blob import BlobServiceClient

            options = self.transport_options()
            if self._secrets.storage_connection_string:
                return BlobServiceClient.from_connection_string(
                    self._secrets.storage_connection_string, **options
                )
            return BlobServiceClient(self.settings.reports_account_url or "", self.credential(), **options)

        return self._cached("blobs", build)

    def eventgrid(self) -> Any:
        """The Event Grid publisher, or None when no topic is configured."""
        if not self.settings.eventgrid_topic_endpoint:
            return None

        def build() -> Any:
            with SDK_IMPORT_LOCK:
                from azure.core.credentials import AzureKeyCredential

            # The basic-topic client: azure.eventgrid.EventGridPublisherClient wraps this one for basic
            # topics but drops transport options (the CA bundle) on the way.
            with SDK_IMPORT_LOCK:
                from azure.eventgrid._legacy import EventGridPublisherClient

            key = self._secrets.eventgrid_topic_key
            credential = AzureKeyCredential(key) if key else self.credential()
            endpoint = self.settings.eventgrid_topic_endpoint or ""
            return EventGridPublisherClient(endpoint, credential, **self.transport_options())

        return self._cached("eventgrid", build)

    # ---- the backup storage account (long-term backups) ---------------------------------------------
    def storage_management(self) -> Any:
        with SDK_IMPORT_LOCK:
            from azure.mgmt.storage import StorageManagementClient

        return self._arm("storage_management", StorageManagementClient)

    def backup_blobs(self) -> Any:
        """The backup account's blob service with the managed identity (Entra ID, never an account key:
        user delegation keys are issued only to Entra ID callers)."""

        def build() -> Any:
            with SDK_IMPORT_LOCK:
                from azure.storage.blob import BlobServiceClient

            url = self.settings.backup_storage_url or self.settings.reports_account_url or ""
            return BlobServiceClient(url, self.credential(), **self.transport_options())

        return self._cached("backup_blobs", build)

    def database_url_secret(self) -> str:
        """The current database URL from Key Vault (for adapters that connect; never returned further)."""
        from shared.azure.errors import translated

        name = self.settings.database_secret_name
        with translated("read secret", name):
            value = self.secrets().get_secret(name).value
        return str(value or "")
