"""What every drctl command shares: the Typer app, the API it talks to, one way to report an error, and
following a run (live on a terminal) to the exit code its outcome means (cli/outcome.py)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from cli import outcome, views
from cli.client import Api, ApiError, Conflict
from cli.settings import resolve

app = typer.Typer(
    name="drctl",
    help="Continuity's operator command line: the estate, runs, DR operations and releases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
STATE: dict[str, Any] = {}

JsonFlag = Annotated[bool, typer.Option("--json", help="print the API's JSON answer")]
Wait = Annotated[bool, typer.Option("--wait", help="follow the run until it ends or waits for approval")]
Timeout = Annotated[float, typer.Option("--timeout", help="seconds --wait waits at most (then exit 4)")]
Reason = Annotated[str, typer.Option("--reason", help="why, in a sentence (goes in the report)")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="decide and change nothing; print the plan")]


@app.callback()
def configure(
    url: Annotated[str | None, typer.Option("--url", help="API base, e.g. http://127.0.0.1:7071/api")] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="function key (default: DRCTL_KEY or the file)")
    ] = None,
) -> None:
    """Where the API is: --url/--key, else DRCTL_URL/DRCTL_KEY, else .devhost/drctl.json from `make run`."""
    STATE["api"] = Api(resolve(url, key))


def api() -> Api:
    found = STATE.get("api")
    return found if isinstance(found, Api) else Api(resolve())


def guarded(action: Callable[[], int | None]) -> None:
    """Run a command: API errors become one clear line on stderr and their exit code."""
    try:
        code = action() or 0
    except Conflict as refused:
        err.print(f"[red]drctl:[/] {refused}", markup=True, highlight=False)
        raise typer.Exit(outcome.REFUSED) from None
    except ApiError as failed:
        err.print(f"[red]drctl:[/] {failed}", markup=True, highlight=False)
        raise typer.Exit(outcome.ERROR) from None
    raise typer.Exit(code)


def show_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str)) if sys.stdout.isatty() else print(
        json.dumps(value, indent=2, default=str)
    )


# ---- following a run ------------------------------------------------------------------------------------
def poll_seconds() -> float:
    return float(os.environ.get("DRCTL_POLL_SECONDS", "1"))


def follow(run_id: str, *, timeout: float, as_json: bool, stop_at_approval: bool) -> int:
    """Poll the run until it ends (or waits for approval, when asked); show it live on a terminal."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    live = Live(console=out, auto_refresh=False, transient=False) if out.is_terminal and not as_json else None
    view: dict[str, Any] = {}
    code = outcome.RUNNING
    try:
        if live:
            live.start()
        while True:
            view = api().get(f"runs/{run_id}")
            found = outcome.outcome_of(view)
            if live:
                live.update(views.run_tree(view, datetime.now().astimezone()), refresh=True)
            if found.code not in (outcome.RUNNING, outcome.WAITING_FOR_APPROVAL) or (
                found.code == outcome.WAITING_FOR_APPROVAL and stop_at_approval
            ):
                code = found.code
                break
            if deadline is not None and time.monotonic() >= deadline:
                code = outcome.TIMED_OUT
                break
            time.sleep(poll_seconds())
    finally:
        if live:
            live.stop()
    if as_json:
        show_json(view)
    elif not live:
        out.print(views.run_tree(view))
    if code == outcome.TIMED_OUT:
        err.print(f"drctl: {run_id} is still {outcome.outcome_of(view).status} after {timeout:g} s (exit 4)")
    elif code == outcome.WAITING_FOR_APPROVAL:
        err.print(f"drctl: {run_id} waits for approval: drctl approve {run_id} --note '...' (exit 3)")
    return code


def start(path: str, body: dict[str, Any], *, wait: bool, timeout: float, as_json: bool) -> int:
    """POST a start and print the run, or a dry run's plan; with --wait follow the run."""
    answer = api().post(path, body)
    run_id = str(answer.get("id") or "")
    if answer.get("status") != "started" and not answer.get("statusQueryGetUri"):  # a dry run's answer
        show_json(answer) if as_json else out.print(views.plan(answer))
        if not answer.get("status"):
            return outcome.DONE
        return outcome.outcome_of({"runtime_status": "Completed", "output": answer}).code
    if not wait:
        show_json(answer) if as_json else out.print(views.started(answer))
        return outcome.DONE
    if not as_json:
        out.print(f"started {run_id}")
    return follow(run_id, timeout=timeout, as_json=as_json, stop_at_approval=True)
