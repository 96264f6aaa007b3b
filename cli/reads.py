"""drctl's reads: status, runs, run (with --watch), why, report, releases. Each takes ``--json``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli import outcome, views
from cli.client import ApiError
from cli.core import JsonFlag, Timeout, api, app, follow, guarded, out, show_json


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """The estate now: regions, primary, replica lag and backup age against objectives, slots, last drill."""

    def read() -> None:
        found = api().get("status")
        show_json(found) if as_json else out.print(views.status_table(found))

    guarded(read)


@app.command()
def runs(
    operation: Annotated[str, typer.Option(help="only this operation, e.g. failover")] = "",
    status: Annotated[str, typer.Option("--status", help="only this runtime status, e.g. Running")] = "",
    limit: Annotated[int, typer.Option(help="at most this many (1-500)")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Runs, newest first."""

    def read() -> None:
        found = api().get("runs", operation=operation, status=status, limit=str(limit))
        show_json(found) if as_json else out.print(views.runs_table(found.get("runs") or []))

    guarded(read)


@app.command()
def run(
    run_id: Annotated[str, typer.Argument(metavar="ID")],
    watch: Annotated[bool, typer.Option("--watch", help="a live tree until the run ends")] = False,
    timeout: Timeout = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """One run: its steps with durations, the current wait and its deadline (exit code: its outcome)."""

    def read() -> int:
        if watch:
            return follow(run_id, timeout=timeout, as_json=as_json, stop_at_approval=False)
        view = api().get(f"runs/{run_id}")
        show_json(view) if as_json else out.print(views.run_tree(view))
        found = outcome.outcome_of(view)
        return 0 if found.code == outcome.RUNNING else found.code

    guarded(read)


@app.command()
def why(run_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonFlag = False) -> None:
    """The chain of decisions of a run and their reasons (with the safety rule each enforces)."""

    def read() -> None:
        decisions = decisions_of(run_id)
        if as_json:
            show_json(decisions)
            return
        out.print(views.why_table(decisions))

    guarded(read)


def decisions_of(run_id: str) -> list[dict[str, Any]]:
    """Every decision, from the report (the custom status keeps only the latest)."""
    try:
        report = api().get(f"runs/{run_id}/report")
        return list(report.get("decisions") or [])
    except ApiError as missing:
        if missing.status != 404:
            raise
    view = api().get(f"runs/{run_id}")
    return list(outcome.custom(view).get("decisions") or [])


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(metavar="ID")],
    markdown: Annotated[bool, typer.Option("--markdown", help="the report for people, as Markdown")] = False,
    as_json: JsonFlag = False,
) -> None:
    """A run's report: JSON (default, or --json), or Markdown."""

    def read() -> None:
        if markdown and not as_json:
            print(api().text(f"runs/{run_id}/report", format="markdown"), end="")
        else:
            show_json(api().get(f"runs/{run_id}/report"))

    guarded(read)


@app.command()
def releases(as_json: JsonFlag = False) -> None:
    """What runs where (live and idle slot, DR standby) and every release event: deploys, rollbacks and
    migrations with image, slot, schema version and outcome."""

    def read() -> None:
        found = api().get("releases")
        if as_json:
            show_json(found)
            return
        out.print(views.slots_table(found))
        out.print(views.releases_table(list(found.get("history") or [])))

    guarded(read)
