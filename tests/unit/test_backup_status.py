"""GET /api/status shows the latest backup-watch result stored by the watch."""

from __future__ import annotations

from shared.config import Settings
from tests.unit.backup_fakes import settings_dict
from triggers import http_api

WATCH = {
    "observed_at": "2026-11-29T12:00:00+00:00",
    "healthy": False,
    "latest_backup_age_seconds": 18000.0,
    "open_breaches": {"backup-age": "2026-11-29T11:45:00+00:00"},
    "checks": [
        {
            "name": "backup-age",
            "ok": False,
            "reason": "latest backup is 5 h 0 min old (alert threshold 4 h 0 min)",
        },
        {"name": "replica", "ok": True, "reason": "replica state is Active, lag 1 s (RPO 900 s)"},
    ],
}


def test_status_carries_the_latest_watch_result_and_its_failing_checks() -> None:
    view = http_api.status_view(Settings.from_dict(settings_dict()), {"backup_watch": WATCH}, [])
    watch = view["backup_watch"]
    assert watch["healthy"] is False and watch["observed_at"] == WATCH["observed_at"]
    assert watch["open_breaches"] == {"backup-age": "2026-11-29T11:45:00+00:00"}
    assert watch["failing"] == ["latest backup is 5 h 0 min old (alert threshold 4 h 0 min)"]


def test_status_without_a_watch_result_says_none_and_names_a_read_error() -> None:
    settings = Settings.from_dict(settings_dict())
    assert http_api.status_view(settings, {}, [])["backup_watch"] is None
    view = http_api.status_view(settings, {"backup_watch": {"error": "permanent: read blob: 403"}}, [])
    assert view["backup_watch"] is None and view["errors"]["backup_watch"] == "permanent: read blob: 403"
