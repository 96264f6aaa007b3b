"""Container groups (Microsoft.ContainerInstance): each group is a local workload process on its own port.

The ARM shapes follow azure-mgmt-containerinstance 10.1.0 (api-version 2023-05-01): create or update
(LRO), get, list by resource group, start (LRO), stop (204), restart (204), delete (LRO), container logs.
A group runs its first container's image as `python -m sandbox.workload` (the image tag decides the
behaviour, see sandbox/workload/behaviour.py); further containers are kept in the resource but not run.
Secure environment values reach the process and are never echoed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.arm import ArmApi, ArmError, not_found, utc_now
from sandbox.containers_rules import (
    Registry,
    check_registry,
    check_update,
    identity_of,
    identity_view,
    public_credentials,
    validate_spec,
)
from sandbox.context import SandboxContext

PROVIDER = "Microsoft.ContainerInstance/containerGroups"
BASE = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = "qlpregistry.azurecr.io/qlp-app:1.0.0"
RESTART_BACKOFF_S = 0.5  # the first restart after an exit; doubles per crash in a row (CrashLoopBackOff)
RESTART_BACKOFF_MAX_S = 300.0  # ACI (like Kubernetes) caps the back-off at five minutes
CRASH_RESET_S = 600.0  # a run this long resets the back-off
READY_TIMEOUT_S = 30.0


@dataclass
class Group:
    """One container group: its ARM definition and the process that stands for its first container."""

    name: str
    resource_group: str
    region: str
    port: int
    spec: dict[str, Any]  # the ARM body as sent (with secure values), minus read-only fields
    state: str = "Pending"  # Pending, Running, Stopped, Succeeded, Failed
    proc: Any = None
    restart_count: int = 0
    exit_code: int | None = None
    start_time: str | None = None
    finish_time: str | None = None
    log_offset: int = 0
    previous: dict[str, Any] | None = None  # the last run that ended: state, exit code, times
    events: list[dict[str, Any]] = field(default_factory=list)
    watcher: asyncio.Task[None] | None = None
    stopping: bool = False
    crashes: int = 0  # exits in a row of runs shorter than CRASH_RESET_S; backing off: CrashLoopBackOff
    backing_off: bool = False
    started_mono: float = 0.0

    @property
    def containers(self) -> list[dict[str, Any]]:
        return list(self.spec.get("properties", {}).get("containers") or [])

    @property
    def restart_policy(self) -> str:
        return str(self.spec.get("properties", {}).get("restartPolicy") or "Always")

    def first(self) -> dict[str, Any]:
        return self.containers[0]

    @property
    def running(self) -> bool:
        """Its process is alive (it may have exited a moment ago without the watcher knowing yet)."""
        return self.proc is not None and self.proc.poll() is None

    def ended(self, code: int | None) -> None:
        """Record the run that has just ended as the previous state (exit code, start and finish)."""
        self.exit_code, self.finish_time = code, utc_now()
        self.previous = {
            "state": "Terminated",
            "exitCode": code,
            "startTime": self.start_time,
            "finishTime": self.finish_time,
        }


def env_of(container: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for env in container.get("properties", {}).get("environmentVariables") or []:
        value = env.get("secureValue") if env.get("secureValue") is not None else env.get("value")
        out[env["name"]] = "" if value is None else str(value)
    return out


def public_env(container: dict[str, Any]) -> list[dict[str, Any]]:
    """Environment variables as ARM returns them: secure ones by name only."""
    out = []
    for env in container.get("properties", {}).get("environmentVariables") or []:
        if env.get("secureValue") is not None:
            out.append({"name": env["name"]})
        else:
            out.append({"name": env["name"], "value": env.get("value")})
    return out


class ContainerGroups:
    """The container-group resources and their processes."""

    def __init__(self, ctx: SandboxContext, registry: Registry) -> None:
        self.ctx, self.registry = ctx, registry
        self.groups: dict[str, Group] = {}  # key: lower-case name
        self.down_regions: set[str] = set()
        self._resume_after_heal: dict[str, set[str]] = {}

    # ---- lookup ------------------------------------------------------------------------------------
    def find(self, rg: str, name: str) -> Group:
        group = self.groups.get(name.lower())
        if group is None or group.resource_group.lower() != rg.lower():
            raise not_found(PROVIDER, name, rg)
        return group

    def get_group(self, name: str) -> Group | None:
        return self.groups.get(name.lower())

    def resource_id(self, g: Group) -> str:
        return self.ctx.estate.resource_id(g.resource_group, PROVIDER, g.name)

    def _check_region(self, g: Group) -> None:
        if g.region in self.down_regions:
            raise ArmError(
                503, "ServiceUnavailable", f"Region '{g.region}' is unavailable (sandbox region outage)."
            )

    # ---- processes ---------------------------------------------------------------------------------
    def _process_env(self, g: Group) -> dict[str, str]:
        ctx = self.ctx
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
            "SANDBOX_CA_BUNDLE": str(ctx.ca_cert_path),  # the platform's trust store: the sandbox CA
        }
        identity = identity_of(g.spec)
        if identity.any:  # the stand-in for the managed identity endpoint: only with an identity
            env["SANDBOX_TOKEN"] = f"sandbox-mi:{','.join(identity.user) or 'system'}"
        warmup = ctx.settings.extra.get("workload_warmup") or {}  # option: components that warm up later
        env["WORKLOAD_WARMUP"] = ",".join(f"{name}={seconds}" for name, seconds in warmup.items())
        env.update(env_of(g.first()))
        image = str(g.first()["properties"]["image"])
        env.update({"PORT": str(g.port), "IMAGE": image, "CONTAINER_GROUP": g.name, "REGION": g.region})
        return env

    def log_path(self, g: Group) -> Path:
        return Path(self.ctx.logs_dir) / f"container-{g.name}.log"

    def _launch(self, g: Group) -> None:
        path = self.log_path(g)
        g.log_offset = path.stat().st_size if path.exists() else 0
        argv = [sys.executable, "-m", "sandbox.workload"]
        g.proc = self.ctx.spawn(f"container-{g.name}", argv, self._process_env(g), cwd=REPO_ROOT)
        g.state, g.exit_code, g.finish_time, g.stopping = "Running", None, None, False
        g.start_time, g.started_mono = utc_now(), time.monotonic()
        g.events.append(
            {"name": "Started", "message": f"Started container {g.first()['name']}", "type": "Normal"}
        )
        g.watcher = asyncio.create_task(self._watch(g, g.proc))

    async def _watch(self, g: Group, proc: Any) -> None:
        """Record the exit and restart per the restart policy (unless stopped on purpose)."""
        while proc.poll() is None:
            await asyncio.sleep(0.2)
        if g.proc is not proc or g.stopping:
            return
        code = proc.returncode
        g.ended(code)
        g.events.append(
            {"name": "Killing", "message": f"Container exited with code {code}", "type": "Normal"}
        )
        policy = g.restart_policy
        if policy == "Always" or (policy == "OnFailure" and code != 0):
            if g.region in self.down_regions:
                g.state = "Stopped"
                return
            g.backing_off = True
            await asyncio.sleep(self._backoff(g))
            g.backing_off = False
            if g.proc is proc and not g.stopping:
                g.restart_count += 1
                self._launch(g)
            return
        g.state = "Succeeded" if code == 0 else "Failed"

    def _backoff(self, g: Group) -> float:
        """Seconds before restarting an exited container: ``container_restart_backoff`` (--config, default
        0.5 s) doubling with each crash in a row, at most five minutes, as ACI's CrashLoopBackOff."""
        ran = time.monotonic() - g.started_mono
        g.crashes = g.crashes + 1 if ran < CRASH_RESET_S else 1
        first = float(self.ctx.settings.extra.get("container_restart_backoff", RESTART_BACKOFF_S))
        return float(min(first * 2 ** (g.crashes - 1), RESTART_BACKOFF_MAX_S))

    async def _wait_ready(self, g: Group) -> None:
        """Until the process accepts connections on its port, or exits (a migration image exits)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        proc = g.proc
        while time.monotonic() < deadline and proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", g.port)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return
            await asyncio.sleep(0.1)

    async def start(self, g: Group) -> None:
        self._check_region(g)
        if g.running:
            return
        g.crashes, g.backing_off = 0, False
        self._launch(g)
        await self._wait_ready(g)

    async def stop(self, g: Group, *, state: str = "Stopped") -> None:
        g.stopping = True
        if g.running:
            g.ended(await self.ctx.stop_process(g.proc, timeout=10))
        if g.watcher is not None:
            g.watcher.cancel()
        g.state = state
        g.events.append({"name": "Stopped", "message": "Container group stopped", "type": "Normal"})

    async def restart(self, g: Group) -> None:
        self._check_region(g)
        was_running = g.running
        await self.stop(g)
        if was_running:
            g.restart_count += 1
        g.crashes, g.backing_off = 0, False  # a restart through the API ends a crash loop's back-off
        self._launch(g)
        await self._wait_ready(g)

    # ---- create / update / delete ------------------------------------------------------------------
    def upsert(
        self, rg: str, name: str, body: dict[str, Any], api_version: str = "2023-05-01"
    ) -> tuple[Group, bool, bool]:
        """Validate and store the definition (ACI's rules, containers_rules); returns (group, created,
        needs a (re)start)."""
        validate_spec(body)
        check_registry(body, name, self.registry, identity_of(body), api_version)
        region = self.ctx.estate.region_of_group(rg) or str(body["location"])
        spec: dict[str, Any] = {
            k: copy.deepcopy(body[k])
            for k in ("location", "tags", "properties", "identity", "zones")
            if k in body
        }
        existing = self.groups.get(name.lower())
        if existing is not None and existing.resource_group.lower() != rg.lower():
            raise ArmError(409, "Conflict", f"Container group '{name}' exists in another resource group.")
        if existing is None:
            g = Group(
                name=name,
                resource_group=self.ctx.estate.resource_group(region),
                region=region,
                port=self.ctx.free_port(),
                spec=spec,
            )
            self.groups[name.lower()] = g
            return g, True, True
        check_update(existing.spec, spec, name)
        changed = _run_relevant(existing.spec) != _run_relevant(spec)
        existing.spec = spec
        return existing, False, changed or not existing.running

    async def delete(self, g: Group) -> None:
        await self.stop(g)
        self.groups.pop(g.name.lower(), None)

    # ---- ARM views ---------------------------------------------------------------------------------
    def container_view(self, g: Group, c: dict[str, Any], index: int) -> dict[str, Any]:
        props = {
            k: copy.deepcopy(v) for k, v in c.get("properties", {}).items() if k != "environmentVariables"
        }
        props["environmentVariables"] = public_env(c)
        props.setdefault("resources", {"requests": {"cpu": 1.0, "memoryInGB": 1.5}})
        props.setdefault("ports", [{"port": g.port, "protocol": "TCP"}])
        if index == 0:
            props["instanceView"] = self._instance_view(g)
        return {"name": c["name"], "properties": props}

    def _current_state(self, g: Group) -> dict[str, Any]:
        if g.state == "Running" and g.running:
            return {"state": "Running", "startTime": g.start_time, "detailStatus": ""}
        if g.state == "Pending":
            return {"state": "Waiting", "detailStatus": "Stopped" if g.proc is None else "CrashLoopBackOff"}
        if g.state == "Running" and g.backing_off:
            return {"state": "Waiting", "detailStatus": "CrashLoopBackOff", "startTime": g.start_time}
        state: dict[str, Any] = {
            "state": "Terminated",
            "startTime": g.start_time,
            "finishTime": g.finish_time,
            "detailStatus": "Stopped" if g.state == "Stopped" else "Completed",
        }
        # A process that has just exited is terminal before its watcher records the code: read it here.
        code = g.exit_code if g.exit_code is not None else (g.proc.poll() if g.proc is not None else None)
        if code is not None:
            state["exitCode"] = code
        return state

    def _instance_view(self, g: Group) -> dict[str, Any]:
        view: dict[str, Any] = {
            "restartCount": g.restart_count,
            "currentState": self._current_state(g),
            "events": [
                {**e, "count": 1, "firstTimestamp": g.start_time, "lastTimestamp": g.start_time}
                for e in g.events[-10:]
            ],
        }
        if g.previous is not None:
            view["previousState"] = dict(g.previous)
        return view

    def group_state(self, g: Group) -> str:
        if g.state == "Running" and g.proc is not None and g.proc.poll() is not None:
            return "Running"  # between an exit and its automatic restart
        return g.state

    def view(self, g: Group, provisioning: str = "Succeeded") -> dict[str, Any]:
        props = copy.deepcopy(g.spec.get("properties", {}))
        props["containers"] = [self.container_view(g, c, i) for i, c in enumerate(g.containers)]
        props.setdefault("restartPolicy", "Always")
        props.setdefault("osType", "Linux")
        props.setdefault("sku", "Standard")
        props.pop("provisioningState", None)
        props["provisioningState"] = provisioning
        props["ipAddress"] = {
            **(props.get("ipAddress") or {}),
            "ip": "127.0.0.1",
            "type": (props.get("ipAddress") or {}).get("type", "Public"),
            "ports": [{"port": g.port, "protocol": "TCP"}],
        }
        props["instanceView"] = {"state": self.group_state(g), "events": []}
        if props.get("imageRegistryCredentials"):
            props["imageRegistryCredentials"] = public_credentials(g.spec)
        view: dict[str, Any] = {
            "id": self.resource_id(g),
            "name": g.name,
            "type": PROVIDER,
            "location": g.spec.get("location", g.region),
            "tags": g.spec.get("tags") or {},
            "properties": props,
        }
        identity = identity_view(g.spec, self.ctx.estate.tenant_id, self.client_ids())
        if identity is not None:
            view["identity"] = identity
        if g.spec.get("zones"):
            view["zones"] = list(g.spec["zones"])
        return view

    def client_ids(self) -> dict[str, str]:
        """Client (and principal) ids of the identities the sandbox knows: the estate's workload one."""
        estate = self.ctx.estate
        return {estate.workload_identity_id.lower(): estate.workload_identity_client_id}

    def logs(self, g: Group, tail: int | None) -> str:
        path = self.log_path(g)
        if not path.exists():
            return ""
        with path.open("rb") as f:
            f.seek(g.log_offset)
            text = f.read().decode(errors="replace")
        lines = text.splitlines(keepends=True)
        return "".join(lines[-tail:] if tail else lines)

    # ---- faults ------------------------------------------------------------------------------------
    async def region_outage(self, region: str | None = None, **_: Any) -> dict[str, Any]:
        if not region:
            raise ValueError("region-outage needs a region")
        self.down_regions.add(region)
        hit = [g for g in self.groups.values() if g.region == region]
        running = {g.name for g in hit if g.running}
        self._resume_after_heal[region] = self._resume_after_heal.get(region, set()) | running
        await asyncio.gather(*(self.stop(g) for g in hit if g.name in running))
        return {"containers_stopped": sorted(running)}

    async def heal(self, region: str | None = None, **_: Any) -> dict[str, Any]:
        regions = [region] if region else sorted(self.down_regions)
        restarted: list[str] = []
        for r in regions:
            self.down_regions.discard(r)
            for name in sorted(self._resume_after_heal.pop(r, set())):
                g = self.groups.get(name.lower())
                if g is not None:
                    await self.start(g)
                    restarted.append(name)
        return {"containers_restarted": restarted}

    async def close(self) -> None:
        await asyncio.gather(*(self.stop(g) for g in self.groups.values()), return_exceptions=True)


