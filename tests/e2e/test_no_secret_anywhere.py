"""No secret anywhere: a drill, a point-in-time restore, a deploy and a failover on one estate, then every
log line, report (JSON and Markdown), notification body, Durable input / output / custom status and
history, and every blob Continuity wrote is scanned for the actual secret values (the database password,
the database URLs, the host's keys, the storage and topic keys, the token), not for patterns. Afterwards
the vault holds one readable version of each secret Continuity wrote: the old ones are disabled.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

import pytest

from devhost.keys import system_key_of
from sandbox.app_settings import SANDBOX_TOKEN
from tests.support.deploy_e2e import LEAN, deploy
from tests.support.e2e import HOOK_PATH, RESTORE_DEADLINE, Estate, EstateFactory, durable_documents
from tests.support.vault import enabled_versions

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

BANNER_KEY_LINE = (
    "[devhost] function key: "  # devhost prints the local key for the operator, as make run says
)


def secret_values(estate: Estate) -> dict[str, str]:
    """The actual values, by what they are (each long enough not to match by chance)."""
    url = str(estate.endpoints["database_url"])
    password = unquote(urlsplit(url).password or "")
    connection = estate.env.get("AzureWebJobsStorage", "")
    account_key = next(
        (p[len("AccountKey=") :] for p in connection.split(";") if p.startswith("AccountKey=")), ""
    )
    values = {
        "database password": password,
        "database URL": url,
        "function key": estate.host.function_key,
        "master key": estate.host.master_key,
        "durable system key": system_key_of(estate.host.master_key),
        "storage account key": account_key,
        "event grid topic key": str(estate.endpoints.get("eventgrid_topic_key") or ""),
        "sandbox token": SANDBOX_TOKEN,
    }
    for server in estate.endpoints["server_ports"]:
        values[f"database URL of {server}"] = estate.database_url(server)
    return {k: v for k, v in values.items() if len(v) >= 8}


def blobs(estate: Estate) -> list[tuple[str, str]]:
    from azure.storage.blob import BlobServiceClient

    out = []
    with BlobServiceClient.from_connection_string(str(estate.endpoints["storage_connection_string"])) as svc:
        for container in svc.list_containers():
            client = svc.get_container_client(container.name)
            for blob in client.list_blobs():
                data = client.download_blob(blob.name).readall()
                out.append((f"blob {container.name}/{blob.name}", data.decode(errors="replace")))
    return out


def run_all(estate: Estate) -> list[str]:
    """A drill, a restore, a deploy and a failover, one after the other, each to its end."""
    done = []

    def point() -> dict[str, str]:  # a moment ago, after the earliest restore point
        return {"restore_point": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(), "reason": "practice"}

    for path, body, timeout in [
        ("/api/drills", lambda: {"scenario": "database", "reason": "practice"}, RESTORE_DEADLINE),
        ("/api/restore", point, RESTORE_DEADLINE),
        ("deploy", dict, 120.0),
        ("/api/failover", lambda: {"reason": "planned move", "mode": "planned"}, 120.0),
    ]:
        run = deploy(estate, "1.1.0", "release 1.1") if path == "deploy" else estate.start(path, body())
        view = estate.wait_done(run, timeout)
        assert view["runtime_status"] == "Completed", json.dumps(view)[:2000]
        report = estate.report(run)
        assert report["status"] in ("succeeded", "passed"), (path, report["status"], report.get("summary"))
        done.append(run)
    return done


def test_a_drill_restore_deploy_and_failover_leave_no_secret_value_anywhere(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(**LEAN)
    done = run_all(estate)
    places: list[tuple[str, str]] = []
    for run in done:
        places.append((f"report {run}", json.dumps(estate.report(run))))
        places.append((f"markdown {run}", estate.report(run, format="markdown")))
        places.append((f"run view {run}", json.dumps(estate.run(run))))
    places += [(f"notification {i}", json.dumps(b)) for i, b in enumerate(estate.receiver.bodies(HOOK_PATH))]
    places += durable_documents(estate)
    places += blobs(estate)
    log = "\n".join(line for line in estate.host.log.splitlines() if not line.startswith(BANNER_KEY_LINE))
    places.append(("devhost log (the app's logging and every invocation)", log))
    assert len(estate.receiver.bodies(HOOK_PATH)) >= 8 and len(places) > 20

    found = [
        (what, where)
        for what, value in secret_values(estate).items()
        for where, text in places
        if value in text
    ]
    assert found == [], found
    assert BANNER_KEY_LINE + estate.host.function_key in estate.host.log  # the scan reads the real text

    versions = enabled_versions(estate.sandbox)
    for name, enabled in versions.items():
        assert enabled.count(True) == 1, (name, enabled)  # old URLs with the password: disabled
    assert len(versions[str(estate.endpoints["database_secret_name"])]) > 1  # the failover wrote a version
