"""The sandbox's shared context: state dir, estate, ports, TLS, tracked processes, faults, metrics."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import tls
from sandbox.estate import Estate

FAULT_KINDS = (
    "region-outage",
    "heal",
    "corrupt-db",
    "replication-lag",
    "arm-faults",
    "clear",
    "ltr-backup-fail",
    "storage-unprotected",
)

FaultCallback = Callable[..., Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class MetricQuery:
    """What a metrics request asks of a source (the query's fields as sent; None when absent)."""

    resource_id: str
    names: list[str]
    timespan: str | None = None
    interval: str | None = None
    aggregation: str | None = None
    filter: str | None = None  # ``$filter`` (dimension selection), as sent


MetricSource = Callable[[MetricQuery], Awaitable[list[dict[str, Any]]]]

ACTION_KINDS = ("promotes", "route_switches", "secret_writes", "group_creates", "group_updates")


class Actions:
    """What the estate was asked to change, counted where the change is accepted: promotes, route
    switches, secret writes, container groups created and changed (``/sandbox/status`` ``actions``).
    Tests compare them with the runs' histories: a step whose completion was recorded is not redone."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {kind: {} for kind in ACTION_KINDS}
        self.log: list[dict[str, Any]] = []

    def record(self, kind: str, name: str) -> None:
        if kind not in self.counts:
            raise ValueError(f"unknown action kind {kind!r}; known: {', '.join(ACTION_KINDS)}")
        self.counts[kind][name] = self.counts[kind].get(name, 0) + 1
        self.log.append({"kind": kind, "name": name, "at": time.time()})
        del self.log[: max(0, len(self.log) - self.LIMIT)]

    def view(self) -> dict[str, Any]:
        return {"counts": {k: dict(v) for k, v in self.counts.items()}, "log": list(self.log)}


@dataclass
class Settings:
    """Tunables of one sandbox run (command-line options of ``serve``)."""

    retry_after: float = 1.0  # seconds, sent as Retry-After on LROs and injected faults
    backup_interval: float = 300.0  # seconds between scheduled base backups
    backup_keep: int = 6  # scheduled base backups kept per server
    extra: dict[str, Any] = field(default_factory=dict)  # component options (free form)

    def retry_headers(self) -> dict[str, str]:
        """How long clients should wait: ``Retry-After`` in whole seconds (the management SDKs parse it
        as an int); below one second ``retry-after-ms`` instead, which azure-core also honours."""
        if self.retry_after >= 1:
            return {"Retry-After": str(round(self.retry_after))}
        return {"retry-after-ms": str(max(1, round(self.retry_after * 1000)))}


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (to tell a pid from a reused one)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


class SandboxContext:
    """What every component shares. One per ``serve`` process."""

    def __init__(self, state_dir: Path, estate: Estate, settings: Settings | None = None) -> None:
        self.state_dir = state_dir
        self.estate = estate
        self.settings = settings or Settings()
        self.endpoints: dict[str, Any] = {}
        self.components: dict[str, object] = {}
        self.metric_sources: dict[str, MetricSource] = {}
        self.active_faults: dict[str, Any] = {}
        self.actions = Actions()
        self._fault_callbacks: dict[str, list[FaultCallback]] = {k: [] for k in FAULT_KINDS}
        self._processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._ports: set[int] = set()
        self._certs = 0
        self.logs_dir = state_dir / "logs"
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.tls_dir = state_dir / "tls"
        self.ca_cert_path, self.ca_key_path = tls.create_ca(self.tls_dir)

    # ---- ports and TLS --------------------------------------------------------------------------
    def free_port(self) -> int:
        """A TCP port on 127.0.0.1 that is free now and not handed out before by this context."""
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
            if port not in self._ports:
                self._ports.add(port)
                return port

    def server_cert(self, hostnames: Sequence[str] = ("127.0.0.1", "localhost")) -> tuple[Path, Path]:
        """A certificate chain and key for a TLS listener, signed by the sandbox CA."""
        self._certs += 1
        stem = self.tls_dir / f"server-{self._certs}"
        return tls.issue_server_cert(
            self.ca_cert_path,
            self.ca_key_path,
            list(hostnames),
            stem.with_suffix(".pem"),
            stem.with_suffix(".key"),
        )

    # ---- processes ------------------------------------------------------------------------------
    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        user: str | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a tracked child process (output appended to ``logs/<name>.log``).

        Children stay in the sandbox's process group, so ``down`` can always find them; they are
        recorded in ``processes.jsonl`` too. ``user`` runs the child as that OS user (root only).
        """
        log = (self.logs_dir / f"{name}.log").open("ab")
        extra: dict[str, Any] = {}
        if user is not None and os.geteuid() == 0:
            extra = {"user": user, "group": user, "extra_groups": []}
        proc = subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            **extra,
        )
        log.close()
        self._processes.append((name, proc))
        with (self.state_dir / "processes.jsonl").open("a") as f:
            record = {"name": name, "pid": proc.pid, "start": process_start_time(proc.pid)}
            f.write(json.dumps(record) + "\n")
        return proc

    async def stop_process(
        self, proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 15.0
    ) -> int | None:
        """Signal a child and wait (without blocking the loop) until it exits; SIGKILL after timeout."""
        if proc.poll() is None:
            proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            await asyncio.to_thread(proc.wait)
        return proc.returncode

    def running_processes(self) -> list[dict[str, Any]]:
        return [{"name": n, "pid": p.pid} for n, p in self._processes if p.poll() is None]

    async def close(self) -> None:
        """Stop every child still running."""
        await asyncio.gather(*(self.stop_process(p, timeout=5) for _, p in self._processes))

    # ---- faults ---------------------------------------------------------------------------------
    def on_fault(self, kind: str, callback: FaultCallback) -> None:
        """Run ``await callback(**args)`` whenever a fault of ``kind`` fires; its dict joins the result."""
        if kind not in self._fault_callbacks:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        self._fault_callbacks[kind].append(callback)

    async def fire_fault(self, kind: str, **args: Any) -> dict[str, Any]:
        """Inject (or clear) a fault; returns what the components reported."""
        if kind not in self._fault_callbacks:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        self._check_fault_args(kind, args)
        result: dict[str, Any] = {"kind": kind}
        for callback in self._fault_callbacks[kind]:
            result.update(await callback(**args) or {})
        if kind == "clear":
            self.active_faults.clear()
        elif kind == "heal":
            self.active_faults.pop(f"region-outage:{args.get('region')}", None)
        elif kind == "region-outage":
            self.active_faults[f"region-outage:{args.get('region')}"] = args
        else:
            self.active_faults[kind] = args
        return result

    def _check_fault_args(self, kind: str, args: dict[str, Any]) -> None:
        """Refuse bad fault arguments before any component acts (nothing changes on a 400)."""
        region, regions = args.get("region"), self.estate.regions
        if (kind == "region-outage" and region not in regions) or (
            kind == "heal" and region not in (*regions, None)
        ):
            raise ValueError(f"{kind} needs region, one of {', '.join(regions)}")
        numbers = {"replication-lag": ("seconds", 0.0, float("inf")), "arm-faults": ("rate", 0.0, 1.0)}
        if kind in numbers:
            key, low, high = numbers[kind]
            try:
                value = float(args[key])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{kind} needs a numeric {key}") from exc
            if not low <= value <= high or (kind == "replication-lag" and value == 0):
                raise ValueError(f"{kind} {key} must be between {low:g} and {high:g}")

    # ---- metrics --------------------------------------------------------------------------------
    def register_metric_source(self, resource_type: str, fn: MetricSource) -> None:
        """``await fn(query: MetricQuery) -> [metric json]`` serves the metrics of that resource type."""
        self.metric_sources[resource_type.lower()] = fn