def _run_relevant(spec: dict[str, Any]) -> Any:
    """The parts of a definition whose change redeploys the containers."""
    props = spec.get("properties", {})
    return [
        (c.get("properties", {}).get("image"), env_of(c), c.get("properties", {}).get("command"))
        for c in props.get("containers") or []
    ], props.get("restartPolicy", "Always")


# ---- ARM handlers -----------------------------------------------------------------------------------
class ContainerGroupsApi:
    """The ARM routes over ContainerGroups."""

    def __init__(self, groups: ContainerGroups, arm: ArmApi) -> None:
        self.groups, self.arm = groups, arm

    def register(self) -> None:
        add = self.arm.add_route
        one = BASE + "/{name}"
        add("GET", BASE, self.list_by_rg)
        every = "/subscriptions/{sub}/providers/Microsoft.ContainerInstance/containerGroups"
        add("GET", every, self.list_all)
        add("GET", one, self.get)
        add("PUT", one, self.put)
        add("PATCH", one, self.patch_tags)
        add("DELETE", one, self.delete)
        add("POST", one + "/start", self.start)
        add("POST", one + "/stop", self.stop)
        add("POST", one + "/restart", self.restart)
        add("GET", one + "/containers/{container}/logs", self.logs)

    async def list_by_rg(self, request: web.Request, p: dict[str, str]) -> web.Response:
        rg = p["rg"].lower()
        items = [self.groups.view(g) for g in self.groups.groups.values() if g.resource_group.lower() == rg]
        return self.arm.page(items)

    async def list_all(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return self.arm.page([self.groups.view(g) for g in self.groups.groups.values()])

    async def get(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return self.arm.json(self.groups.view(self.groups.find(p["rg"], p["name"])))

    async def put(self, request: web.Request, p: dict[str, str]) -> web.Response:
        body = await self.arm.read_json(request)
        region = self.groups.ctx.estate.region_of_group(p["rg"])
        if region in self.groups.down_regions:
            outage = f"Region '{region}' is unavailable (sandbox region outage)."
            raise ArmError(503, "ServiceUnavailable", outage)
        api_version = request.query.get("api-version", "")
        g, created, redeploy = self.groups.upsert(p["rg"], p["name"], body, api_version)
        if created or redeploy:  # counted: what ACI is asked to create or to (re)deploy
            self.groups.ctx.actions.record("group_creates" if created else "group_updates", g.name)

        async def work() -> dict[str, Any]:
            if redeploy:
                await self.groups.stop(g)
                await self.groups.start(g)
            return self.groups.view(g)

        status, pending = 201 if created else 200, self.groups.view(g, "Pending")
        return self.arm.begin_lro(request, work, status=status, body=pending)

    async def patch_tags(self, request: web.Request, p: dict[str, str]) -> web.Response:
        """`container_groups.update`: replaces the tags (the only field ARM lets a PATCH change)."""
        g = self.groups.find(p["rg"], p["name"])
        tags = (await self.arm.read_json(request)).get("tags")
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise ArmError(400, "InvalidRequestContent", "'tags' must be an object of strings.")
        g.spec["tags"] = dict(tags)
        return self.arm.json(self.groups.view(g))

    async def delete(self, request: web.Request, p: dict[str, str]) -> web.StreamResponse:
        try:
            g = self.groups.find(p["rg"], p["name"])
        except ArmError:
            return web.Response(status=204)
        view = self.groups.view(g, "Deleting")

        async def work() -> dict[str, Any]:
            await self.groups.delete(g)
            return view

        return self.arm.begin_lro(request, work)

    async def start(self, request: web.Request, p: dict[str, str]) -> web.Response:
        g = self.groups.find(p["rg"], p["name"])
        self.groups._check_region(g)
        return self.arm.begin_lro(request, partial(self.groups.start, g))

    async def stop(self, request: web.Request, p: dict[str, str]) -> web.Response:
        g = self.groups.find(p["rg"], p["name"])
        await self.groups.stop(g)
        return web.Response(status=204)

    async def restart(self, request: web.Request, p: dict[str, str]) -> web.Response:
        g = self.groups.find(p["rg"], p["name"])
        await self.groups.restart(g)
        return web.Response(status=204)

    async def logs(self, request: web.Request, p: dict[str, str]) -> web.Response:
        g = self.groups.find(p["rg"], p["name"])
        if p["container"] not in [c["name"] for c in g.containers]:
            raise ArmError(
                404, "ContainerNotFound", f"Container '{p['container']}' not found in group '{g.name}'."
            )
        tail = request.query.get("tail")
        if tail is not None and (not tail.isdigit() or int(tail) <= 0):
            raise ArmError(400, "InvalidParameter", "tail must be a positive integer.")
        return self.arm.json({"content": self.groups.logs(g, int(tail) if tail else None)})


# ---- the estate -------------------------------------------------------------------------------------
def estate_body(ctx: SandboxContext, region: str, slot: str, image: str) -> dict[str, Any]:
    """A slot as a deployment would define it: the workload identity (AcrPull, vault access), registry
    credentials through it, and the vault URL and secret name in the environment."""
    estate = ctx.estate
    identity = estate.workload_identity_id
    return {
        "location": region,
        "tags": {"app": estate.app, "slot": slot, "region": region},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity: {}}},
        "properties": {
            "osType": "Linux",
            "restartPolicy": "Always",
            "imageRegistryCredentials": [{"server": estate.container_registry, "identity": identity}],
            "ipAddress": {"type": "Public", "ports": [{"port": 8000, "protocol": "TCP"}]},
            "containers": [
                {
                    "name": f"{estate.app}-app",
                    "properties": {
                        "image": image,
                        "ports": [{"port": 8000, "protocol": "TCP"}],
                        "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}},
                        "environmentVariables": [
                            {"name": "MAINTENANCE_MODE", "value": "false"},
                            {"name": "KEY_VAULT_URL", "value": str(ctx.endpoints.get("key_vault_url", ""))},
                            {"name": "DATABASE_SECRET_NAME", "value": estate.database_secret_name},
                            {"name": "AZURE_CLIENT_ID", "value": estate.workload_identity_client_id},
                        ],
                    },
                }
            ],
        },
    }


