"""What Azure Container Instances refuses in a container group definition, with ACI's error codes.

- The body (``validate_spec``): ``location``, ``properties.osType`` and containers each with a name, an
  image and resource requests are required (400 ``InvalidRequestContent``).
- Updates (``check_update``): OS type, CPU, memory or GPU resources, restart policy, network profile and
  availability zones cannot change in place; ACI answers 400 ``InvalidContainerGroupUpdate`` and the
  group must be deleted first (container-instances-update: "Properties that require container delete").
- Managed identity (``identity_of``): ``SystemAssigned``, ``UserAssigned`` (ids of
  Microsoft.ManagedIdentity/userAssignedIdentities), both, or ``None``.
- Private registry (``check_registry``): an image from the estate's registry is pulled only with an
  ``imageRegistryCredentials`` entry for that server, either username and password (the registry's admin
  user) or an identity of the group that has AcrPull; without one ACI answers 400 ``InaccessibleImage``.
  Exactly one of username or identity (``AmbiguousImageResitryCredentialType``, ACI's spelling); the
  identity must be one of the group's (``InvalidImageRegistryIdentity``); identities in credentials need
  api-version 2021-07-01 or later (``InvalidImageRegistryCredentialType``). Messages as in the ACI
  troubleshooting article "Fails to pull images from Azure Container Registry by using Managed Identity".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.arm import ArmError

IDENTITY_TYPES = ("SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None")
IDENTITY_KIND = "/providers/microsoft.managedidentity/userassignedidentities/"
CREDENTIAL_IDENTITY_SINCE = "2021-07-01"


def _invalid(message: str) -> ArmError:
    return ArmError(400, "InvalidRequestContent", message)


def _required(prop: str, path: str) -> ArmError:
    return _invalid(
        "The request content was invalid and could not be deserialized: "
        f"'Required property '{prop}' not found in JSON. Path '{path}'.'."
    )


def validate_spec(body: dict[str, Any]) -> None:
    """400 InvalidRequestContent unless the body has what ACI requires."""
    props = body.get("properties")
    if not isinstance(body.get("location"), str) or not isinstance(props, dict):
        raise _invalid("The request must have 'location' and 'properties'.")
    if not props.get("osType"):
        raise _required("osType", "properties")
    containers = props.get("containers")
    if not isinstance(containers, list) or not containers:
        raise _invalid("'properties.containers' must be a non-empty list.")
    for i, c in enumerate(containers):
        cprops = c.get("properties") if isinstance(c, dict) else None
        if not isinstance(c.get("name"), str) or not isinstance(cprops, dict) or not cprops.get("image"):
            raise _invalid("Each container needs a 'name' and 'properties.image'.")
        if not isinstance((cprops.get("resources") or {}).get("requests"), dict):
            raise _required("resources", f"properties.containers[{i}].properties")
        for env in cprops.get("environmentVariables") or []:
            if not isinstance(env, dict) or not isinstance(env.get("name"), str):
                raise _invalid("Each environment variable needs a 'name'.")
    policy = props.get("restartPolicy", "Always")
    if policy not in ("Always", "OnFailure", "Never"):
        raise ArmError(
            400, "InvalidRestartPolicy", f"restartPolicy '{policy}' is not one of Always, OnFailure, Never."
        )


def _fixed(spec: dict[str, Any]) -> Any:
    """The parts of a definition that cannot change in place."""
    props = spec.get("properties") or {}
    resources = [
        {
            k: (c.get("properties") or {}).get("resources", {}).get("requests", {}).get(k)
            for k in ("cpu", "memoryInGB", "gpu")
        }
        for c in props.get("containers") or []
    ]
    subnets = sorted(str(s.get("id", "")).lower() for s in props.get("subnetIds") or [])
    return (
        str(props.get("osType") or "").lower(),
        props.get("restartPolicy") or "Always",
        resources,
        subnets,
        sorted(spec.get("zones") or []),
    )


def check_update(existing: dict[str, Any], wanted: dict[str, Any], name: str) -> None:
    """400 InvalidContainerGroupUpdate when ``wanted`` changes what ACI cannot update in place."""
    if _fixed(existing) != _fixed(wanted):
        raise ArmError(
            400,
            "InvalidContainerGroupUpdate",
            f"The updates on container group '{name}' are invalid. If you are going to update the os type, "
            "restart policy, network profile, CPU, memory or GPU resources for a container group, you must "
            "delete it first and then create a new one.",
        )


@dataclass(frozen=True)
class Identity:
    """A group's managed identities: whether it has a system-assigned one, and its user-assigned ids."""

    system: bool = False
    user: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return self.system or bool(self.user)


