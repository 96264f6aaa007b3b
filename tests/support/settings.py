"""Settings for unit tests: two small estates' environments and their Settings as orchestration input."""

from __future__ import annotations

from typing import Any

from shared.config import PREFIX, load_settings

# The failover tests' estate (short names).
FAILOVER_ENV = {
    "CONTINUITY_SUBSCRIPTION_ID": "sub",
    "CONTINUITY_PRIMARY_RESOURCE_GROUP": "rg-south",
    "CONTINUITY_SECONDARY_RESOURCE_GROUP": "rg-west",
    "CONTINUITY_PRIMARY_SERVER": "pg-south",
    "CONTINUITY_REPLICA_SERVER": "pg-west",
    "CONTINUITY_CONTAINER_GROUP_BLUE": "aci-blue",
    "CONTINUITY_CONTAINER_GROUP_GREEN": "aci-green",
    "CONTINUITY_CONTAINER_GROUP_STANDBY": "aci-standby",
    "CONTINUITY_FRONTDOOR_RESOURCE_GROUP": "rg-fd",
    "CONTINUITY_FRONTDOOR_PROFILE": "fd",
    "CONTINUITY_FRONTDOOR_ENDPOINT": "ep",
    "CONTINUITY_FRONTDOOR_ROUTE": "route",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_BLUE": "og-blue",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_GREEN": "og-green",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_STANDBY": "og-standby",
    "CONTINUITY_KEY_VAULT_URL": "https://kv.example",
    "CONTINUITY_PUBLIC_URL": "https://app.example",
    "CONTINUITY_REPORTS_ACCOUNT_URL": "https://blob.example",
    "CONTINUITY_GRACE_PERIOD_SECONDS": "600",
    "CONTINUITY_CONFIRM_INTERVAL_SECONDS": "10",
}

# The backup tests' estate (the sandbox's names).
BACKUP_ENV = {
    "CONTINUITY_SUBSCRIPTION_ID": "sub-1",
    "CONTINUITY_PRIMARY_RESOURCE_GROUP": "rg-uksouth",
    "CONTINUITY_SECONDARY_RESOURCE_GROUP": "rg-ukwest",
    "CONTINUITY_PRIMARY_SERVER": "qlp-db-uksouth",
    "CONTINUITY_REPLICA_SERVER": "qlp-db-ukwest",
    "CONTINUITY_CONTAINER_GROUP_BLUE": "qlp-blue",
    "CONTINUITY_CONTAINER_GROUP_GREEN": "qlp-green",
    "CONTINUITY_CONTAINER_GROUP_STANDBY": "qlp-standby",
    "CONTINUITY_FRONTDOOR_RESOURCE_GROUP": "rg-uksouth",
    "CONTINUITY_FRONTDOOR_PROFILE": "qlp-fd",
    "CONTINUITY_FRONTDOOR_ENDPOINT": "qlp-ep",
    "CONTINUITY_FRONTDOOR_ROUTE": "qlp-route",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_BLUE": "og-blue",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_GREEN": "og-green",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_STANDBY": "og-standby",
    "CONTINUITY_KEY_VAULT_URL": "https://kv.example",
    "CONTINUITY_PUBLIC_URL": "https://qlp.example",
    "CONTINUITY_REPORTS_ACCOUNT_URL": "https://reports.example",
}


def settings_of(base: dict[str, str], **overrides: str) -> dict[str, Any]:
    """``base`` with overrides (``grace_period_seconds="0"``), as Settings.to_dict()."""
    env = dict(base)
    env.update({f"CONTINUITY_{k.upper()}": v for k, v in overrides.items()})
    return load_settings(env).to_dict()


def failover_settings(**overrides: str) -> dict[str, Any]:
    return settings_of(FAILOVER_ENV, **overrides)


def backup_settings(**overrides: str) -> dict[str, Any]:
    return settings_of(BACKUP_ENV, **overrides)


# The smallest valid environment: every required key, Azure-style names.
REQUIRED = {
    "CONTINUITY_SUBSCRIPTION_ID": "6f1c2a3e-0c0d-4e1e-9a7b-5c0de0c0ffee",
    "CONTINUITY_PRIMARY_RESOURCE_GROUP": "rg-qlp-uksouth",
    "CONTINUITY_SECONDARY_RESOURCE_GROUP": "rg-qlp-ukwest",
    "CONTINUITY_PRIMARY_SERVER": "qlp-db-uksouth",
    "CONTINUITY_REPLICA_SERVER": "qlp-db-ukwest",
    "CONTINUITY_CONTAINER_GROUP_BLUE": "ci-qlp-uksouth-blue",
    "CONTINUITY_CONTAINER_GROUP_GREEN": "ci-qlp-uksouth-green",
    "CONTINUITY_CONTAINER_GROUP_STANDBY": "ci-qlp-ukwest-standby",
    "CONTINUITY_FRONTDOOR_RESOURCE_GROUP": "rg-qlp-uksouth",
    "CONTINUITY_FRONTDOOR_PROFILE": "afd-qlp",
    "CONTINUITY_FRONTDOOR_ENDPOINT": "qlp",
    "CONTINUITY_FRONTDOOR_ROUTE": "route-qlp",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_BLUE": "og-uksouth-blue",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_GREEN": "og-uksouth-green",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_STANDBY": "og-ukwest-standby",
    "CONTINUITY_KEY_VAULT_URL": "https://kv-qlp.vault.azure.net",
    "CONTINUITY_PUBLIC_URL": "https://qlp.azurefd.net",
    "CONTINUITY_REPORTS_ACCOUNT_URL": "https://stqlp.blob.core.windows.net",
}


def env(**changes: str | None) -> dict[str, str]:
    """REQUIRED with changes (``KEY=None`` removes a key)."""
    out = dict(REQUIRED)
    for key, value in changes.items():
        full = PREFIX + key
        if value is None:
            out.pop(full, None)
        else:
            out[full] = value
    return out
