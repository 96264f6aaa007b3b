"""The end-to-end tests' world and what they do with it: a sandbox, devhost serving function_app on it,
a notification receiver; call the API, wait for runs, read their reports and the backup watch's state,
count rows.

Host-level helpers (``post``, ``wait_run``, ``run_report``, ``watch_tick``, ...) take a DevhostProcess,
for tests that share one estate per module; ``Estate`` bundles one scenario's sandbox, host and
receiver (``tests/e2e/conftest.py`` ``estate_factory``) and offers the same through methods. Every wait
polls a condition with a generous deadline (tests/polling.py).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests

from sandbox.app_settings import app_settings
from sandbox.client import SandboxClient
from tests.fixtures.devhost import ROOT, DevhostProcess
from tests.polling import until
from tests.support.receiver import Receiver

API = "api-version=2026-10-01"
NEVER = "0 0 0 1 1 *"  # timers that only run when a test asks (admin endpoint)
SCHEDULES = {
    "HEALTH_PROBE_SCHEDULE": NEVER,
    "BACKUP_WATCH_SCHEDULE": NEVER,
    "RESTORE_TEST_SCHEDULE": NEVER,
    "DRILL_SCHEDULE": NEVER,
    "LTR_BACKUP_SCHEDULE": NEVER,
    "LTR_PROOF_SCHEDULE": NEVER,
    "WATCHDOG_SCHEDULE": NEVER,
    "READINESS_SCHEDULE": NEVER,
    "ALERT_VERIFICATION_SCHEDULE": NEVER,
    "FAILOVER_VALIDATION_SCHEDULE": NEVER,
    "PERFORMANCE_BASELINE_SCHEDULE": NEVER,
    "HEALTH_CHECK_VALIDATION_SCHEDULE": NEVER,
    "BACKUP_INTEGRITY_SCHEDULE": NEVER,
}
# Long-term backups are off unless a scenario turns them on (backup_storage_account=...): the backup
# watch of the other scenarios then judges only what they are about.
WITHOUT_LTR = {"BACKUP_STORAGE_ACCOUNT": ""}
# Short confirmation and zero grace, so that failover scenarios run in seconds.
FAST_FAILOVER = {
    "GRACE_PERIOD_SECONDS": "0",
    "CONFIRM_PROBES": "3",
    "CONFIRM_INTERVAL_SECONDS": "0.2",
    "PROBE_TIMEOUT_SECONDS": "3",
    "APPROVAL_TIMEOUT_MINUTES": "30",
}
# Front Door changes reach the router only after a few seconds, as in Azure (minutes there): every
# "verify through the public endpoint" path is exercised with a delay.
SANDBOX_CONFIG: dict[str, object] = {"frontdoor_propagation_delay": 3.0}
FINISHED = ("Completed", "Failed", "Terminated", "Canceled")
RUN_DEADLINE = 120.0
RESTORE_DEADLINE = 150.0  # runs that restore a server (restore tests, drills, restores)
HOOK_PATH = "/hook"
SERVER_PROVIDER = "Microsoft.DBforPostgreSQL/flexibleServers"
View = dict[str, Any]


# ---- devhost on a sandbox --------------------------------------------------------------------------------
def app_env(sb: SandboxClient, receiver: Receiver, **overrides: str) -> dict[str, str]:
    """The app settings for devhost on this sandbox, notifying ``receiver``; timers never fire by
    themselves. ``overrides`` name settings without their prefix, in any case (rpo_minutes="1")."""
    values = {f"CONTINUITY_{k.upper()}": v for k, v in {**SCHEDULES, **WITHOUT_LTR, **overrides}.items()}
    values["CONTINUITY_WEBHOOK_URL"] = receiver.url + HOOK_PATH
    return app_settings(sb.endpoints, overrides=values)


def start_devhost(env: Mapping[str, str]) -> DevhostProcess:
    """devhost serving function_app with ``env``; the caller stops it."""
    work = Path(tempfile.mkdtemp(prefix="continuity-e2e-devhost-"))
    host = DevhostProcess(
        app="function_app", cwd=ROOT, env=env, state_dir=work / "state", log_path=work / "devhost.log"
    )
    return host.start()


# ---- the API ---------------------------------------------------------------------------------------------
def call(host: DevhostProcess, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
    """One API request with the function key (``body`` as JSON when given)."""
    if body is not None:
        kwargs["json"] = body
    return host.request(method, path, key="function", **kwargs)


def post(host: DevhostProcess, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    resp = call(host, "POST", path, body)
    return resp.status_code, resp.json()


def started(resp: requests.Response) -> str:
    """The run id a start answered (202 {"id", "links"}); fails on anything else."""
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["links"]["run"].endswith(f"/api/runs/{body['id']}"), body
    return str(body["id"])


def run_view(host: DevhostProcess, iid: str) -> View:
    """GET /api/runs/{iid}: the run's view, or {} when it is not known (yet)."""
    resp = call(host, "GET", f"/api/runs/{iid}")
    return dict(resp.json()) if resp.status_code == 200 else {}