def identity_of(body: dict[str, Any]) -> Identity:
    """The identities a body asks for; 400 InvalidRequestContent on a malformed identity."""
    identity = body.get("identity")
    if identity is None:
        return Identity()
    if not isinstance(identity, dict) or identity.get("type") not in IDENTITY_TYPES:
        raise _invalid(f"identity.type must be one of {', '.join(IDENTITY_TYPES)}.")
    kind = str(identity["type"])
    users = identity.get("userAssignedIdentities") or {}
    if "UserAssigned" in kind:
        if not isinstance(users, dict) or not users:
            raise _invalid(
                "identity.userAssignedIdentities must name at least one identity for UserAssigned."
            )
        for rid in users:
            if IDENTITY_KIND not in rid.lower():
                raise _invalid(f"'{rid}' is not a user-assigned managed identity resource id.")
    return Identity(system="SystemAssigned" in kind, user=tuple(users) if "UserAssigned" in kind else ())


def registry_of(image: str) -> str:
    """The registry host of an image reference (Docker's rule: a first part with a dot or a colon)."""
    first, sep, _ = image.partition("/")
    return first.lower() if sep and ("." in first or ":" in first or first == "localhost") else ""


@dataclass(frozen=True)
class Registry:
    """The estate's private registry: its server, admin credentials and the identities with AcrPull."""

    server: str
    username: str
    password: str
    pullers: tuple[str, ...]


def check_registry(
    body: dict[str, Any], name: str, registry: Registry, identity: Identity, api_version: str
) -> None:
    """Every credential well formed; every image from the private registry pullable with one of them."""
    props = body.get("properties") or {}
    credentials = props.get("imageRegistryCredentials") or []
    for i, cred in enumerate(credentials):
        if not isinstance(cred, dict) or not cred.get("server"):
            raise _required("server", f"properties.imageRegistryCredentials[{i}]")
        if bool(cred.get("username")) == bool(cred.get("identity")):
            raise ArmError(
                400,
                "AmbiguousImageResitryCredentialType",
                f"The registry credential type in the 'imageRegistryCredentials' of container group '{name}' "
                "cannot be detected. Please set exactly one of username or identity",
            )
        if cred.get("identity") and api_version < CREDENTIAL_IDENTITY_SINCE:
            raise ArmError(
                400,
                "InvalidImageRegistryCredentialType",
                f"Identity in 'imageRegistryCredentials' of container group '{name}' is not supported.",
            )
        if cred.get("identity") and str(cred["identity"]).lower() not in {u.lower() for u in identity.user}:
            raise ArmError(
                400,
                "InvalidImageRegistryIdentity",
                f"The identity in the 'imageRegistryCredentials' of container group '{name}' not found in "
                "container group identity list.",
            )
    for container in props.get("containers") or []:
        image = str((container.get("properties") or {}).get("image") or "")
        if registry_of(image) == registry.server.lower() and not _can_pull(credentials, registry):
            raise ArmError(
                400,
                "InaccessibleImage",
                f"The image '{image}' in container group '{name}' is not accessible. Please check the image "
                "and registry credential.",
            )


def _can_pull(credentials: list[dict[str, Any]], registry: Registry) -> bool:
    for cred in credentials:
        if str(cred.get("server", "")).lower() != registry.server.lower():
            continue
        if cred.get("identity") and str(cred["identity"]).lower() in {p.lower() for p in registry.pullers}:
            return True
        if cred.get("username") == registry.username and cred.get("password") == registry.password:
            return True
    return False


def identity_view(body: dict[str, Any], tenant: str, client_ids: dict[str, str]) -> dict[str, Any] | None:
    """The ``identity`` ARM returns: the type, and for each identity its principal and client ids."""
    identity = body.get("identity")
    if not isinstance(identity, dict):
        return None
    out: dict[str, Any] = {"type": identity.get("type")}
    if "SystemAssigned" in str(identity.get("type")):
        out.update(principalId=client_ids.get("system", ""), tenantId=tenant)
    users = identity.get("userAssignedIdentities") or {}
    if users:
        out["userAssignedIdentities"] = {
            rid: {"principalId": client_ids.get(rid.lower(), ""), "clientId": client_ids.get(rid.lower(), "")}
            for rid in users
        }
    return out


def public_credentials(body: dict[str, Any]) -> list[dict[str, Any]]:
    """imageRegistryCredentials as ARM returns them: never the password."""
    creds = (body.get("properties") or {}).get("imageRegistryCredentials") or []
    return [{k: v for k, v in c.items() if k != "password"} for c in creds if isinstance(c, dict)]
