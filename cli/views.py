"""How drctl shows things (Rich): the estate, lists of runs, a run as a live tree, its decisions, releases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from cli.outcome import RUNNING, custom, outcome_of

MARKS = {"succeeded": "[green]✔[/]", "failed": "[red]✘[/]", "skipped": "[dim]-[/]", "running": "[yellow]…[/]"}


def moment(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def utc(value: Any) -> str:
    found = moment(value)
    return found.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if found else "-"


def span(seconds: float | None) -> str:
    """'0.4 s', '12 s', '3 min 5 s', '2 h 4 min'; '-' when unknown."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def between(start: Any, end: Any, now: datetime) -> float | None:
    begun = moment(start)
    if begun is None:
        return None
    return ((moment(end) or now) - begun).total_seconds()


def plain(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(plain(v) for v in value) or "-"
    return str(value)


def esc(value: Any) -> Text:
    """Text from the API is shown as text, never read as Rich markup."""
    return Text(plain(value))


# ---- status -------------------------------------------------------------------------------------------
def against(value: float | None, limit: float | None, unit: str = "s") -> Text:
    if value is None:
        return Text("not measured", style="yellow")
    shown = span(value) if unit == "s" else f"{value}"
    if limit is None:
        return Text(shown)
    ok = value <= limit
    return Text(f"{shown} (objective {span(limit)})", style="green" if ok else "red")


def status_table(status: dict[str, Any]) -> RenderableType:
    objectives = status.get("objectives") or {}
    rpo = float(objectives["rpo_minutes"]) * 60 if objectives.get("rpo_minutes") is not None else None
    age_limit = objectives.get("backup_age_alert_hours")
    servers = status.get("servers") or {}
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, RenderableType]] = [
        ("app", esc(status.get("app"))),
        ("primary region", esc(status.get("primary_region"))),
        ("primary server", esc(_server(servers.get("primary")) or status.get("primary_server"))),
        ("replica", esc(_server(servers.get("replica")))),
        ("replica lag", against(status.get("replica_lag_seconds"), rpo)),
        (
            "latest backup age",
            against(status.get("latest_backup_age_seconds"), float(age_limit) * 3600 if age_limit else None),
        ),
        ("live slot", esc(f"{plain(status.get('live_slot'))} ({plain(status.get('origin_group'))})")),
        ("live image", esc(status.get("live_image"))),
        ("DR standby image", esc(status.get("standby_image"))),
        ("running", esc(", ".join(status.get("running_operations") or []) or "nothing")),
        ("last drill", esc(_run_line(status.get("last_drill")))),
        ("last restore test", esc(_run_line(status.get("last_restore_test")))),
        ("objectives", esc(objectives)),
    ]
    watch = status.get("backup_watch")
    if isinstance(watch, dict):
        rows.append(
            (
                "backup watch",
                esc("healthy" if watch.get("healthy") else "; ".join(watch.get("failing") or [])),
            )
        )
    rows.append(("readiness", _readiness(status.get("readiness"))))
    for name, error in (status.get("errors") or {}).items():
        rows.append((f"unreadable: {name}", Text(str(error), style="red")))
    for name, value in rows:
        table.add_row(name, value)
    return table


def _readiness(found: Any) -> RenderableType:
    """'83/100 at <UTC>' and one line per check that does not pass; 'not scored yet' before the timer ran."""
    if not isinstance(found, dict):
        return esc("not scored yet")
    lines = [f"{found.get('score')}/100 at {utc(found.get('observed_at'))}"]
    lines += [f"{c.get('name')} {c.get('result')}: {c.get('reason')}" for c in found.get("failing") or []]
    return Text("\n".join(lines), style="green" if not found.get("failing") else "yellow")


def _server(server: Any) -> str:
    if not isinstance(server, dict):
        return ""
    parts = [server.get("name"), server.get("state"), server.get("location")]
    return " ".join(str(p) for p in parts if p) + (f" ({server['role']})" if server.get("role") else "")


def _run_line(run: Any) -> str:
    if not isinstance(run, dict):
        return "never"
    return f"{run.get('status')} {utc(run.get('started_at'))} {run.get('run_id')}"


