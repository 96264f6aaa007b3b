"""The full definition of a container group Continuity creates or changes, and what a change needs.

A spec (activity input) names the image, environment, command and, optionally, port, CPU, memory,
restart policy and ``secure_environment`` (variable -> Key Vault secret name); an adapter may add
``secure_values`` (variable -> a value made inside its activity, such as a SAS; never activity input).
Every group gets what
Azure needs for the app to start: the configured user-assigned identity (its client id as
``AZURE_CLIENT_ID``), a registry credential through it for images from the private registry, and
``KEY_VAULT_URL`` / ``DATABASE_SECRET_NAME`` (unless the spec sets them).

An existing group is changed by round-tripping what Azure returned (ports, volumes, resources, everything
the spec does not name stays as it is). Azure never returns secure values, so each one is read again from
the Key Vault secret the spec names for it; a secure variable the spec has no source for would be lost,
and is refused. OS type, CPU, memory, GPU, restart policy, network profile and zones cannot change in
place (ACI: InvalidContainerGroupUpdate): :func:`fixed_changes` names them, and the group must be deleted
and created again.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from shared.azure.imports import SDK_IMPORT_LOCK
from shared.config import Settings
from shared.errors import PreconditionFailed

DEFAULT_CPU, DEFAULT_MEMORY_GB = 1.0, 1.5
SecretReader = Callable[[str], str]


def _models() -> Any:
    with SDK_IMPORT_LOCK:
        from azure.mgmt.containerinstance import models

    return models


def registry_of(image: str) -> str:
    """The registry host of an image reference (a first part with a dot or a colon), or ''."""
    first, sep, _ = image.partition("/")
    return first.lower() if sep and ("." in first or ":" in first) else ""


def platform_env(settings: Settings) -> dict[str, str]:
    """What every group's app needs to read its secret with the identity."""
    env = {"KEY_VAULT_URL": settings.key_vault_url, "DATABASE_SECRET_NAME": settings.database_secret_name}
    if settings.container_identity_client_id:
        env["AZURE_CLIENT_ID"] = settings.container_identity_client_id
    return env


def _environment(
    settings: Settings, spec: Mapping[str, Any], read_secret: SecretReader, existing_secure: set[str]
) -> list[Any]:
    m = _models()
    plain = {**platform_env(settings), **{k: str(v) for k, v in (spec.get("environment") or {}).items()}}
    secure = {str(k): str(v) for k, v in (spec.get("secure_environment") or {}).items()}
    lost = sorted(existing_secure - set(secure) - set(plain) - set(spec.get("secure_values") or {}))
    if lost:
        raise PreconditionFailed(
            "update container group",
            ", ".join(lost),
            "Azure never returns secure values: name the Key Vault secret of each in secure_environment",
        )
    direct = {str(k): str(v) for k, v in (spec.get("secure_values") or {}).items()}
    out = [m.EnvironmentVariable(name=k, value=v) for k, v in plain.items() if k not in {*secure, *direct}]
    out += [m.EnvironmentVariable(name=k, secure_value=read_secret(v)) for k, v in secure.items()]
    out += [m.EnvironmentVariable(name=k, secure_value=v) for k, v in direct.items() if k not in secure]
    return out


def _identity_and_credentials(settings: Settings, group: Any, image: str) -> None:
    m = _models()
    identity_id = settings.container_identity_id
    if not identity_id:
        return
    users = dict((group.identity.user_assigned_identities or {}) if group.identity is not None else {})
    if identity_id not in users:
        users[identity_id] = m.UserAssignedIdentities()
    kind = (
        "SystemAssigned, UserAssigned"
        if group.identity is not None and "System" in str(group.identity.type)
        else "UserAssigned"
    )
    group.identity = m.ContainerGroupIdentity(type=kind, user_assigned_identities=users)
    registry = settings.registry_server
    if registry and registry_of(image) == registry:
        others = [c for c in group.image_registry_credentials or [] if str(c.server).lower() != registry]
        group.image_registry_credentials = [
            *others,
            m.ImageRegistryCredential(server=registry, identity=identity_id),
        ]


