"""drctl's starts and answers: every field of each API body as an option, ``--dry-run`` where the API has
one, ``--wait --timeout`` on every start; approve / reject / cancel with a note.

The deploy, rollback, migrate and releases commands follow the deployments API: POST /api/deployments
{image, reason, dry_run, not_before, change_id, force_window, retry_quarantined}, POST /api/rollback
{reason, to_image, force}, POST /api/migrations {image, reason, target_version, class, dry_run};
maintenance follows POST /api/maintenance {enabled, reason}.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from cli import outcome
from cli.core import DryRun, JsonFlag, Reason, Timeout, Wait, api, app, guarded, out, show_json, start
from cli.views import esc, utc


class Mode(StrEnum):
    auto = "auto"
    planned = "planned"
    forced = "forced"


class Slot(StrEnum):
    blue = "blue"
    green = "green"


class Scenario(StrEnum):
    restore = "restore"
    database = "database"
    region = "region"
    complete = "complete"
    security = "security"


class MigrationClass(StrEnum):
    expand = "expand"
    contract = "contract"
    breaking = "breaking"


def launch(path: str, body: dict[str, Any], wait: bool, timeout: float, as_json: bool) -> None:
    guarded(lambda: start(path, body, wait=wait, timeout=timeout, as_json=as_json))


@app.command()
def failover(
    reason: Reason,
    mode: Annotated[
        Mode, typer.Option(help="auto: as the primary's state says; planned; forced")
    ] = Mode.auto,
    dry_run: DryRun = False,
    wait: Wait = False,
    timeout: Timeout = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Fail over to the DR region."""
    body = {"reason": reason, "mode": mode.value, "dry_run": dry_run}
    launch("failover", body, wait, timeout, as_json)


