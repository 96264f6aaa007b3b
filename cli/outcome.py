"""What a run's state means for a pipeline: drctl's exit codes.

0 done, 2 rolled back, 3 waiting for approval, 4 timed out or inconclusive, 5 refused, 1 error (failed,
rejected, cancelled, stopped, the API unreachable or refusing the request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DONE, ERROR, ROLLED_BACK, WAITING_FOR_APPROVAL, TIMED_OUT, REFUSED = 0, 1, 2, 3, 4, 5
RUNNING = -1  # not an exit code: the run goes on

_BY_STATUS = {
    "succeeded": DONE,
    "succeeded-with-warnings": DONE,
    "dry-run": DONE,
    "stood-down": DONE,
    "rolled-back": ROLLED_BACK,
    "inconclusive": TIMED_OUT,
    "timed-out": TIMED_OUT,
    "refused": REFUSED,
}
FINISHED_RUNTIME = ("Completed", "Failed", "Terminated", "Canceled")


@dataclass(frozen=True)
class Outcome:
    """Where a run is: its status word, the exit code it means (RUNNING while it goes), and why."""

    status: str
    code: int
    sentence: str


def custom(view: dict[str, Any]) -> dict[str, Any]:
    value = view.get("custom_status")
    return value if isinstance(value, dict) else {}


def outcome_of(view: dict[str, Any]) -> Outcome:
    """The outcome of a run view (GET /api/runs/{id})."""
    status_ = custom(view)
    output = view.get("output") if isinstance(view.get("output"), dict) else {}
    runtime = str(view.get("runtime_status") or "")
    status = str((output or {}).get("status") or status_.get("status") or "")
    summary = str((output or {}).get("summary") or status_.get("reason") or "")
    if runtime not in FINISHED_RUNTIME:
        if status_.get("awaiting") == "approval":
            until = status_.get("waiting_until") or "no deadline"
            return Outcome("awaiting-approval", WAITING_FOR_APPROVAL, f"waiting for approval until {until}")
        return Outcome(status or "running", RUNNING, f"at step {status_.get('step') or '-'}")
    if runtime != "Completed":
        output_text = view.get("output") if isinstance(view.get("output"), str) else ""
        return Outcome(runtime.lower(), ERROR, summary or str(output_text or f"the run is {runtime}"))
    return Outcome(status or "completed", _BY_STATUS.get(status, ERROR), summary or status)
