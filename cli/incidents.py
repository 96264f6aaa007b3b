"""drctl's incident reads: ``incidents`` (the app's incidents, newest first; ``--open``) and ``incident ID``
(one incident; ``--postmortem``: its post-mortem draft as Markdown). Each takes ``--json``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cli.core import JsonFlag, api, app, guarded, out, show_json
from cli.views import esc, utc


def incidents_table(found: list[dict[str, Any]]) -> Table:
    table = Table("id", "severity", "status", "opened (UTC)", "level", "acknowledged by", "runs")
    for incident in found:
        table.add_row(
            esc(incident.get("id")),
            esc(incident.get("severity")),
            esc(incident.get("status")),
            esc(utc(incident.get("opened_at"))),
            esc(incident.get("level") or "-"),
            esc(incident.get("acknowledged_by") or "-"),
            esc(", ".join(str(r) for r in incident.get("runs") or []) or "-"),
        )
    return table


@app.command()
def incidents(
    only_open: Annotated[bool, typer.Option("--open", help="only the open incident")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Incidents, newest first: severity, status, escalation level, who acknowledged, linked runs."""

    def read() -> None:
        found = api().get("incidents", **({"status": "open"} if only_open else {}))
        show_json(found) if as_json else out.print(incidents_table(found.get("incidents") or []))

    guarded(read)


@app.command()
def incident(
    incident_id: Annotated[str, typer.Argument(metavar="ID")],
    postmortem: Annotated[
        bool, typer.Option("--postmortem", help="its post-mortem draft (Markdown)")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """One incident (with its response SLA and last status update), or its post-mortem draft."""

    def read() -> None:
        if postmortem:
            print(api().text(f"incidents/{incident_id}/postmortem"), end="")
            return
        found = api().get(f"incidents/{incident_id}")
        if as_json:
            show_json(found)
            return
        out.print(incidents_table([found]))
        response = (found.get("response") or {}).get("reason") or "response SLA: not judged yet"
        out.print(esc(response))
        out.print(esc(f"last update: {found.get('last_update') or '-'}"))

    guarded(read)
