"""The api-versions ARM accepts for each resource type the sandbox serves; any other is refused.

Azure Resource Manager answers a request whose ``api-version`` the resource type does not have with
400 ``InvalidApiVersionParameter`` naming the supported versions. The lists are the versions of each
type's specification in Azure/azure-rest-api-specs (stable and preview folders), plus the one the
installed SDK sends: azure-mgmt-postgresqlflexibleservers 3.0.0 (2026-10-01), azure-mgmt-containerinstance
10.1.0 (2023-05-01), azure-mgmt-cdn 14.1.0 (2026-10-01), azure-mgmt-frontdoor 2.0.0 (2025-10-01) and
azure-mgmt-monitor 7.0.0's metrics (2024-02-01). A type is a child of the one before it: flexible servers'
virtual endpoints first appear in 2023-06-01-preview, so an older version is refused for them even
though flexible servers themselves accept it. Types not listed here (the sandbox's own test providers,
operation statuses, resource groups) are not checked.
"""

from __future__ import annotations

_PG = (
    "2021-06-01",
    "2022-03-08-preview",
    "2022-12-01",
    "2023-03-01-preview",
    "2023-06-01-preview",
    "2023-12-01-preview",
    "2024-03-01-preview",
    "2024-08-01",
    "2024-11-01-preview",
    "2025-06-01-preview",
    "2025-08-01",
    "2026-01-01-preview",
    "2026-04-01-preview",
    "2026-10-01",
)
_PG_VIRTUAL_ENDPOINTS = _PG[_PG.index("2023-06-01-preview") :]
_ACI = (
    "2018-10-01",
    "2019-12-01",
    "2020-11-01",
    "2021-03-01",
    "2021-07-01",
    "2021-09-01",
    "2021-10-01",
    "2022-09-01",
    "2022-10-01-preview",
    "2023-02-01-preview",
    "2023-05-01",
    "2024-05-01-preview",
    "2024-10-01-preview",
    "2024-11-01-preview",
    "2025-09-01",
)
_AFD = (
    "2020-09-01",
    "2021-06-01",
    "2022-05-01-preview",
    "2022-11-01-preview",
    "2023-05-01",
    "2023-07-01-preview",
    "2024-02-01",
    "2024-05-01-preview",
    "2024-06-01-preview",
    "2024-09-01",
    "2025-04-15",
    "2025-06-01",
    "2026-10-01",
)
_FRONT_DOOR = (
    "2019-04-01",
    "2019-05-01",
    "2020-01-01",
    "2020-04-01",
    "2020-05-01",
    "2021-06-01",
    "2025-10-01",
)
_METRICS = (
    "2016-06-01",
    "2017-05-01-preview",
    "2018-01-01",
    "2019-07-01",
    "2021-05-01",
    "2023-10-01",
    "2024-02-01",
)

# Microsoft.Storage (storage accounts, blob services, containers, immutability policies): stable versions
# of the spec the sandbox accepts, and 2026-09-01 that azure-mgmt-storage 25.3.0 sends.
_STORAGE = ("2021-09-01", "2022-09-01", "2023-01-01", "2023-05-01", "2024-01-01", "2025-01-01", "2026-09-01")

SUPPORTED: dict[str, tuple[str, ...]] = {
    "microsoft.dbforpostgresql/flexibleservers": _PG,
    "microsoft.dbforpostgresql/flexibleservers/backups": _PG,
    "microsoft.dbforpostgresql/flexibleservers/replicas": _PG,
    "microsoft.dbforpostgresql/flexibleservers/virtualendpoints": _PG_VIRTUAL_ENDPOINTS,
    "microsoft.containerinstance/containergroups": _ACI,
    "microsoft.containerinstance/containergroups/containers": _ACI,
    "microsoft.cdn/profiles/afdendpoints": _AFD,
    "microsoft.cdn/profiles/afdendpoints/routes": _AFD,
    "microsoft.cdn/profiles/origingroups": _AFD,
    "microsoft.cdn/profiles/origingroups/origins": _AFD,
    "microsoft.network/frontdoors": _FRONT_DOOR,
    "microsoft.insights/metrics": _METRICS,
    "microsoft.storage/storageaccounts": _STORAGE,
    "microsoft.storage/storageaccounts/blobservices": _STORAGE,
    "microsoft.storage/storageaccounts/blobservices/containers": _STORAGE,
    "microsoft.storage/storageaccounts/blobservices/containers/immutabilitypolicies": _STORAGE,
}


def resource_type(method: str, path: str) -> str:
    """The ARM resource type a request addresses: the namespace after the last ``providers`` and the
    type segments after it (``.../flexibleServers/a/virtualendpoints/b`` ->
    ``microsoft.dbforpostgresql/flexibleservers/virtualendpoints``). A trailing segment after a name is a
    child collection, except for a POST, which is an action on the resource before it."""
    parts = [p for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return ""
    start = len(lowered) - 1 - lowered[::-1].index("providers")
    rest = lowered[start + 1 :]
    if not rest:
        return ""
    namespace, segments = rest[0], rest[1:]
    if method.upper() == "POST" and len(segments) % 2 == 1 and len(segments) > 1:
        segments = segments[:-1]
    types = segments[0::2]
    return "/".join([namespace, *types]) if types else ""


def unsupported(method: str, path: str, api_version: str) -> str | None:
    """ARM's message for an api-version the addressed resource type does not have, else None (the
    framework answers it as 400 InvalidApiVersionParameter)."""
    supported = SUPPORTED.get(resource_type(method, path))
    if supported is None or api_version in supported:
        return None
    return (
        f"The api-version '{api_version}' is invalid. The supported versions are "
        f"'{','.join(reversed(supported))}'."
    )
