"""Flexible servers through the real azure-mgmt-postgresqlflexibleservers client, over real PostgreSQL."""

from __future__ import annotations

import datetime
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.postgresqlflexibleservers.models import (
    Replica,
    Server,
    ServerForPatch,
    ServerProperties,
    ServerPropertiesForPatch,
    VirtualEndpoint,
    VirtualEndpointResourceProperties,
)

from sandbox.client import SandboxClient, StaticTokenCredential
from sandbox.flexible_metrics import HEARTBEAT_S
from tests.polling import until

pytestmark = pytest.mark.sandbox
SETTLE = 60.0  # seconds a sandbox state change (replication, a backup, a lag) is given


# ---- helpers ------------------------------------------------------------------------------------
_clients: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """SDK clients hold pooled sockets: close them after each test (an unclosed one warns later)."""
    yield
    while _clients:
        _clients.pop().close()


def mgmt(sb: SandboxClient) -> PostgreSQLManagementClient:
    e = sb.endpoints
    return _keep(
        PostgreSQLManagementClient(
            StaticTokenCredential(),
            e["subscription_id"],
            base_url=e["arm_endpoint"],
            connection_verify=e["ca_bundle"],
            retry_backoff_factor=0.1,
        )
    )


def _keep(client: Any) -> Any:
    _clients.append(client)
    return client


def rg(sb: SandboxClient, which: str = "primary") -> str:
    return str(sb.endpoints["resource_groups"][which])


def url_for(sb: SandboxClient, fqdn: str) -> str:
    """The workload's database URL pointed at another server (as the failover activity does)."""
    parts = urlsplit(sb.endpoints["database_url"])
    return parts._replace(netloc=f"{parts.username}:{parts.password}@{fqdn}").geturl()


def connect(sb: SandboxClient, server: Server) -> psycopg.Connection[Any]:
    return psycopg.connect(url_for(sb, server.properties.fully_qualified_domain_name), autocommit=True)


def insert(sb: SandboxClient, server: Server, texts: list[str]) -> None:
    with connect(sb, server) as conn:
        for text in texts:
            conn.execute("INSERT INTO intents (text, embedding) VALUES (%s, %s)", (text, [0.1, 0.2]))


def texts(sb: SandboxClient, server: Server) -> set[str]:
    with connect(sb, server) as conn:
        return {row[0] for row in conn.execute("SELECT text FROM intents").fetchall()}


def raw_get(sb: SandboxClient, path: str, token: str | None = "t") -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(sb.arm_endpoint + path)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    ctx = ssl.create_default_context(cafile=sb.ca_bundle)
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


# ---- the estate as `up` leaves it ---------------------------------------------------------------
def test_estate_primary_and_geo_replica(sandbox: SandboxClient) -> None:
    client, e = mgmt(sandbox), sandbox.endpoints
    primary = client.servers.get(rg(sandbox), e["servers"]["primary"])
    replica = client.servers.get(rg(sandbox, "secondary"), e["servers"]["replica"])
    assert primary.properties.state == "Ready"
    assert primary.properties.replica.role == "Primary"
    assert primary.properties.fully_qualified_domain_name.startswith("127.0.0.1:")
    assert primary.properties.backup.earliest_restore_date is not None
    assert replica.properties.replica.role == "GeoAsyncReplica"
    assert replica.properties.source_server_resource_id == primary.id
    assert [s.name for s in client.servers.list_by_resource_group(rg(sandbox))] == [primary.name]
    replicas = list(client.replicas.list_by_server(rg(sandbox), primary.name))
    assert [r.name for r in replicas] == [replica.name]
    until(
        lambda: (
            client.servers.get(rg(sandbox, "secondary"), replica.name).properties.replica.replication_state
            == "Active"
        ),
        "replication Active",
        timeout=SETTLE,
    )


def test_rows_written_on_primary_appear_on_replica(sandbox: SandboxClient) -> None:
    client, e = mgmt(sandbox), sandbox.endpoints
    primary = client.servers.get(rg(sandbox), e["servers"]["primary"])
    replica = client.servers.get(rg(sandbox, "secondary"), e["servers"]["replica"])
    marker = f"replicated-{time.time_ns()}"
    insert(sandbox, primary, [marker])
    until(lambda: marker in texts(sandbox, replica), "row on replica", timeout=SETTLE)
    with connect(sandbox, replica) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("INSERT INTO intents (text, embedding) VALUES ('x', '{1}')")


