"""Error types, their messages across the activity boundary, and translation at the adapter edge."""

from __future__ import annotations

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from shared.azure.errors import is_not_found, translate, translated
from shared.errors import (
    ContinuityError,
    PermanentError,
    PreconditionFailed,
    TransientError,
    error_kind,
    is_transient,
    kind_for_status,
)


def http_error(
    status: int, message: str = "boom", cls: type[HttpResponseError] = HttpResponseError
) -> HttpResponseError:
    exc = cls(message=message)
    exc.status_code = status
    return exc


def test_message_names_kind_operation_and_resource() -> None:
    exc = TransientError("promote replica", "qlp-db-ukwest", "HTTP 503 ServiceUnavailable: try later")
    assert str(exc) == "transient: promote replica qlp-db-ukwest: HTTP 503 ServiceUnavailable: try later"
    assert (exc.operation, exc.resource, exc.kind) == ("promote replica", "qlp-db-ukwest", "transient")
    assert isinstance(exc, ContinuityError)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("transient: promote replica x: HTTP 503", "transient"),
        (
            "Activity function 'database_promote_replica' failed: transient: promote replica x: 429",
            "transient",
        ),
        ("precondition: delete server x: refused", "precondition"),
        ("permanent: get server x: not found; a transient: word later", "permanent"),
        ("ZeroDivisionError: division by zero", None),
    ],
)
def test_error_kind_reads_the_first_prefix_even_when_wrapped(message: str, kind: str | None) -> None:
    assert error_kind(message) == kind
    assert is_transient(message) is (kind == "transient")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (None, "transient"),
        (408, "transient"),
        (429, "transient"),
        (500, "transient"),
        (503, "transient"),
        (400, "permanent"),
        (401, "permanent"),
        (403, "permanent"),
        (404, "permanent"),
        (409, "permanent"),
        (412, "precondition"),
    ],
)
def test_kind_for_status(status: int | None, kind: str) -> None:
    assert kind_for_status(status) == kind


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (http_error(429, "Too many requests"), TransientError),
        (http_error(503, "Service unavailable"), TransientError),
        (http_error(404, "gone", ResourceNotFoundError), PermanentError),
        (http_error(409, "conflict"), PermanentError),
        (http_error(412, "etag"), PreconditionFailed),
        (ServiceRequestError("connection refused"), TransientError),
        (ServiceResponseError("connection reset"), TransientError),
        (TimeoutError("timed out"), TransientError),
        (ValueError("odd"), PermanentError),
    ],
)
def test_translate_maps_sdk_exceptions(exc: Exception, cls: type[ContinuityError]) -> None:
    translated_exc = translate(exc, "switch route", "route-qlp")
    assert type(translated_exc) is cls
    assert str(translated_exc).startswith(f"{cls.kind}: switch route route-qlp: ")


def test_a_failed_long_running_operation_is_permanent() -> None:
    exc = translate(http_error(200, "Operation failed: replica not ready"), "promote replica", "db")
    assert isinstance(exc, PermanentError) and "replica not ready" in str(exc)


def test_translated_raises_from_the_original() -> None:
    original = http_error(503, "unavailable")
    with pytest.raises(TransientError) as caught, translated("start server", "qlp-db-ukwest"):
        raise original
    assert caught.value.__cause__ is original
    assert is_not_found(http_error(404, "x")) and not is_not_found(original)
    assert "HTTP 503" in str(caught.value)


def test_translated_lets_our_own_errors_through_unchanged() -> None:
    ours = PreconditionFailed("delete server", "qlp-db-uksouth", "refused: not created by Continuity")
    with pytest.raises(PreconditionFailed) as caught, translated("outer", "x"):
        raise ours
    assert caught.value is ours


def test_long_details_are_truncated() -> None:
    exc = translate(http_error(500, "x" * 2000), "op", "res")
    assert len(str(exc)) < 400