@app.command()
def failback(
    reason: Reason,
    slot: Annotated[Slot, typer.Option(help="the home slot to bring back")] = Slot.blue,
    wait: Wait = False,
    timeout: Timeout = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Return to the home region with zero data loss (planned switchover)."""
    launch("failback", {"reason": reason, "slot": slot.value}, wait, timeout, as_json)


@app.command()
def restore(
    point: Annotated[str, typer.Option("--point", help="restore point, ISO 8601 with a zone")],
    reason: Reason,
    switch: Annotated[bool, typer.Option("--switch", help="point the app at the restored server")] = False,
    dry_run: DryRun = False,
    wait: Wait = False,
    timeout: Timeout = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Restore the primary to a point in time into a new server (never over the source)."""
    body = {"restore_point": point, "reason": reason, "switch": switch, "dry_run": dry_run}
    launch("restore", body, wait, timeout, as_json)


@app.command()
def drill(
    scenario: Annotated[
        Scenario, typer.Argument(help="restore (a restore test), database, region, complete, security")
    ],
    reason: Annotated[str | None, typer.Option("--reason", help="why (default: '<scenario> drill')")] = None,
    wait: Wait = False,
    timeout: Timeout = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Run a restore test or a drill in practice mode (production traffic is not moved)."""
    launch("drills", {"scenario": scenario.value, "reason": reason}, wait, timeout, as_json)


@app.command()
def deploy(
    image: Annotated[str, typer.Argument(help="the image to deploy to the idle slot")],
    reason: Reason,
    dry_run: DryRun = False,
    not_before: Annotated[str | None, typer.Option(help="start no earlier (ISO 8601 with a zone)")] = None,
    change_id: Annotated[str | None, typer.Option(help="the change record this deploy belongs to")] = None,
    force_window: Annotated[bool, typer.Option(help="deploy outside the change window")] = False,
    retry_quarantined: Annotated[
        bool, typer.Option(help="deploy an image that was rolled back (rule 10; the reason says why)")
    ] = False,
    wait: Wait = False,
    timeout: Timeout = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Blue-green deploy of IMAGE (exit 2 when it was rolled back automatically)."""
    body = {
        "image": image,
        "reason": reason,
        "dry_run": dry_run,
        "not_before": not_before,
        "change_id": change_id,
        "force_window": force_window,
        "retry_quarantined": retry_quarantined,
    }
    launch("deployments", body, wait, timeout, as_json)


@app.command()
def rollback(
    reason: Reason,
    to_image: Annotated[
        str | None, typer.Option(help="roll back to this image (default: the previous)")
    ] = None,
    force: Annotated[bool, typer.Option(help="onto a schema the image never ran on (rule 9)")] = False,
    wait: Wait = False,
    timeout: Timeout = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Switch traffic back to the previous release."""
    launch("rollback", {"reason": reason, "to_image": to_image, "force": force}, wait, timeout, as_json)


@app.command()
def migrate(
    image: Annotated[str, typer.Argument(help="the migration job's image")],
    reason: Reason,
    target_version: Annotated[int, typer.Option(min=0, help="the schema version the migration reaches")],
    migration_class: Annotated[
        MigrationClass, typer.Option("--class", help="expand (online), contract, breaking (maintenance mode)")
    ],
    dry_run: DryRun = False,
    wait: Wait = False,
    timeout: Timeout = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Run a schema migration (after a real backup)."""
    body = {
        "image": image,
        "reason": reason,
        "target_version": target_version,
        "class": migration_class.value,
        "dry_run": dry_run,
    }
    launch("migrations", body, wait, timeout, as_json)


class Switch(StrEnum):
    on = "on"
    off = "off"


@app.command()
def maintenance(
    mode: Annotated[Switch, typer.Argument(help="on: writes answer 503; off: writes work again")],
    reason: Reason,
    wait: Wait = False,
    timeout: Timeout = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Turn maintenance mode on or off on the running slots (the way out after a failed migration)."""
    launch("maintenance", {"enabled": mode is Switch.on, "reason": reason}, wait, timeout, as_json)


# ---- answers ------------------------------------------------------------------------------------------
Note = Annotated[str, typer.Option("--note", help="why (goes in the report)")]
RunId = Annotated[str, typer.Argument(metavar="ID")]


def answer(action: str, run_id: str, note: str, as_json: bool) -> None:
    def send() -> int:
        delivered = api().post(f"runs/{run_id}/{action}", {"note": note})
        show_json(delivered) if as_json else out.print(
            f"{action} delivered to {run_id} (by {delivered.get('by')})"
        )
        return outcome.DONE

    guarded(send)


@app.command()
def approve(run_id: RunId, note: Note, as_json: JsonFlag = False) -> None:
    """Approve a run that waits for an operator."""
    answer("approve", run_id, note, as_json)


@app.command()
def reject(run_id: RunId, note: Note, as_json: JsonFlag = False) -> None:
    """Reject a run that waits for an operator (it stops)."""
    answer("reject", run_id, note, as_json)


@app.command()
def cancel(run_id: RunId, note: Note, as_json: JsonFlag = False) -> None:
    """Cancel a run at a decision point."""
    answer("cancel", run_id, note, as_json)


@app.command()
def tabletop(
    run_id: RunId,
    answers: Annotated[
        list[str] | None,
        typer.Option("--answer", help="N=TEXT: an answer to checklist item N (repeat for more items)"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The security drill's tabletop checklist with its answers; --answer records answers (kept, never
    replaced; who answered is you, as the API authenticates you)."""

    def send() -> int:
        given: dict[str, str] = {}
        for entry in answers or []:
            number, sep, text = entry.partition("=")
            if not sep or not number.strip().isdigit():
                raise typer.BadParameter(f"{entry!r}: an answer is N=TEXT", param_hint="--answer")
            given[number.strip()] = text
        path = f"drills/{run_id}/tabletop"
        found = api().post(path, {"answers": given}) if given else api().get(path)
        if as_json:
            show_json(found)
            return outcome.DONE
        for item in found.get("checklist") or []:
            out.print(esc(f"{item.get('item')}. {item.get('text')}"))
            for a in item.get("answers") or []:
                out.print(esc(f"   - {a.get('answer')} ({a.get('by')}, {utc(a.get('at'))})"))
            if not item.get("answers"):
                out.print("   (for the tabletop)")
        open_items = ", ".join(str(n) for n in found.get("open") or []) or "none"
        total = len(found.get("checklist") or [])
        out.print(esc(f"answered {found.get('answered')} of {total}; open: {open_items}"))
        return outcome.DONE

    guarded(send)
