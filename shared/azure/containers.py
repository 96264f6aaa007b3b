"""Container groups (azure-mgmt-containerinstance): ensure, start, stop, restart, state, logs, delete of
Continuity's own groups, and job containers run to completion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared import waits
from shared.azure.clients import Clients
from shared.azure.errors import is_not_found, translated
from shared.config import TAG_CREATED_BY, TAG_CREATED_BY_VALUE, TAG_RUN
from shared.errors import PermanentError, PreconditionFailed

_TERMINAL = ("succeeded", "failed", "stopped", "terminated")


def view_of(group: Any, resource_group: str) -> dict[str, Any]:
    """The JSON view of a ContainerGroup model."""
    ip = group.ip_address
    port = ip.ports[0].port if ip is not None and ip.ports else None
    address = f"{ip.ip}:{port}" if ip is not None and ip.ip and port else None
    containers = [_container_view(c) for c in group.containers or []]
    tags = group.tags or {}
    return {
        "group": group.name,
        "resource_group": resource_group,
        "exists": True,
        "state": group.instance_view.state if group.instance_view is not None else None,
        "provisioning_state": group.provisioning_state,
        "image": containers[0]["image"] if containers else None,
        "address": address,
        "url": f"http://{address}" if address else None,
        "restart_count": sum(c["restart_count"] or 0 for c in containers),
        "containers": containers,
        "tags": tags,
        "created_by_continuity": tags.get(TAG_CREATED_BY) == TAG_CREATED_BY_VALUE,
    }


def _container_view(container: Any) -> dict[str, Any]:
    view = container.instance_view
    current = view.current_state if view is not None else None
    return {
        "name": container.name,
        "image": container.image,
        "state": current.state if current is not None else None,
        "exit_code": current.exit_code if current is not None else None,
        "restart_count": view.restart_count if view is not None else None,
    }


class ContainersAdapter:
    """Container groups of one subscription."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._settings = clients.settings

    @property
    def _groups(self) -> Any:
        return self._clients.containers().container_groups

    def _raw(self, name: str, resource_group: str) -> Any | None:
        try:
            with translated("get container group", name):
                return self._groups.get(resource_group, name)
        except PermanentError as exc:
            if is_not_found(exc.__cause__ or exc):
                return None
            raise

    def find(self, name: str, resource_group: str) -> dict[str, Any] | None:
        raw = self._raw(name, resource_group)
        return view_of(raw, resource_group) if raw is not None else None

    def get(self, name: str, resource_group: str) -> dict[str, Any]:
        found = self.find(name, resource_group)
        if found is None:
            raise PermanentError("get container group", name, f"not found in resource group {resource_group}")
        return found

    def _read_secret(self, name: str) -> str:
        """A secure variable's value, from the Key Vault secret the spec names for it."""
        with translated("read secret", name):
            return str(self._clients.secrets().get_secret(name).value or "")

    def ensure(
        self,
        name: str,
        resource_group: str,
        spec: dict[str, Any],
        *,
        location: str,
        run_id: str,
        is_live: Callable[[], bool] = lambda: False,
        allow_recreate: bool = False,
    ) -> dict[str, Any]:
        """Create the group, or change it to run ``spec`` by round-tripping its full definition; the same
        spec twice changes nothing. A change ACI cannot make in place (OS, CPU, memory, GPU, restart
        policy, network profile, zones) deletes and re-creates the group, only when it is not the live
        slot (``is_live``) and Continuity created it or ``allow_recreate``; otherwise PreconditionFailed."""
        from shared.azure import container_spec as cs

        existing = self._raw(name, resource_group)
        if existing is None:
            tags = {TAG_CREATED_BY: TAG_CREATED_BY_VALUE, TAG_RUN: run_id}
            group = cs.new_group(
                self._settings, spec, location=location, tags=tags, read_secret=self._read_secret
            )
            return self._put(name, resource_group, group, created=True)
        wanted = cs.updated_group(self._settings, existing, spec, read_secret=self._read_secret)
        if cs.comparable(existing) == cs.comparable(wanted):
            return {
                **view_of(existing, resource_group),
                "created": False,
                "changed": False,
                "recreated": False,
            }
        fixed = cs.fixed_changes(existing, wanted)
        if not fixed:
            return self._put(name, resource_group, wanted, created=False)
        self._check_recreate(name, existing, fixed, is_live=is_live, allow=allow_recreate)
        with translated("delete container group to re-create it", name):
            self._groups.begin_delete(resource_group, name).result()
        return {**self._put(name, resource_group, wanted, created=False), "recreated": True}

    def _check_recreate(
        self, name: str, existing: Any, fixed: list[str], *, is_live: Callable[[], bool], allow: bool
    ) -> None:
        what = ", ".join(fixed)
        if is_live():
            raise PreconditionFailed(
                "re-create container group", name, f"it serves live traffic; {what} cannot change in place"
            )
        ours = (existing.tags or {}).get(TAG_CREATED_BY) == TAG_CREATED_BY_VALUE
        if not (ours or allow):
            raise PreconditionFailed(
                "re-create container group",
                name,
                f"{what} cannot change in place and it was not created by Continuity (allow_recreate)",
            )

    def _put(self, name: str, resource_group: str, group: Any, *, created: bool) -> dict[str, Any]:
        with translated("create or update container group", name):
            self._groups.begin_create_or_update(resource_group, name, group).result()
        return {**self.get(name, resource_group), "created": created, "changed": True, "recreated": False}

    def start(self, name: str, resource_group: str) -> dict[str, Any]:
        before = self.get(name, resource_group)
        if (before["state"] or "").lower() == "running":
            return {**_brief(before), "changed": False, "message": f"{name} already running"}
        with translated("start container group", name):
            self._groups.begin_start(resource_group, name).result()
        after = self.get(name, resource_group)
        return {**_brief(after), "changed": True, "message": f"started {name}"}

    def stop(self, name: str, resource_group: str) -> dict[str, Any]:
        before = self.get(name, resource_group)
        if (before["state"] or "").lower() in ("stopped", "succeeded", "failed", "terminated"):
            return {**_brief(before), "changed": False, "message": f"{name} already stopped"}
        with translated("stop container group", name):
            self._groups.stop(resource_group, name)
        return {**_brief(self.get(name, resource_group)), "changed": True, "message": f"stopped {name}"}

    def restart(self, name: str, resource_group: str) -> dict[str, Any]:
        """Restart (a stopped group is started): its containers re-read their configuration."""
        before = self.get(name, resource_group)
        if (before["state"] or "").lower() != "running":
            return {**self.start(name, resource_group), "message": f"{name} was not running: started it"}
        with translated("restart container group", name):
            self._groups.begin_restart(resource_group, name).result()
        return {**_brief(self.get(name, resource_group)), "changed": True, "message": f"restarted {name}"}

    def logs(self, name: str, resource_group: str, container: str | None, tail: int | None) -> dict[str, Any]:
        view = self.get(name, resource_group)
        container_name = container or (view["containers"][0]["name"] if view["containers"] else "app")
        with translated("read logs of container group", name):
            result = self._clients.containers().containers.list_logs(
                resource_group, name, container_name, tail=tail
            )
        return {"group": name, "container": container_name, "logs": result.content or ""}

    def delete(self, name: str, resource_group: str) -> dict[str, Any]:
        """Delete a group Continuity created; already gone is success; any other group is refused."""
        found = self.find(name, resource_group)
        if found is None:
            return {
                "group": name,
                "deleted": False,
                "already_gone": True,
                "message": f"{name} is already gone",
            }
        if not found["created_by_continuity"]:
            raise PreconditionFailed(
                "delete container group", name, "refused: not created by Continuity (no created-by tag)"
            )
        with translated("delete container group", name):
            self._groups.begin_delete(resource_group, name).result()
        return {"group": name, "deleted": True, "already_gone": False, "message": f"deleted {name}"}

    def run_job(
        self,
        name: str,
        resource_group: str,
        spec: dict[str, Any],
        *,
        location: str,
        run_id: str,
        wait: float | None = None,
        secure_values: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Run a job container (restart policy Never) to completion; returns its exit code and logs.
        ``secure_values`` (made by the caller's activity, e.g. a SAS) become secure environment values.
        Waits at most ``wait`` seconds (shared.waits): still running then, ``pending``.

        A group already created for the same run is not started again: it is waited for, or its outcome
        returned.
        """
        existing = self.find(name, resource_group)
        if existing is not None and existing["tags"].get(TAG_RUN) != run_id:
            raise PreconditionFailed(
                "run job in container group", name, "a group of that name exists for another run"
            )
        if existing is None:
            job = {**spec, "restart_policy": "Never", "secure_values": dict(secure_values or {})}
            self.ensure(name, resource_group, job, location=location, run_id=run_id)
        seconds = waits.budget(wait)
        ended, view = waits.wait_until(lambda: self.get(name, resource_group), _job_ended, seconds)
        if not ended:
            return waits.pending({"group": name, "state": view["state"]}, f"job {name}", seconds)
        first = view["containers"][0] if view["containers"] else {}
        logs = self.logs(name, resource_group, first.get("name"), None)["logs"]
        exit_code = first.get("exit_code")
        return {
            "group": name,
            "exit_code": exit_code,
            "succeeded": exit_code == 0,
            "logs": logs,
            "state": view["state"],
        }


def _job_ended(view: dict[str, Any]) -> bool:
    """Every container of the group has ended (succeeded, failed, stopped or terminated)."""
    states = [str(c["state"] or "").lower() for c in view["containers"]]
    return bool(states) and all(s in _TERMINAL for s in states)


# ---- "this group with that group's spec and another image" (blue-green's idle slot, the DR standby) --
def spec_of(group: Any) -> dict[str, Any]:
    """What a group runs, as ``ensure`` takes it: its first container's name, image, cpu, memory, port,
    environment and command, the restart policy, OS type and identity. ARM never returns secure values:
    their names are listed under ``secure_environment``."""
    first = (group.containers or [None])[0]
    if first is None:
        return {}
    requests = first.resources.requests if first.resources is not None else None
    env = first.environment_variables or []
    identity = group.identity
    return {
        "container": first.name,
        "image": first.image,
        "cpu": requests.cpu if requests is not None else None,
        "memory_gb": requests.memory_in_gb if requests is not None else None,
        "port": first.ports[0].port if first.ports else None,
        "environment": {e.name: e.value for e in env if e.value is not None},
        "secure_environment": sorted(e.name for e in env if e.value is None),
        "command": first.command,
        "restart_policy": group.restart_policy,
        "os_type": group.os_type,
        "identity": str(identity.type) if identity is not None and identity.type is not None else None,
    }


def spec(adapter: ContainersAdapter, name: str, resource_group: str) -> dict[str, Any]:
    """The spec of an existing group (``spec_of``); raises PermanentError when it does not exist."""
    raw = adapter._raw(name, resource_group)
    if raw is None:
        raise PermanentError("read spec of container group", name, f"not found in {resource_group}")
    return spec_of(raw)


def ensure_like(
    adapter: ContainersAdapter,
    name: str,
    resource_group: str,
    *,
    like: str,
    like_resource_group: str,
    image: str,
    location: str,
    run_id: str,
    environment: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Ensure group ``name`` runs ``image`` with the spec of group ``like`` (which is only read), its
    variables overridden by ``environment``; the ``options`` go to ``ensure`` (``is_live``,
    ``allow_recreate``). Refused (precondition) when ``like``
    has secure environment values: ARM never returns them, so they cannot be carried over."""
    source = spec(adapter, like, like_resource_group)
    if source.get("secure_environment"):
        secure = ", ".join(source["secure_environment"])
        raise PreconditionFailed(
            "copy the spec of container group", like, f"its secure values ({secure}) cannot be read back"
        )
    wanted = {k: v for k, v in source.items() if v is not None and k != "secure_environment"}
    wanted["image"] = image
    if environment:
        wanted["environment"] = {**(source.get("environment") or {}), **environment}
    result = adapter.ensure(name, resource_group, wanted, location=location, run_id=run_id, **options)
    return {**result, "spec": {**source, **wanted}}


def _brief(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in ("group", "state", "address", "url")}