def test_backups_list_and_on_demand_backup(sandbox: SandboxClient) -> None:
    client, name = mgmt(sandbox), sandbox.endpoints["servers"]["primary"]
    before = list(client.backups_automatic_and_on_demand.list_by_server(rg(sandbox), name))
    assert before and all(b.properties.backup_type == "Full" for b in before)
    assert all(b.properties.completed_time <= datetime.datetime.now(datetime.UTC) for b in before)
    label = f"ondemand-{time.time_ns()}"
    made = client.backups_automatic_and_on_demand.begin_create(rg(sandbox), name, label).result()
    assert made.name == label
    assert made.properties.backup_type == "Customer On-Demand"
    after = [b.name for b in client.backups_automatic_and_on_demand.list_by_server(rg(sandbox), name)]
    assert {b.name for b in before} <= set(after)
    assert label in after


def test_arm_errors(sandbox: SandboxClient) -> None:
    e = sandbox.endpoints
    path = (
        f"/subscriptions/{e['subscription_id']}/resourceGroups/{rg(sandbox)}/providers/"
        f"Microsoft.DBforPostgreSQL/flexibleServers/{e['servers']['primary']}"
    )
    status, headers, body = raw_get(sandbox, path + "?api-version=2026-10-01", token=None)
    assert status == 401 and "WWW-Authenticate" in headers
    status, _, body = raw_get(sandbox, path)
    assert (status, body["error"]["code"]) == (400, "MissingApiVersionParameter")
    with pytest.raises(ResourceNotFoundError) as info:
        mgmt(sandbox).servers.get(rg(sandbox), "no-such-server")
    assert info.value.error.code == "ResourceNotFound"


def test_point_in_time_restore_holds_exactly_rows_before_t(sandbox: SandboxClient) -> None:
    client, e = mgmt(sandbox), sandbox.endpoints
    primary = client.servers.get(rg(sandbox), e["servers"]["primary"])
    run = time.time_ns()
    insert(sandbox, primary, [f"before-{run}-{i}" for i in range(3)])
    time.sleep(0.05)  # commit timestamps have microsecond resolution; T sits strictly between them
    point = datetime.datetime.now(datetime.UTC)
    time.sleep(0.05)
    insert(sandbox, primary, [f"after-{run}-{i}" for i in range(2)])
    expected = {t for t in texts(sandbox, primary) if not t.startswith(f"after-{run}")}
    body = Server(
        location=e["regions"]["primary"],
        properties=ServerProperties(
            create_mode="PointInTimeRestore", source_server_resource_id=primary.id, point_in_time_utc=point
        ),
    )
    restored = client.servers.begin_create_or_update(rg(sandbox), f"pitr-{run % 100000}", body).result()
    try:
        assert restored.properties.state == "Ready"
        assert texts(sandbox, restored) == expected
        insert(sandbox, restored, ["restored-server-is-writable"])
    finally:
        client.servers.begin_delete(rg(sandbox), restored.name).result()
    with pytest.raises(ResourceNotFoundError):
        client.servers.get(rg(sandbox), restored.name)


def test_restore_point_outside_retention_is_refused(sandbox: SandboxClient) -> None:
    client, e = mgmt(sandbox), sandbox.endpoints
    primary = client.servers.get(rg(sandbox), e["servers"]["primary"])
    for point in (
        datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    ):
        body = Server(
            location=e["regions"]["primary"],
            properties=ServerProperties(
                create_mode="PointInTimeRestore",
                source_server_resource_id=primary.id,
                point_in_time_utc=point,
            ),
        )
        with pytest.raises(HttpResponseError) as info:
            client.servers.begin_create_or_update(rg(sandbox), "pitr-refused", body)
        assert info.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        client.servers.get(rg(sandbox), "pitr-refused")


# ---- changes to the estate (a fresh sandbox each) -----------------------------------------------
def promote(client: PostgreSQLManagementClient, group: str, name: str, mode: str, option: str) -> Server:
    patch = ServerForPatch(
        properties=ServerPropertiesForPatch(replica=Replica(promote_mode=mode, promote_option=option))
    )
    return client.servers.begin_update(group, name, patch).result()


