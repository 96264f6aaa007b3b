"""The error types Continuity raises, and how their messages cross the activity boundary.

::

    ContinuityError            base; message "<kind>: <operation> <resource>: <detail>"
    ├── TransientError         429, 5xx, timeouts, connection errors: retrying may succeed
    ├── PreconditionFailed     the estate is not in a state that allows the action (refused, not failed)
    └── PermanentError         bad request, not found, forbidden, conflict: retrying will not help

Adapters translate SDK exceptions into these with ``raise ... from``. The exception type does not cross
the Durable Functions activity boundary, only its message does, so orchestrators use
:func:`error_kind` / :func:`is_transient` on the message they get back.
"""

from __future__ import annotations

from typing import ClassVar, Literal

ErrorKind = Literal["transient", "precondition", "permanent"]

_KINDS: tuple[ErrorKind, ...] = ("transient", "precondition", "permanent")


class ContinuityError(Exception):
    """Something Continuity tried to do to a resource did not happen."""

    kind: ClassVar[ErrorKind] = "permanent"

    def __init__(self, operation: str, resource: str, detail: str) -> None:
        self.operation = operation
        self.resource = resource
        self.detail = detail
        super().__init__(f"{self.kind}: {operation} {resource}: {detail}")


class TransientError(ContinuityError):
    """Throttled, unavailable, timed out or unreachable: the same call may succeed later."""

    kind: ClassVar[ErrorKind] = "transient"


class PreconditionFailed(ContinuityError):
    """The action was refused because the estate is not in a state that allows it."""

    kind: ClassVar[ErrorKind] = "precondition"


class PermanentError(ContinuityError):
    """The call cannot succeed as made (bad request, not found, forbidden, conflict)."""

    kind: ClassVar[ErrorKind] = "permanent"


def error_kind(message: str) -> ErrorKind | None:
    """The kind named by an error message, also when a host wrapped it ("... failed: transient: ...").

    Returns None for a message that carries none of our prefixes (an unexpected crash).
    """
    positions = {kind: message.find(f"{kind}: ") for kind in _KINDS}
    found = [(pos, kind) for kind, pos in positions.items() if pos >= 0]
    return min(found)[1] if found else None


def is_transient(message: str) -> bool:
    """True when a failure message says retrying may help."""
    return error_kind(message) == "transient"


def kind_for_status(status: int | None) -> ErrorKind:
    """The kind of failure an HTTP status means: 408/429/5xx (or no status at all) are transient."""
    if status is None or status in (408, 429) or status >= 500:
        return "transient"
    if status == 412:
        return "precondition"
    return "permanent"


def error_for(kind: ErrorKind, operation: str, resource: str, detail: str) -> ContinuityError:
    """Build the error of a given kind."""
    cls: type[ContinuityError] = {
        "transient": TransientError,
        "precondition": PreconditionFailed,
        "permanent": PermanentError,
    }[kind]
    return cls(operation, resource, detail)