def new_group(
    settings: Settings,
    spec: Mapping[str, Any],
    *,
    location: str,
    tags: dict[str, str],
    read_secret: SecretReader,
) -> Any:
    """The definition of a new group running ``spec``."""
    m = _models()
    port = int(spec.get("port") or settings.container_port)
    container = m.Container(
        name=str(spec.get("container") or "app"),
        image=spec["image"],
        command=spec.get("command"),
        ports=[m.ContainerPort(port=port)],
        environment_variables=_environment(settings, spec, read_secret, set()),
        resources=m.ResourceRequirements(
            requests=m.ResourceRequests(
                cpu=float(spec.get("cpu") or DEFAULT_CPU),
                memory_in_gb=float(spec.get("memory_gb") or DEFAULT_MEMORY_GB),
            )
        ),
    )
    group = m.ContainerGroup(
        location=location,
        containers=[container],
        os_type="Linux",
        restart_policy=spec.get("restart_policy") or "Always",
        ip_address=m.IpAddress(type="Public", ports=[m.Port(port=port, protocol="TCP")]),
        tags=tags,
    )
    _identity_and_credentials(settings, group, spec["image"])
    return group


def updated_group(
    settings: Settings, existing: Any, spec: Mapping[str, Any], *, read_secret: SecretReader
) -> Any:
    """``existing`` (as Azure returned it) with ``spec`` applied: only what the spec names changes."""
    group = copy.deepcopy(existing)
    first = group.containers[0]
    first.image = spec["image"]
    if spec.get("command") is not None:
        first.command = spec["command"]
    secure = {e.name for e in first.environment_variables or [] if e.value is None}
    first.environment_variables = _environment(settings, spec, read_secret, secure)
    if spec.get("cpu") or spec.get("memory_gb"):
        requests = first.resources.requests
        requests.cpu = float(spec.get("cpu") or requests.cpu)
        requests.memory_in_gb = float(spec.get("memory_gb") or requests.memory_in_gb)
    if spec.get("restart_policy"):
        group.restart_policy = spec["restart_policy"]
    _identity_and_credentials(settings, group, spec["image"])
    return group


def fixed_fields(group: Any) -> dict[str, Any]:
    """What ACI cannot update in place, as comparable values."""
    resources = []
    for c in group.containers or []:
        req = c.resources.requests if c.resources is not None else None
        gpu = req.gpu if req is not None else None
        resources.append(
            (
                req.cpu if req else None,
                req.memory_in_gb if req else None,
                (gpu.count, gpu.sku) if gpu else None,
            )
        )
    return {
        "os type": str(group.os_type or "").lower(),
        "restart policy": str(group.restart_policy or "Always"),
        "CPU, memory or GPU": resources,
        "network profile": sorted(str(s.id).lower() for s in group.subnet_ids or []),
        "zones": sorted(group.zones or []),
    }


def fixed_changes(existing: Any, wanted: Any) -> list[str]:
    """The fields ``wanted`` changes that need the group deleted and created again."""
    before, after = fixed_fields(existing), fixed_fields(wanted)
    return [name for name in before if before[name] != after[name]]


def comparable(group: Any) -> Any:
    """What a change is judged on (secure values cannot be read back: their names only)."""
    first = (group.containers or [None])[0]
    env = sorted(
        (e.name, e.value if e.secure_value is None and e.value is not None else "<secure>")
        for e in (first.environment_variables or [] if first is not None else [])
    )
    identity = sorted((group.identity.user_assigned_identities or {}) if group.identity is not None else {})
    creds = sorted(
        (str(c.server).lower(), str(c.identity or c.username)) for c in group.image_registry_credentials or []
    )
    return (
        first.image if first else None,
        first.command if first else None,
        env,
        identity,
        creds,
        fixed_fields(group),
    )
