"""The estate the sandbox serves: names of every resource, derived from a few settings.

Defaults describe the QLP app of the DR document (UK South primary, UK West DR). Any field can be
overridden with a JSON object (``python -m sandbox up --estate estate.json``).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Estate:
    """Names and identifiers of the sandbox's resources (one protected app, two regions)."""

    subscription_id: str = "6f1c2a3e-0c0d-4e1e-9a7b-5c0de0c0ffee"
    tenant_id: str = "72f988bf-0000-4000-8000-00000000c0de"
    app: str = "qlp"
    primary_region: str = "uksouth"
    secondary_region: str = "ukwest"
    database_name: str = "qlp_db"
    database_user: str = "qlp_app"
    database_admin: str = "qlpadmin"  # the server's administratorLogin: a role of its own, not the app's
    key_vault_name: str = "kv-qlp"
    database_secret_name: str = "database-url"
    storage_account: str = "stqlp"
    eventgrid_topic: str = "egt-qlp"
    frontdoor_profile: str = "afd-qlp"
    frontdoor_endpoint: str = "qlp"
    frontdoor_route: str = "route-qlp"
    frontdoor_classic: str = "fd-qlp"
    frontdoor_classic_routing_rule: str = "rr-qlp"
    container_registry: str = "qlpregistry.azurecr.io"  # private: pulls need imageRegistryCredentials
    workload_identity: str = "id-qlp-workload"  # user-assigned identity with AcrPull and vault access

    @property
    def regions(self) -> tuple[str, str]:
        return (self.primary_region, self.secondary_region)

    def resource_group(self, region: str) -> str:
        return f"rg-{self.app}-{region}"

    def server_name(self, region: str) -> str:
        return f"{self.app}-db-{region}"

    @property
    def primary_server(self) -> str:
        return self.server_name(self.primary_region)

    @property
    def replica_server(self) -> str:
        return self.server_name(self.secondary_region)

    @property
    def resource_groups(self) -> dict[str, str]:
        """``{"primary": rg, "secondary": rg}``."""
        return {
            "primary": self.resource_group(self.primary_region),
            "secondary": self.resource_group(self.secondary_region),
        }

    def region_of_group(self, resource_group: str) -> str | None:
        """The region whose resource group this is (case-insensitive), or None."""
        for region in self.regions:
            if self.resource_group(region).lower() == resource_group.lower():
                return region
        return None

    def container_group(self, region: str, slot: str) -> str:
        return f"ci-{self.app}-{region}-{slot}"

    @property
    def container_groups(self) -> dict[str, str]:
        """Slot key (``<region>-<slot>``) to container group name: blue and green in the primary
        region, a standby in the secondary one."""
        p, s = self.primary_region, self.secondary_region
        return {
            f"{p}-blue": self.container_group(p, "blue"),
            f"{p}-green": self.container_group(p, "green"),
            f"{s}-standby": self.container_group(s, "standby"),
        }

    def resource_id(self, resource_group: str, kind: str, name: str) -> str:
        """The ARM id of resource ``name`` of type ``kind`` (``Microsoft.Cdn/profiles``) in the group."""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{resource_group}/providers/{kind}/{name}"
        )

    @property
    def workload_identity_id(self) -> str:
        """The resource id of the estate's user-assigned managed identity (in the primary group)."""
        rg = self.resource_group(self.primary_region)
        return self.resource_id(
            rg, "Microsoft.ManagedIdentity/userAssignedIdentities", self.workload_identity
        )

    @property
    def workload_identity_client_id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, self.workload_identity_id.lower()))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estate:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown estate settings: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def load(cls, path: Path | None) -> Estate:
        """The default estate, or the default overridden by the JSON object in ``path``."""
        if path is None:
            return cls()
        return cls.from_dict(json.loads(path.read_text()))