def test_region_outage_forced_promote_accepts_writes_and_fencing(sandbox_factory: Any) -> None:
    sb = sandbox_factory(components=["flexible_servers"])
    client, e = mgmt(sb), sb.endpoints
    primary = client.servers.get(rg(sb), e["servers"]["primary"])
    replica = client.servers.get(rg(sb, "secondary"), e["servers"]["replica"])
    insert(sb, primary, ["committed-before-outage"])
    until(lambda: "committed-before-outage" in texts(sb, replica), "replication", timeout=SETTLE)

    sb.fault("region-outage", region=e["regions"]["primary"])
    assert client.servers.get(rg(sb), primary.name).properties.state != "Ready"
    with pytest.raises(psycopg.OperationalError):
        texts(sb, primary)
    with pytest.raises(HttpResponseError) as info:  # planned needs the primary
        promote(client, rg(sb, "secondary"), replica.name, "Standalone", "Planned")
    assert info.value.error.code == "SourceServerUnavailable"

    # a restore from the unreachable primary ends where its archived WAL ends (Azure's RPO applies)
    body = Server(
        location=e["regions"]["secondary"],
        properties=ServerProperties(
            create_mode="PointInTimeRestore",
            source_server_resource_id=primary.id,
            point_in_time_utc=datetime.datetime.now(datetime.UTC),
        ),
    )
    salvaged = client.servers.begin_create_or_update(rg(sb, "secondary"), "qlp-db-salvage", body).result()
    with connect(sb, salvaged) as conn:
        assert conn.execute("SELECT name FROM sentinels").fetchall() == [("sandbox-initial",)]

    promoted = promote(client, rg(sb, "secondary"), replica.name, "Standalone", "Forced")
    assert promoted.properties.replica.role == "None"
    assert promoted.properties.state == "Ready"
    insert(sb, promoted, ["written-after-failover"])
    assert {"committed-before-outage", "written-after-failover"} <= texts(sb, promoted)

    client.servers.begin_stop(rg(sb), primary.name).result()  # fence the old primary
    sb.fault("heal", region=e["regions"]["primary"])
    assert client.servers.get(rg(sb), primary.name).properties.state == "Stopped"
    with pytest.raises(psycopg.OperationalError):
        texts(sb, primary)

    # failback starts with a new replica in the original region, streaming from the new primary
    body = Server(
        location=e["regions"]["primary"],
        properties=ServerProperties(create_mode="Replica", source_server_resource_id=promoted.id),
    )
    rebuilt = client.servers.begin_create_or_update(rg(sb), "qlp-db-uksouth-2", body).result()
    assert rebuilt.properties.replica.role == "GeoAsyncReplica"
    assert client.servers.get(rg(sb, "secondary"), promoted.name).properties.replica.role == "Primary"
    insert(sb, promoted, ["written-after-rebuild"])
    until(
        lambda: "written-after-rebuild" in texts(sb, rebuilt), "rows on the rebuilt replica", timeout=SETTLE
    )


def test_planned_switchover_and_back(sandbox_factory: Any) -> None:
    sb = sandbox_factory(components=["flexible_servers"])
    client, e = mgmt(sb), sb.endpoints
    south, west = rg(sb), rg(sb, "secondary")
    primary = client.servers.get(south, e["servers"]["primary"])
    replica = client.servers.get(west, e["servers"]["replica"])
    insert(sb, primary, [f"planned-{i}" for i in range(20)])

    tagged = client.servers.begin_update(south, primary.name, ServerForPatch(tags={"owner": "dr"})).result()
    assert tagged.tags == {"owner": "dr"}
    assert client.servers.get(south, primary.name).tags == {"owner": "dr"}
    pair = VirtualEndpoint(
        properties=VirtualEndpointResourceProperties(endpoint_type="ReadWrite", members=[replica.name])
    )
    client.virtual_endpoints.begin_create(
        south, primary.name, "qlp-ve", pair
    ).result()  # a switchover needs it

    swapped = promote(client, west, replica.name, "Switchover", "Planned")
    assert swapped.properties.replica.role == "Primary"
    old = client.servers.get(south, primary.name)
    assert old.properties.replica.role == "GeoAsyncReplica"
    assert {f"planned-{i}" for i in range(20)} <= texts(sb, swapped)  # nothing lost
    insert(sb, swapped, ["written-in-west"])
    until(lambda: "written-in-west" in texts(sb, old), "reverse replication", timeout=SETTLE)

    back = promote(client, south, primary.name, "Switchover", "Planned")  # failback (the pair followed)
    assert back.properties.replica.role == "Primary"
    assert client.servers.get(west, replica.name).properties.replica.role == "GeoAsyncReplica"
    insert(sb, back, ["written-after-failback"])
    until(
        lambda: "written-after-failback" in texts(sb, replica), "replication after failback", timeout=SETTLE
    )

    # planned standalone: everything the primary committed is on the promoted server
    sb.fault("replication-lag", seconds=3)
    insert(sb, back, ["committed-while-replay-paused"])
    standalone = promote(client, west, replica.name, "Standalone", "Planned")
    assert standalone.properties.replica.role == "None"
    assert "committed-while-replay-paused" in texts(sb, standalone)