# ---- runs ---------------------------------------------------------------------------------------------
def runs_table(runs: list[dict[str, Any]]) -> Table:
    table = Table("id", "operation", "status", "created (UTC)", "step / summary")
    for run in runs:
        found = outcome_of(run)
        table.add_row(
            esc(run.get("id")),
            esc(run.get("operation") or custom(run).get("operation")),
            esc(found.status),
            esc(utc(run.get("created"))),
            esc(found.sentence),
        )
    return table


def run_tree(view: dict[str, Any], now: datetime | None = None) -> Tree:
    """A run as a tree of its steps with durations, and the current wait with its deadline."""
    now = now or datetime.now(UTC)
    status = custom(view)
    found = outcome_of(view)
    head = Text.assemble(
        (plain(view.get("id")), "bold"),
        f"  {plain(view.get('operation') or status.get('operation'))}  ",
        (found.status, "green" if found.code == 0 else "yellow" if found.code == RUNNING else "red"),
    )
    tree = Tree(head)
    for step in status.get("steps") or []:
        outcome = str(step.get("outcome") or "")
        took = span(between(step.get("started_at"), step.get("ended_at"), now))
        line = Text.from_markup(MARKS.get(outcome, "?") + " ")
        line.append(f"{step.get('name')}  ")
        line.append(f"{outcome} " + (f"for {took}" if outcome == "running" else took), style="dim")
        tree.add(line)
    for wait in status.get("waits") or []:
        waited = span(between(wait.get("started_at"), wait.get("ended_at"), now))
        if wait.get("ended_at"):
            tree.add(Text(f"⏸ waited {waited} for {wait.get('what')}", style="dim"))
    if status.get("awaiting"):
        until = moment(status.get("waiting_until"))
        left = (
            f", deadline {utc(until)} (in {span(max(0.0, (until - now).total_seconds()))})" if until else ""
        )
        tree.add(Text(f"⏸ waiting for {status['awaiting']}{left}", style="bold yellow"))
    if found.sentence and found.code != RUNNING:
        tree.add(Text(found.sentence, style="italic"))
    elif status.get("reason"):
        tree.add(Text(f"last decision: {status.get('last_decision')}: {status['reason']}", style="italic"))
    return tree


def why_table(decisions: list[dict[str, Any]]) -> Table:
    """The chain of decisions of a run, in order, each with its reason and safety rule."""
    table = Table("#", "at (UTC)", "step", "decision", "reason", "rule")
    for number, d in enumerate(decisions, 1):
        table.add_row(
            str(number),
            esc(utc(d.get("at"))),
            esc(d.get("step")),
            esc(d.get("action")),
            esc(d.get("reason")),
            esc(d.get("rule")),
        )
    return table


def slots_table(found: dict[str, Any]) -> Table:
    """GET /api/releases' view of the slots: what runs where now."""
    table = Table("", "group", "image", "state", title=f"live slot: {plain(found.get('live_slot'))}")
    for name in ("live", "idle", "standby"):
        group = found.get(name) or {}
        table.add_row(name, esc(group.get("group")), esc(group.get("image")), esc(group.get("state")))
    if found.get("mismatch"):
        table.caption = str(found["mismatch"])
    return table


def releases_table(releases: list[dict[str, Any]]) -> Table:
    table = Table("at (UTC)", "kind", "image", "slot", "schema", "outcome", "run")
    for event in releases:
        table.add_row(
            esc(utc(event.get("at"))),
            esc(event.get("kind")),
            esc(event.get("image")),
            esc(event.get("slot")),
            esc(event.get("schema_version")),
            esc(event.get("outcome")),
            esc(event.get("run_id")),
        )
    return table


def started(answer: dict[str, Any]) -> RenderableType:
    run_id = plain(answer.get("id"))
    return Group(Text(f"started {run_id}"), Text(f"watch it: drctl run {run_id} --watch", style="dim"))


def plan(answer: dict[str, Any]) -> RenderableType:
    """A dry run's answer: what it would do and why, nothing changed."""
    from rich.pretty import Pretty

    decisions = answer.get("decisions") or []
    summary = plain(answer.get("summary")) if answer.get("summary") else ""
    parts: list[RenderableType] = (
        [] if summary.startswith("dry run") else [Text("dry run: nothing was changed")]
    )
    if summary:
        parts.append(Text(summary, style="bold"))
    if answer.get("plan") is not None:
        parts.append(Pretty(answer.get("plan")))
    if decisions:
        parts.append(why_table(decisions))
    return Group(*parts)