def finished(view: View) -> bool:
    return view.get("runtime_status") in FINISHED


def wait_run(
    host: DevhostProcess, iid: str, done: Callable[[View], bool] = finished, timeout: float = RUN_DEADLINE
) -> View:
    """Poll GET /api/runs/{iid} until ``done(view)``; fail with the last view (at once when the run has
    finished without it)."""
    last: list[View] = [{}]

    def reached() -> View | None:
        view = last[0] = run_view(host, iid)
        if view and done(view):
            return view
        assert not finished(view), f"run {iid} finished in another state: {json.dumps(view)[:3000]}"
        return None

    def what() -> str:
        return f"run {iid} reaches the expected state; last: {json.dumps(last[0])[:3000]}\n{host.log[-3000:]}"

    return until(reached, what, timeout, interval=0.25)


def run_report(host: DevhostProcess, iid: str, **params: str) -> Any:
    """GET /api/runs/{iid}/report: the run's JSON report (``format="markdown"``: its Markdown text)."""
    resp = call(host, "GET", f"/api/runs/{iid}/report", params=params)
    assert resp.status_code == 200, (iid, resp.status_code, resp.text)
    return resp.text if params.get("format") == "markdown" else resp.json()


def listed(host: DevhostProcess, **params: str) -> list[View]:
    """GET /api/runs?...: the runs listed, newest first."""
    resp = call(host, "GET", "/api/runs", params=params)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["runs"])


def durable_status(host: DevhostProcess, iid: str) -> View:
    """The Durable extension's own status of an instance ({} when it has none)."""
    resp = host.request("GET", f"/runtime/webhooks/durabletask/instances/{iid}", key="master")
    return dict(resp.json()) if resp.status_code in (200, 202) and resp.content else {}


def run_timer(host: DevhostProcess, name: str) -> None:
    """Run a timer function now, as the host's admin endpoint does."""
    resp = host.request("POST", f"/admin/functions/{name}", key="master", json={"input": ""})
    assert resp.status_code in (200, 202), resp.text


# ---- the backup watch ------------------------------------------------------------------------------------
def watch_state(sb: SandboxClient, app: str = "qlp") -> dict[str, Any] | None:
    """The backup watch's stored state (STORAGE_WRITE_STATE: state/backup-watch-<app>.json in the
    reports container), or None before its first tick."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(str(sb.endpoints["storage_connection_string"]))
    with service:
        blob = service.get_blob_client("continuity-reports", f"state/backup-watch-{app}.json")
        try:
            return dict(json.loads(blob.download_blob().readall()))
        except ResourceNotFoundError:
            return None


def watch_tick(sb: SandboxClient, host: DevhostProcess, app: str = "qlp") -> dict[str, Any]:
    """One backup-watch tick through the timer, waited for until its instance completed; the stored
    watch state, which is what the tick returned."""
    instance = f"backup-watch-{app}"

    def observed_at() -> str | None:
        status = durable_status(host, instance)
        output = status.get("output") if status.get("runtimeStatus") == "Completed" else None
        return (output or {}).get("observed_at")

    before = observed_at()
    run_timer(host, "timer_backup_watch")
    until(
        lambda: observed_at() not in (None, before),
        lambda: f"a backup-watch tick has completed\n{host.log[-3000:]}",
        timeout=60,
        interval=0.3,
    )
    output = durable_status(host, instance)["output"]
    state = watch_state(sb, app)
    assert state == output, (state, output)  # the tick's result is the state the watch keeps
    return dict(output)


# ---- the estate ------------------------------------------------------------------------------------------
def servers(sb: SandboxClient) -> set[str]:
    """Every flexible server in both resource groups."""
    sub, found = sb.endpoints["subscription_id"], set()
    for rg in sb.endpoints["resource_groups"].values():
        path = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{SERVER_PROVIDER}"
        found |= {s["name"] for s in sb.request("GET", f"{path}?{API}")["value"]}
    return found


def container_groups(sb: SandboxClient) -> set[str]:
    """Every container group in both resource groups."""
    sub, found = sb.endpoints["subscription_id"], set()
    for rg in sb.endpoints["resource_groups"].values():
        path = (
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups"
        )
        found |= {g["name"] for g in sb.request("GET", f"{path}?api-version=2023-05-01")["value"]}
    return found


def server_resource_id(sb: SandboxClient, name: str, region: str = "primary") -> str:
    """The ARM id of a flexible server in the primary (or secondary) resource group."""
    sub, rg = sb.endpoints["subscription_id"], sb.endpoints["resource_groups"][region]
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{SERVER_PROVIDER}/{name}"


def common_alert(target: str, condition: str = "Fired", alert_id: str = "") -> dict[str, Any]:
    """A common-alert-schema payload on ``target`` (a resource id); a new alert id unless one is given."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    alert_id = alert_id or f"/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/{time.time_ns()}"
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": alert_id,
                "alertRule": "primary database availability",
                "severity": "Sev0",
                "signalType": "Metric",
                "monitorCondition": condition,
                "alertTargetIDs": [target],
                "firedDateTime": now,
                "resolvedDateTime": now,
            },
            "alertContext": {},
        },
    }


