"""The dashboard in headless Chromium: it shows the estate, follows a run live to its end, lets an
operator approve a waiting run by clicking, and shows a reason containing markup as text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.polling import until
from tests.support.browser import ARTIFACTS, World

HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 1">'


def sign_in(page: Any, world: World) -> list[str]:
    """Open the dashboard, give the key once; returns every URL the page requested from then on."""
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.goto(world.dashboard)
    until(lambda: page.locator("#key-form").is_visible(), "the page asks for the key")
    page.fill("#key", world.host.function_key)
    page.click("#key-form button[type=submit]")
    until(lambda: page.locator("#main").is_visible(), "the dashboard shows once the key is given", 30)
    return urls


def field(page: Any, name: str) -> str:
    return str(page.locator(f'#estate [data-field="{name}"] dd').inner_text())


def test_the_dashboard_shows_the_estate_and_asks_for_the_key_once(page: Any, world: World) -> None:
    urls = sign_in(page, world)
    until(lambda: field(page, "primary region") == "uksouth", "the estate shows", 30)
    assert field(page, "primary server").startswith("qlp-db-uksouth Ready")
    assert field(page, "live slot").startswith("blue")
    assert field(page, "live image") != "-" and field(page, "DR standby image") != "-"
    assert "objective" in field(page, "replica lag") and "objective" in field(page, "latest backup age")
    page.screenshot(path=str(ARTIFACTS / "dashboard-estate.png"), full_page=True)
    page.reload()
    until(lambda: page.locator("#main").is_visible(), "a reload does not ask again", 30)
    assert not page.locator("#key-form").is_visible()
    key = world.host.function_key
    assert urls and not any(key in url for url in urls)  # the key travels in a header only
    assert page.problems == []  # no script error, no Content-Security-Policy violation


def test_a_run_started_through_the_api_progresses_live_to_completion(page: Any, world: World) -> None:
    sign_in(page, world)
    started = world.api("POST", "/api/drills", {"scenario": "complete", "reason": f"quarterly {HOSTILE}"})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    card = page.locator(f'#active article[data-run="{run_id}"]')
    until(lambda: card.count() == 1, "the run shows among the active runs", 60)
    seen: set[str] = set()

    def finished() -> bool:
        if card.count():
            seen.update(card.locator("table.steps td:first-child").all_inner_texts())
            return False
        return page.locator(f'#history tr[data-run="{run_id}"]').count() == 1

    page.screenshot(path=str(ARTIFACTS / "dashboard-run-live.png"), full_page=True)
    until(finished, "the run leaves the active runs and is in the history", 180, interval=0.2)
    assert len(seen) >= 2  # its steps appeared as they ran
    row = page.locator(f'#history tr[data-run="{run_id}"]')
    until(lambda: "succeeded" in row.inner_text(), "the history shows the run succeeded", 30)
    row.click()
    report = page.locator("#report")
    until(lambda: "## Verdict" in report.inner_text(), "the run's report shows", 30)
    text = report.inner_text()
    assert "- verdict: **pass**" in text and HOSTILE in text  # the reason is shown as text
    assert page.evaluate("window.pwned") is None and page.locator("script").count() == 1
    assert page.locator("#chart svg rect").count() >= 1  # its RTO and RPO against the objectives
    page.screenshot(path=str(ARTIFACTS / "dashboard-run-done.png"), full_page=True)
    assert page.problems == []


def test_an_operator_approves_a_waiting_run_by_clicking(page: Any, world: World) -> None:
    sign_in(page, world)
    world.sandbox.fault("region-outage", region="uksouth")
    essentials = {
        "alertId": "/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/browser-1",
        "alertRule": "primary database availability",
        "severity": "Sev0",
        "signalType": "Metric",
        "monitorCondition": "Fired",
        "alertTargetIDs": [resource_id(world)],
        "firedDateTime": datetime.now(UTC).isoformat(),
    }
    alert = {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {"essentials": essentials, "alertContext": {}},
    }
    started = world.api("POST", "/api/alerts", alert)
    assert started.status_code in (200, 202), started.text
    approve = page.locator('#active button[data-action="approve"]')
    until(lambda: approve.count() == 1, "the waiting run offers approve", 90)
    card = page.locator("#active article")
    run_id = card.get_attribute("data-run")
    assert "waiting for approval" in card.inner_text()
    assert approve.is_disabled()  # a note is required
    page.fill(f'#active input[data-note="{run_id}"]', f"checked with the DBA {HOSTILE}")
    until(lambda: approve.is_enabled(), "a note enables approve")
    page.screenshot(path=str(ARTIFACTS / "dashboard-approval.png"), full_page=True)
    approve.click()
    row = page.locator(f'#history tr[data-run="{run_id}"]')
    until(lambda: row.count() == 1 and "succeeded" in row.inner_text(), "the approved failover succeeds", 180)
    # the run's status says succeeded a moment before its runtime status says Completed
    until(lambda: page.locator("#active article").count() == 0, "the finished run leaves the active list", 30)
    until(
        lambda: field(page, "live slot").startswith("standby"),
        "the estate shows traffic in the DR region",
        30,
    )
    row.click()
    until(lambda: "approved" in page.locator("#report").inner_text(), "the report names the approval", 30)
    assert HOSTILE in page.locator("#report").inner_text() and page.evaluate("window.pwned") is None
    assert page.problems == []


def resource_id(world: World) -> str:
    e = world.sandbox.endpoints
    group = f"/subscriptions/{e['subscription_id']}/resourceGroups/{e['resource_groups']['primary']}"
    return f"{group}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{e['servers']['primary']}"
