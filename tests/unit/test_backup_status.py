"""GET /api/status: the estate as observed (shared.estate.status driven with fake reads) and its view."""

from __future__ import annotations

from typing import Any

from shared import estate, names
from shared.config import Settings
from tests.support.durable import reads_from
from tests.support.estate import PITR, SOUTH, WEST
from tests.support.estate import estate as observed
from tests.support.settings import backup_settings
from triggers.status_api import status_view

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
SETTINGS = Settings.from_dict(backup_settings())


def test_status_carries_the_latest_watch_result_and_its_failing_checks() -> None:
    view = status_view(SETTINGS, {"backup_watch": WATCH}, [])
    watch = view["backup_watch"]
    assert watch["healthy"] is False and watch["observed_at"] == WATCH["observed_at"]
    assert watch["open_breaches"] == {"backup-age": "2026-11-29T11:45:00+00:00"}
    assert watch["failing"] == ["latest backup is 5 h 0 min old (alert threshold 4 h 0 min)"]


def test_status_without_a_watch_result_says_none_and_names_a_read_error() -> None:
    assert status_view(SETTINGS, {}, [])["backup_watch"] is None
    view = status_view(SETTINGS, {"backup_watch": {"error": "permanent: read blob: 403"}}, [])
    assert view["backup_watch"] is None and view["errors"]["backup_watch"] == "permanent: read blob: 403"


def reads(state: str, **more: Any) -> dict[str, Any]:
    return {
        **observed(state),
        names.TRAFFIC_GET_ROUTE: lambda p: {"origin_group": "og-blue"},
        names.STORAGE_READ_STATE: lambda p: (
            {"found": True, "state": WATCH} if p["name"] == "backup-watch-qlp" else {}
        ),
        names.DATABASE_LIST_BACKUPS: lambda p: {"server": p["server"], "latest_age_seconds": 600},
        names.DATABASE_GET_REPLICATION_LAG: lambda p: {"server": p["server"], "lag_seconds": 4.0},
        **more,
    }


def test_the_observed_status_follows_the_primary_found_now() -> None:
    found = reads_from(reads("switched-over"))(estate.status(SETTINGS))
    assert found["primary"]["primary"] == WEST and found["primary"]["replica"] == SOUTH
    assert found["primary_server"]["name"] == WEST and found["replica_server"]["name"] == SOUTH
    assert (found["latest_backup"]["server"], found["replica_lag_seconds"]) == (WEST, 4.0)
    view = status_view(SETTINGS, found, [])
    assert view["primary_server"] == WEST and view["backup_watch"]["healthy"] is False
    assert view["latest_backup_age_seconds"] == 600
    restored = reads_from(reads("restored"))(estate.status(SETTINGS))
    assert restored["primary"]["primary"] == PITR


def test_no_primary_shows_the_candidates_as_observed_and_reads_no_backups() -> None:
    asked: list[str] = []
    found = reads_from(
        reads("split", **{names.DATABASE_LIST_BACKUPS: lambda p: asked.append(p["server"]) or {}})
    )(estate.status(SETTINGS))
    assert found["primary"]["action"] == "refuse" and asked == []
    assert (found["primary_server"]["name"], found["replica_server"]["name"]) == (SOUTH, WEST)
    assert status_view(SETTINGS, found, [])["primary_server"] is None


def test_a_failed_lag_read_is_an_error_not_a_figure() -> None:
    failing = {
        names.DATABASE_GET_REPLICATION_LAG: lambda p: (_ for _ in ()).throw(RuntimeError("transient: 503"))
    }
    found = reads_from(reads("home", **failing))(estate.status(SETTINGS))
    assert found["replica_lag_seconds"] is None and "transient: 503" in found["replica_lag"]["error"]
    assert "replica_lag" in status_view(SETTINGS, found, [])["errors"]


def test_the_status_reads_every_slots_container_group() -> None:
    groups = {
        names.CONTAINERS_GET_GROUP: lambda p: {"group": p["group"], "state": "Running", "image": "app:2"}
    }
    found = reads_from(reads("home", **groups))(estate.status(SETTINGS))
    assert set(found["slots"]) == {"blue", "green", "standby"}
    assert found["slots"]["standby"] == {
        "group": SETTINGS.container_group_standby,
        "state": "Running",
        "image": "app:2",
    }
    view = status_view(SETTINGS, found, [])
    assert view["live_image"] == "app:2" and view["standby_image"] == "app:2"