class Estate:
    """One scenario's world: sandbox + devhost + receiver, and what tests do with them."""

    def __init__(self, sandbox: SandboxClient, host: DevhostProcess, receiver: Receiver, env: dict[str, str]):
        self.sandbox, self.host, self.receiver, self.env = sandbox, host, receiver, env
        self.endpoints = sandbox.endpoints

    # ---- the API and runs ----------------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return call(self.host, method, path, body, **kwargs)

    def start(self, path: str, body: Any) -> str:
        """POST a DR operation; the run id it answered 202 with."""
        return started(self.api("POST", path, body))

    def run(self, iid: str) -> View:
        return run_view(self.host, iid)

    def wait_run(self, iid: str, until: Callable[[View], bool], timeout: float = RUN_DEADLINE) -> View:
        """Poll GET /api/runs/{iid} until ``until(run)`` holds; fail with the last state otherwise."""
        return wait_run(self.host, iid, until, timeout)

    def wait_done(self, iid: str, timeout: float = RUN_DEADLINE) -> View:
        return wait_run(self.host, iid, finished, timeout)

    def wait_step(self, iid: str, awaiting: str = "approval", timeout: float = 60) -> View:
        return self.wait_run(
            iid, lambda r: (r.get("custom_status") or {}).get("awaiting") == awaiting, timeout
        )

    def runs(self, **params: str) -> list[View]:
        return listed(self.host, **params)

    def report(self, iid: str, **params: str) -> Any:
        """The run's report through GET /api/runs/{iid}/report."""
        return run_report(self.host, iid, **params)

    def history(self, iid: str) -> list[dict[str, Any]]:
        """The durable history of a run, through the Durable extension's HTTP API."""
        path = f"/runtime/webhooks/durabletask/instances/{iid}"
        resp = self.host.request("GET", path, key="master", params={"showHistory": "true"})
        return list(resp.json().get("historyEvents") or [])

    # ---- alerts ----------------------------------------------------------------------------------------
    def resource_id(self, server: str = "", region: str = "primary") -> str:
        """The ARM id of a server (the configured primary unless named)."""
        return server_resource_id(self.sandbox, server or self.endpoints["servers"]["primary"], region)

    def common_alert(self, condition: str = "Fired", alert_id: str = "", target: str = "") -> dict[str, Any]:
        return common_alert(target or self.resource_id(), condition, alert_id)

    def alert(self, condition: str = "Fired", alert_id: str = "", target: str = "") -> requests.Response:
        return self.api("POST", "/api/alerts", self.common_alert(condition, alert_id, target))

    # ---- the app and its data -----------------------------------------------------------------------
    def public(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 15)
        return requests.request(method, self.endpoints["frontdoor_url"] + path, **kwargs)

    def database_url(self, server: str) -> str:
        base = str(self.endpoints["database_url"])
        port = self.endpoints["server_ports"][server]
        head, _, tail = base.rpartition("@")
        return f"{head}@127.0.0.1:{port}/{tail.split('/', 1)[1]}"

    def count(self, server: str, table: str = "intents") -> int:
        import psycopg

        with psycopg.connect(self.database_url(server), connect_timeout=5) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0

    def watch_tick(self) -> dict[str, Any]:
        return watch_tick(self.sandbox, self.host)


EstateFactory = Callable[..., Estate]  # tests/e2e/conftest.py estate_factory(**settings)


def can_log_in(url: str) -> bool:
    """Whether PostgreSQL accepts ``url``'s credentials (a refused login is False, not an error)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("select 1")
        return True
    except psycopg.OperationalError:
        return False


def durable_documents(estate: Estate) -> list[tuple[str, str]]:
    """Every instance's status with input, output, custom status and its history with inputs/outputs."""
    base = "/runtime/webhooks/durabletask/instances"
    listed = estate.host.request("GET", base, key="master", params={"showInput": "true", "top": "1000"})
    out = [("durable list", listed.text)]
    for instance in listed.json():
        iid = instance["instanceId"]
        params = {"showHistory": "true", "showHistoryOutput": "true", "showInput": "true"}
        one = estate.host.request("GET", f"{base}/{iid}", key="master", params=params)
        out.append((f"durable {iid}", one.text))
    return out