def test_corrupt_db_then_restore_to_the_moment_before(sandbox_factory: Any) -> None:
    sb = sandbox_factory(components=["flexible_servers"], backup_interval=2)
    client, e = mgmt(sb), sb.endpoints
    primary = client.servers.get(rg(sb), e["servers"]["primary"])

    def backups() -> list[Any]:
        return list(client.backups_automatic_and_on_demand.list_by_server(rg(sb), primary.name))

    scheduled = until(lambda: len(backups()) >= 2 and backups(), "a scheduled backup", timeout=SETTLE)
    times = [b.properties.completed_time for b in scheduled]
    assert times == sorted(times) and len(set(times)) == len(times)
    insert(sb, primary, [f"intent-{i}" for i in range(30)])
    good = texts(sb, primary)
    result = sb.fault("corrupt-db")
    assert result["rows_deleted"] >= 20
    assert len(texts(sb, primary)) < len(good)
    point = datetime.datetime.fromisoformat(result["ran_at"])
    body = Server(
        location=e["regions"]["secondary"],
        properties=ServerProperties(
            create_mode="PointInTimeRestore", source_server_resource_id=primary.id, point_in_time_utc=point
        ),
    )
    restored = client.servers.begin_create_or_update(rg(sb, "secondary"), "qlp-db-restored", body).result()
    assert texts(sb, restored) == good
    assert restored.properties.point_in_time_utc is not None
    client.servers.begin_stop(rg(sb, "secondary"), restored.name).result()
    assert client.servers.get(rg(sb, "secondary"), restored.name).properties.state == "Stopped"
    client.servers.begin_start(rg(sb, "secondary"), restored.name).result()
    assert texts(sb, restored) == good

    geo_body = Server(
        location=e["regions"]["secondary"],
        properties=ServerProperties(create_mode="GeoRestore", source_server_resource_id=primary.id),
    )
    geo = client.servers.begin_create_or_update(rg(sb, "secondary"), "qlp-db-geo", geo_body).result()
    assert texts(sb, geo) == texts(sb, primary)  # the latest state, corruption included


def test_replication_lag_metric_grows_and_clears_and_arm_faults_are_retried(sandbox_factory: Any) -> None:
    from azure.mgmt.monitor import MonitorManagementClient

    sb = sandbox_factory(components=["flexible_servers", "monitor"])
    client, e = mgmt(sb), sb.endpoints
    monitor = _keep(
        MonitorManagementClient(
            StaticTokenCredential(),
            e["subscription_id"],
            base_url=e["arm_endpoint"],
            connection_verify=e["ca_bundle"],
            retry_backoff_factor=0.1,
        )
    )
    primary = client.servers.get(rg(sb), e["servers"]["primary"])
    replica = client.servers.get(rg(sb, "secondary"), e["servers"]["replica"])

    def delay() -> float:
        result = monitor.metrics.list(
            replica.id, metricnames="physical_replication_delay_in_seconds", aggregation="Maximum"
        )
        return float(result.value[0].timeseries[0].data[-1].maximum)

    # Azure's meaning: the time since the last replayed transaction; the primary's heartbeat keeps it low
    until(lambda: delay() <= HEARTBEAT_S + 2, "a caught-up replica's few seconds", timeout=SETTLE)
    sb.fault("replication-lag", seconds=120)
    insert(sb, primary, ["during-lag"])
    first = until(delay, "a delay", timeout=SETTLE)
    until(lambda: delay() > first + 0.5, "a growing delay", timeout=SETTLE)
    assert "during-lag" not in texts(sb, replica)

    sb.fault("arm-faults", rate=0.3)  # random: call until a few were faulted (60 calls: 18 expected)
    for _ in range(60):  # each answered all the same, the SDK retrying its 429 / 503
        assert client.servers.get(rg(sb), primary.name).name == primary.name
        if sb.status()["faults_injected"] >= 3:
            break
    client.servers.begin_restart(rg(sb), primary.name).result()
    assert sb.status()["faults_injected"] >= 3

    sb.fault("clear")
    until(lambda: delay() <= HEARTBEAT_S + 2, "lag cleared", timeout=90)
    until(lambda: "during-lag" in texts(sb, replica), "replay resumed", timeout=SETTLE)
