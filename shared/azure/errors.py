"""The adapter edge: SDK and driver exceptions become TransientError / PreconditionFailed / PermanentError.

Use ``with translated("promote replica", server):`` around every SDK call; the original exception stays
attached as ``__cause__``. 408, 429, 5xx, timeouts and connection failures are transient; 412 is a failed
precondition; everything else (400, 401, 403, 404, 409, a failed long-running operation) is permanent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shared.azure.imports import SDK_IMPORT_LOCK
from shared.errors import ContinuityError, error_for, kind_for_status

_MAX_DETAIL = 300


def _http_detail(exc: BaseException, status: int | None) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or getattr(exc, "reason", None) or type(exc).__name__
    lines = str(exc).splitlines()
    message = getattr(error, "message", None) or (lines[0] if lines else "")
    head = f"HTTP {status} {code}" if status else str(code)
    return f"{head}: {message}"[:_MAX_DETAIL] if message else head


def translate(exc: BaseException, operation: str, resource: str) -> ContinuityError:
    """The Continuity error for an exception raised while doing ``operation`` to ``resource``."""
    if isinstance(exc, ContinuityError):
        return exc
    with SDK_IMPORT_LOCK:
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        if status == 200:  # a long-running operation that ended Failed
            return error_for("permanent", operation, resource, _http_detail(exc, None))
        return error_for(kind_for_status(status), operation, resource, _http_detail(exc, status))
    if isinstance(exc, ServiceRequestError | ServiceResponseError | TimeoutError | ConnectionError):
        return error_for("transient", operation, resource, f"{type(exc).__name__}: {exc}"[:_MAX_DETAIL])
    return error_for("permanent", operation, resource, f"{type(exc).__name__}: {exc}"[:_MAX_DETAIL])


def is_not_found(exc: BaseException) -> bool:
    """True for a 404 from any SDK."""
    return getattr(exc, "status_code", None) == 404


@contextmanager
def translated(operation: str, resource: str) -> Iterator[None]:
    """Translate anything raised inside the block (``raise ... from`` the original)."""
    try:
        yield
    except ContinuityError:
        raise
    except Exception as exc:
        raise translate(exc, operation, resource) from exc
