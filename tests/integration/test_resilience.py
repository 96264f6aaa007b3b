"""Throttling and outages are retried to success; secrets never reach logs; cold start loads no SDK."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sandbox.app_settings import app_settings
from sandbox.client import SandboxClient
from shared import names
from tests.polling import until
from tests.support.activities import Activity, caller, run_report
from tests.support.receiver import running_receiver

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.sandbox
def test_calls_succeed_through_arm_faults(
    act: Activity, sandbox: SandboxClient, cleanup_backups: list[str]
) -> None:
    """With 30% of ARM calls answering 429/503 (Retry-After), every activity still succeeds."""
    ep = sandbox.endpoints
    primary, standby = ep["servers"]["primary"], ep["container_groups"]["ukwest-standby"]
    blue_pool = ep["frontdoor_origin_groups"]["uksouth-blue"]
    injected_before = sandbox.status()["faults_injected"]
    sandbox.fault("arm-faults", rate=0.3)

    def a_round_succeeds() -> bool:
        assert act(names.DATABASE_GET_SERVER, server=primary)["state"] == "Ready"
        assert act(names.TRAFFIC_GET_ROUTE)["origin_group"] == blue_pool
        assert act(names.CONTAINERS_GET_GROUP, group=standby)["exists"] is True
        assert act(names.DATABASE_LIST_BACKUPS, server=primary)["backups"]
        return bool(sandbox.status()["faults_injected"] > injected_before)

    try:
        # rounds until a fault was injected: a random 30% could spare any fixed number of calls
        until(a_round_succeeds, "activities meet injected ARM faults and still succeed", 120, interval=0)
        assert act(names.TRAFFIC_SWITCH_ROUTE, origin_group=blue_pool)["changed"] is False
        cleanup_backups.append(f"faulty-{uuid.uuid4().hex[:6]}")
        backup = act(names.DATABASE_CREATE_BACKUP, server=primary, name=cleanup_backups[-1])
        assert backup["created"] is True  # a long-running operation, polled through the faults
    finally:
        sandbox.fault("arm-faults", rate=0.0)
    assert sandbox.status()["faults_injected"] > injected_before


@pytest.mark.sandbox
def test_no_secret_or_connection_string_in_logs_or_results(
    sandbox: SandboxClient, caplog: pytest.LogCaptureFixture
) -> None:
    ep = sandbox.endpoints
    secrets = [
        urlsplit(str(ep["database_url"])).password or "",
        str(ep["database_url"]),
        str(ep["eventgrid_topic_key"]),
        str(ep["storage_connection_string"]).split("AccountKey=")[1].split(";")[0],
    ]
    assert all(secrets)
    results = []
    with running_receiver() as receiver:
        values = app_settings(ep, overrides={"CONTINUITY_WEBHOOK_URL": f"{receiver.url}/hook/s3cr3t-path"})
        act = caller(values)
        caplog.set_level(logging.DEBUG)
        primary = ep["servers"]["primary"]
        results.append(act(names.SECRETS_POINT_DATABASE_URL, server=primary))
        results.append(act(names.SECRETS_GET_DATABASE_HOST))
        results.append(act(names.DATABASE_RUN_CHECKS, server=primary))
        results.append(act(names.DATABASE_GET_REPLICATION_LAG, server=ep["servers"]["replica"]))
        results.append(act(names.STORAGE_WRITE_REPORT, run_id="logs-check", report=run_report("logs-check")))
        results.append(act(names.EVENTS_PUBLISH, type="Checked", subject="logs", data={}))
        results.append(act(names.NOTIFY_SEND, title="Check", text=f"db is {ep['database_url']}", page=True))
        with pytest.raises(Exception) as failed:
            act(names.DATABASE_RUN_CHECKS, server=primary, checks={"critical_tables": ["no_such_table"]})
        assert str(failed.value).startswith(f"permanent: run checks on {primary}: UndefinedTable")
        assert receiver.bodies("/hook/s3cr3t-path")
        delivered = json.dumps(receiver.snapshot())
    everything = caplog.text + json.dumps(results) + str(failed.value) + delivered
    assert "azure" in caplog.text.lower()  # the SDKs did log, at DEBUG
    for secret in secrets:
        assert secret not in everything
    assert "s3cr3t-path" not in caplog.text + json.dumps(results)


def test_import_function_app_loads_no_azure_sdk_client_in_a_fresh_process() -> None:
    code = (
        "import json, sys, function_app\n"
        "from shared import names\n"
        "sdk = ('azure.mgmt', 'azure.keyvault', 'azure.storage', 'azure.eventgrid',\n"
        "       'azure.identity', 'psycopg')\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(sdk))\n"
        "registered = {f.get_function_name() for f in function_app.app.get_functions()}\n"
        "areas = ('DATABASE', 'CONTAINERS', 'TRAFFIC', 'SECRETS', 'METRICS',\n"
        "         'STORAGE', 'EVENTS', 'NOTIFY', 'PROBE')\n"
        "wanted = {v for k, v in vars(names).items() if k.split('_')[0] in areas}\n"
        "print(json.dumps({'heavy': heavy, 'missing': sorted(wanted - registered), 'count': len(wanted)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"heavy": [], "missing": [], "count": result["count"]} and result["count"] >= 35