async def create_estate(ctx: SandboxContext, groups: ContainerGroups) -> None:
    """Blue and green in the primary region (blue running), a stopped standby in the secondary one."""
    image = str(ctx.settings.extra.get("workload_image", DEFAULT_IMAGE))
    estate = ctx.estate
    starts = []
    for key, name in estate.container_groups.items():
        region, slot = key.rsplit("-", 1)
        g, _, _ = groups.upsert(estate.resource_group(region), name, estate_body(ctx, region, slot, image))
        g.state = "Stopped"
        if region == estate.primary_region and slot == "blue":
            starts.append(groups.start(g))
    await asyncio.gather(*starts)


async def setup(ctx: SandboxContext, arm: ArmApi) -> ContainerGroups:
    estate = ctx.estate
    registry = Registry(
        server=estate.container_registry,
        username=estate.container_registry.split(".", 1)[0],
        password=secrets.token_urlsafe(18),
        pullers=(estate.workload_identity_id,),
    )
    groups = ContainerGroups(ctx, registry)
    ContainerGroupsApi(groups, arm).register()
    ctx.on_fault("region-outage", groups.region_outage)
    ctx.on_fault("heal", groups.heal)
    ctx.on_fault("clear", groups.heal)
    await create_estate(ctx, groups)
    ctx.endpoints["container_groups"] = dict(ctx.estate.container_groups)
    ctx.endpoints["container_ports"] = {g.name: g.port for g in groups.groups.values()}
    ctx.endpoints.update(
        container_registry=registry.server,
        container_registry_username=registry.username,
        container_registry_password=registry.password,
        workload_identity_id=estate.workload_identity_id,
        workload_identity_client_id=estate.workload_identity_client_id,
    )
    ctx.components["containers"] = groups
    return groups
