"""Command line of the sandbox: ``python -m sandbox up|down|status|serve|fault``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sandbox.context import Settings, process_start_time
from sandbox.estate import Estate

REPO_ROOT = Path(__file__).resolve().parents[1]


# ---- process bookkeeping ------------------------------------------------------------------------
def _alive(pid: int, start: int | None) -> bool:
    """True when ``pid`` runs and is the process recorded (same start time), not a reused pid."""
    now = process_start_time(pid)
    if now is None:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z" and (start is None or now == start)


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, session id) of every live (non-zombie) process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), int(fields[3]))
    return table


def _session_members(session: int) -> list[int]:
    """Pids of the serve process's session and of all their descendants (postgres children call
    setsid(), so they leave the session but stay descendants)."""
    table = _process_table()
    found = {pid for pid, (_, sid) in table.items() if sid == session}
    return sorted(_with_descendants(found, table))


def _with_descendants(roots: set[int], table: dict[int, tuple[int, int]]) -> set[int]:
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, (ppid, _) in table.items() if ppid in frontier and pid not in found}
        found |= frontier
    return found


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def serve_record(state_dir: Path) -> dict[str, Any] | None:
    """The recorded serve process when it is still running."""
    record = _read_json(state_dir / "serve.pid")
    if record and _alive(int(record["pid"]), record.get("start")):
        return record
    return None


def _tracked_pids(state_dir: Path, session: int | None) -> list[int]:
    pids = set(_session_members(session)) if session else set()
    try:
        lines = (state_dir / "processes.jsonl").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        rec = json.loads(line)
        if _alive(int(rec["pid"]), rec.get("start")):
            pids.add(int(rec["pid"]))
    return sorted(_with_descendants(pids, _process_table()))


def _wait_gone(pids: list[int], records: dict[int, int | None], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    left = pids
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if _alive(p, records.get(p))]
    return left


# ---- commands -----------------------------------------------------------------------------------
def _serve_argv(args: argparse.Namespace) -> list[str]:
    argv = [sys.executable, "-m", "sandbox", "serve", "--state-dir", str(args.state_dir)]
    argv += ["--retry-after", str(args.retry_after), "--backup-interval", str(args.backup_interval)]
    if args.estate:
        argv += ["--estate", str(args.estate)]
    if args.components:
        argv += ["--components", args.components]
    if args.config:
        argv += ["--config", str(args.config.resolve())]
    if args.owner_pid:
        argv += ["--owner-pid", str(args.owner_pid)]
    return argv


def cmd_up(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o755)  # the postgres OS user must reach its clusters inside it
    running = serve_record(state_dir)
    if running:
        print(f"sandbox already running in {state_dir} (pid {running['pid']})", file=sys.stderr)
        return 1
    if (state_dir / "serve.pid").exists() or (state_dir / "processes.jsonl").exists():
        stop(state_dir)  # leftovers of a sandbox that died without `down`
    for stale in ("endpoints.json", "processes.jsonl", "serve.pid"):
        (state_dir / stale).unlink(missing_ok=True)
    (state_dir / "logs").mkdir(exist_ok=True)
    args.state_dir = state_dir
    started = time.monotonic()
    with (state_dir / "logs" / "serve.log").open("ab") as out:
        proc = subprocess.Popen(
            _serve_argv(args),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    record = {"pid": proc.pid, "start": process_start_time(proc.pid)}
    (state_dir / "serve.pid").write_text(json.dumps(record))
    deadline = started + args.timeout
    while time.monotonic() < deadline:
        if (state_dir / "endpoints.json").exists():
            elapsed = time.monotonic() - started
            print(f"sandbox ready in {elapsed:.1f}s; endpoints: {state_dir / 'endpoints.json'}")
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    print(f"sandbox did not become ready; last lines of {state_dir / 'logs' / 'serve.log'}:", file=sys.stderr)
    print("\n".join(_tail(state_dir / "logs" / "serve.log", 40)), file=sys.stderr)
    stop(state_dir)
    return 1


def _tail(path: Path, lines: int) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def stop(state_dir: Path, *, timeout: float = 60.0) -> list[int]:
    """Stop the serve process (it stops its components), then kill anything of ours left.

    Returns the pids that were still running after the graceful stop (and were killed).
    """
    record = _read_json(state_dir / "serve.pid") or {}
    pid, start = record.get("pid"), record.get("start")
    if pid and _alive(pid, start):
        os.kill(pid, signal.SIGTERM)
        _wait_gone([pid], {pid: start}, timeout)
    leftovers = _tracked_pids(state_dir, pid if pid else None)
    starts = {p: process_start_time(p) for p in leftovers}
    for p in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    still = _wait_gone(leftovers, starts, 10.0)
    if still:
        raise RuntimeError(f"processes still running after SIGKILL: {still}")
    (state_dir / "serve.pid").unlink(missing_ok=True)
    (state_dir / "endpoints.json").unlink(missing_ok=True)
    return leftovers


def cmd_down(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir.resolve()
    killed = stop(state_dir)
    suffix = f" (killed {len(killed)} leftover processes)" if killed else ""
    print(f"sandbox in {state_dir} stopped{suffix}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from sandbox.client import SandboxClient

    state_dir: Path = args.state_dir.resolve()
    record = serve_record(state_dir)
    if record is None:
        print(f"sandbox in {state_dir}: not running")
        return 3
    if not (state_dir / "endpoints.json").exists():
        print(f"sandbox in {state_dir}: starting (pid {record['pid']})")
        return 0
    status = SandboxClient(state_dir).status()
    print(f"sandbox in {state_dir}: running (pid {record['pid']}) at {status['endpoints']['arm_endpoint']}")
    print(f"components: {', '.join(status['components']) or '-'}")
    for proc in status["processes"]:
        print(f"  pid {proc['pid']:>7}  {proc['name']}")
    for component, lines in status.get("resources", {}).items():
        print(f"{component}:")
        for key, value in (lines or {}).items():
            print(f"  {key}: {value}")
    print(f"faults: {json.dumps(status['faults']) if status['faults'] else 'none'}")
    return 0


def _fault_args(args: argparse.Namespace) -> dict[str, Any]:
    kind, values = args.kind, args.values
    needs = {"region-outage": "region", "heal": "region", "replication-lag": "seconds", "arm-faults": "rate"}
    if kind in needs:
        if len(values) != 1:
            raise SystemExit(f"usage: python -m sandbox fault {kind} <{needs[kind]}>")
        return {needs[kind]: values[0]}
    if values:
        raise SystemExit(f"fault {kind} takes no arguments")
    return {}


def cmd_fault(args: argparse.Namespace) -> int:
    from sandbox.client import SandboxClient, SandboxError

    try:
        result = SandboxClient(args.state_dir.resolve()).fault(args.kind, **_fault_args(args))
    except SandboxError as exc:
        print(f"fault {args.kind} refused: {exc}", file=sys.stderr)
        return 2
    if args.kind == "corrupt-db" and "ran_at" in result:
        print(f"corrupt-db ran at {result['ran_at']}")
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from sandbox.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings(retry_after=args.retry_after, backup_interval=args.backup_interval)
    if args.config:  # component options (e.g. frontdoor_propagation_delay), a JSON object
        settings.extra.update(json.loads(args.config.read_text()))
    estate = Estate.load(args.estate)
    only = None
    if args.components:  # "none": the ARM core only
        only = [c.strip() for c in args.components.split(",") if c.strip() not in ("", "none")]
    return asyncio.run(serve(args.state_dir.resolve(), estate, settings, only, owner_pid=args.owner_pid))


# ---- parser -------------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--state-dir", type=Path, default=Path(".sandbox"), help="where state lives (default .sandbox)"
    )


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--estate", type=Path, help="JSON object overriding estate names (see sandbox/README.md)")
    p.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds for LROs and faults")
    p.add_argument("--backup-interval", type=float, default=300.0, help="seconds between base backups")
    p.add_argument("--components", help="comma-separated component subset (default: all present)")
    p.add_argument("--config", type=Path, help="JSON object of component options (see sandbox/README.md)")
    p.add_argument("--owner-pid", type=int, help="stop by itself when this process exits (test fixtures)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m sandbox", description="A local Azure region pair.")
    sub = root.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start everything in the background; return when ready")
    _common(up)
    _run_options(up)
    up.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop everything `up` started")
    _common(down)
    down.set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="print what runs")
    _common(status)
    status.set_defaults(func=cmd_status)
    serve = sub.add_parser("serve", help="run the sandbox in the foreground (what `up` starts)")
    _common(serve)
    _run_options(serve)
    serve.set_defaults(func=cmd_serve)
    fault = sub.add_parser("fault", help="inject or clear a fault")
    _common(fault)
    fault.add_argument(
        "kind", choices=["region-outage", "heal", "corrupt-db", "replication-lag", "arm-faults", "clear"]
    )
    fault.add_argument("values", nargs="*", help="region / seconds / rate")
    fault.set_defaults(func=cmd_fault)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))
