"""Flexible servers refuse what Azure refuses and report what Azure reports, through the real SDK:
virtual endpoints, switchover prerequisites, Updating during replica operations, a stopped replica's
state, the GeoRestore rule, api-versions per resource type, and the lag metric's meaning."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.postgresqlflexibleservers.models import (
    Replica,
    Server,
    ServerForPatch,
    ServerProperties,
    ServerPropertiesForPatch,
    Sku,
    Storage,
    VirtualEndpoint,
    VirtualEndpointResourceForPatch,
    VirtualEndpointResourceProperties,
)

from sandbox.client import SandboxClient, StaticTokenCredential
from sandbox.flexible_metrics import HEARTBEAT_S
from tests.polling import until
from tests.support.e2e import can_log_in

pytestmark = pytest.mark.sandbox
_clients: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


def mgmt(sb: SandboxClient, **kw: Any) -> PostgreSQLManagementClient:
    e = sb.endpoints
    client = PostgreSQLManagementClient(
        StaticTokenCredential(),
        e["subscription_id"],
        base_url=e["arm_endpoint"],
        connection_verify=e["ca_bundle"],
        retry_backoff_factor=0.1,
        **kw,
    )
    _clients.append(client)
    return client


def groups(sb: SandboxClient) -> tuple[str, str]:
    return sb.endpoints["resource_groups"]["primary"], sb.endpoints["resource_groups"]["secondary"]


def pair(reader: str) -> VirtualEndpoint:
    return VirtualEndpoint(
        properties=VirtualEndpointResourceProperties(endpoint_type="ReadWrite", members=[reader])
    )


def switchover(client: PostgreSQLManagementClient, rg: str, name: str) -> Server:
    patch = ServerForPatch(
        properties=ServerPropertiesForPatch(
            replica=Replica(promote_mode="Switchover", promote_option="Planned")
        )
    )
    return client.servers.begin_update(rg, name, patch).result()


def on(sb: SandboxClient, address: str) -> tuple[bool, int]:
    """(in recovery, server port) of whatever server ``address`` reaches."""
    u = urlsplit(sb.endpoints["database_url"])
    url = u._replace(netloc=f"{u.username}:{u.password}@{address}").geturl()
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute("SELECT pg_is_in_recovery(), inet_server_port()").fetchone()
    assert row is not None
    return bool(row[0]), int(row[1])


def refused(call: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as info:
        call()
    return info.value


@pytest.fixture
def fleet(sandbox_factory: Any) -> SandboxClient:
    return sandbox_factory(components=["flexible_servers", "monitor"])  # type: ignore[no-any-return]


def test_virtual_endpoints_writer_follows_the_primary_through_a_switchover(fleet: SandboxClient) -> None:
    client, e = mgmt(fleet), fleet.endpoints
    south, west = groups(fleet)
    primary, replica = e["servers"]["primary"], e["servers"]["replica"]
    ports = e["server_ports"]

    without = refused(lambda: switchover(client, west, replica))
    assert (without.status_code, without.error.code) == (400, "BadRequest")
    assert "virtual endpoint" in without.error.message

    assert (
        refused(
            lambda: client.virtual_endpoints.begin_create(west, replica, "ve-x", pair(primary))
        ).status_code
        == 400
    )
    assert (
        refused(
            lambda: client.virtual_endpoints.begin_create(south, primary, "ve-x", pair("nobody"))
        ).status_code
        == 400
    )
    ve = client.virtual_endpoints.begin_create(south, primary, "qlp-ve", pair(replica)).result()
    assert ve.properties.members == [primary, replica]
    reader, writer = ve.properties.virtual_endpoints
    assert on(fleet, writer) == (False, ports[primary]) and on(fleet, reader) == (True, ports[replica])
    assert [v.name for v in client.virtual_endpoints.list_by_server(south, primary)] == ["qlp-ve"]
    second = refused(lambda: client.virtual_endpoints.begin_create(south, primary, "qlp-ve-2", pair(replica)))
    assert second.status_code == 400 and "only one" in second.error.message

    swapped = switchover(client, west, replica)
    assert swapped.properties.replica.role == "Primary"
    moved = client.virtual_endpoints.get(west, replica, "qlp-ve")
    assert moved.properties.members == [replica, primary]
    assert moved.properties.virtual_endpoints == [reader, writer]  # the same names, new targets
    assert on(fleet, writer) == (False, ports[replica]) and on(fleet, reader) == (True, ports[primary])
    assert refused(lambda: client.virtual_endpoints.get(south, primary, "qlp-ve")).status_code == 400

    patch = VirtualEndpointResourceForPatch(properties=VirtualEndpointResourceProperties(members=[replica]))
    pointed = client.virtual_endpoints.begin_update(west, replica, "qlp-ve", patch).result()
    assert pointed.properties.members == [replica]  # the reader on the primary too
    client.virtual_endpoints.begin_delete(west, replica, "qlp-ve").result()
    with pytest.raises(ResourceNotFoundError):
        client.virtual_endpoints.get(west, replica, "qlp-ve")


def test_switchover_needs_the_same_tier_and_storage_and_replicas_never_shrink(fleet: SandboxClient) -> None:
    client, e = mgmt(fleet), fleet.endpoints
    south, _ = groups(fleet)
    primary = client.servers.get(south, e["servers"]["primary"])
    assert primary.properties.storage.storage_size_gb == 32
    small = Server(
        location=e["regions"]["primary"],
        properties=ServerProperties(
            create_mode="Replica", source_server_resource_id=primary.id, storage=Storage(storage_size_gb=16)
        ),
    )
    shrunk = refused(lambda: client.servers.begin_create_or_update(south, "qlp-db-small", small))
    assert (shrunk.status_code, shrunk.error.code) == (400, "InvalidParameterValue")
    big = Server(
        location=e["regions"]["primary"],
        sku=Sku(name="Standard_D4ds_v5", tier="GeneralPurpose"),
        properties=ServerProperties(
            create_mode="Replica", source_server_resource_id=primary.id, storage=Storage(storage_size_gb=64)
        ),
    )
    larger = client.servers.begin_create_or_update(south, "qlp-db-big", big).result()
    assert (larger.sku.name, larger.properties.storage.storage_size_gb) == ("Standard_D4ds_v5", 64)
    client.virtual_endpoints.begin_create(south, primary.name, "qlp-ve", pair(larger.name)).result()
    asymmetric = refused(lambda: switchover(client, south, larger.name))
    assert asymmetric.status_code == 400 and "identical tiers and storage" in asymmetric.error.message


def test_the_primary_is_updating_while_a_replica_is_created_deleted_and_promoted(
    fleet: SandboxClient,
) -> None:
    client, e = mgmt(fleet), fleet.endpoints
    south, west = groups(fleet)
    primary = client.servers.get(south, e["servers"]["primary"])
    busy: list[int] = []

    def states_while(poller: Any, what: str) -> list[Any]:
        """The primary's state, read until ``poller`` is done; a management operation tried while it
        is Updating (once) is recorded in ``busy``."""
        seen: list[Any] = []

        def watch() -> bool:
            seen.append(client.servers.get(south, primary.name).properties.state)
            if seen[-1] == "Updating" and not busy:
                busy.append(refused(lambda: client.servers.begin_restart(south, primary.name)).status_code)
            return bool(poller.done())

        until(watch, what, timeout=60, interval=0.02)
        poller.result()
        return seen

    body = Server(
        location=e["regions"]["secondary"],
        properties=ServerProperties(create_mode="Replica", source_server_resource_id=primary.id),
    )
    created = states_while(client.servers.begin_create_or_update(west, "qlp-db-second", body), "created")
    assert "Updating" in created and busy == [409]  # management operations wait while it is Updating
    assert client.servers.get(south, primary.name).properties.state == "Ready"
    assert "Updating" in states_while(client.servers.begin_delete(west, "qlp-db-second"), "deleted")
    patch = ServerForPatch(
        properties=ServerPropertiesForPatch(
            replica=Replica(promote_mode="Standalone", promote_option="Planned")
        )
    )
    promoting = client.servers.begin_update(west, e["servers"]["replica"], patch)
    assert "Updating" in states_while(promoting, "its replica promoted")
    assert client.servers.get(south, primary.name).properties.state == "Ready"


def test_a_stopped_replica_still_reports_active_replication(fleet: SandboxClient) -> None:
    client, e = mgmt(fleet), fleet.endpoints
    _, west = groups(fleet)
    replica = e["servers"]["replica"]
    until(
        lambda: client.servers.get(west, replica).properties.replica.replication_state == "Active",
        "streaming",
    )
    client.servers.begin_stop(west, replica).result()
    stopped = client.servers.get(west, replica)
    assert stopped.properties.state == "Stopped"
    assert stopped.properties.replica.replication_state == "Active"


def test_geo_restore_needs_geo_redundant_backup_and_the_paired_region(fleet: SandboxClient) -> None:
    client, e = mgmt(fleet), fleet.endpoints
    south, west = groups(fleet)
    primary = client.servers.get(south, e["servers"]["primary"])
    replica = client.servers.get(west, e["servers"]["replica"])
    assert primary.properties.backup.geo_redundant_backup == "Enabled"
    assert replica.properties.backup.geo_redundant_backup == "Disabled"

    def geo(source: Server, region: str, name: str) -> Any:
        body = Server(
            location=region,
            properties=ServerProperties(create_mode="GeoRestore", source_server_resource_id=source.id),
        )
        return client.servers.begin_create_or_update(
            west if region == e["regions"]["secondary"] else south, name, body
        )

    same_region = refused(lambda: geo(primary, e["regions"]["primary"], "qlp-db-geo-1"))
    assert same_region.status_code == 400 and "paired region" in same_region.error.message
    from_replica = refused(lambda: geo(replica, e["regions"]["primary"], "qlp-db-geo-2"))
    assert from_replica.status_code == 400
    patch = ServerForPatch(
        properties=ServerPropertiesForPatch(
            replica=Replica(promote_mode="Standalone", promote_option="Forced")
        )
    )
    promoted = client.servers.begin_update(west, replica.name, patch).result()
    assert promoted.properties.backup.geo_redundant_backup == "Disabled"  # not carried over by a promotion
    until(
        lambda: bool(list(client.backups_automatic_and_on_demand.list_by_server(west, promoted.name))),
        "a backup",
    )
    no_geo = refused(lambda: geo(promoted, e["regions"]["primary"], "qlp-db-geo-3"))
    assert no_geo.status_code == 400 and "geo-redundant backup" in no_geo.error.message
    for name in ("qlp-db-geo-1", "qlp-db-geo-2", "qlp-db-geo-3"):
        with pytest.raises(ResourceNotFoundError):
            client.servers.get(south, name)


def test_unsupported_api_versions_are_refused_per_resource_type(fleet: SandboxClient) -> None:
    e = fleet.endpoints
    south, _ = groups(fleet)
    primary = e["servers"]["primary"]
    future = refused(lambda: mgmt(fleet, api_version="2099-01-01").servers.get(south, primary))
    assert (future.status_code, future.error.code) == (400, "InvalidApiVersionParameter")
    assert "2026-10-01" in future.error.message
    old = mgmt(fleet, api_version="2022-12-01")
    assert old.servers.get(south, primary).name == primary  # servers had 2022-12-01 ...
    before = refused(lambda: list(old.virtual_endpoints.list_by_server(south, primary)))
    assert before.error.code == "InvalidApiVersionParameter"  # ... virtual endpoints did not exist yet


def test_replica_lag_is_the_time_since_the_last_replayed_transaction(fleet: SandboxClient) -> None:
    e = fleet.endpoints
    monitor = MonitorManagementClient(
        StaticTokenCredential(),
        e["subscription_id"],
        base_url=e["arm_endpoint"],
        connection_verify=e["ca_bundle"],
    )
    _clients.append(monitor)
    _, west = groups(fleet)
    replica = mgmt(fleet).servers.get(west, e["servers"]["replica"])
    readings: list[float] = []

    def lag() -> float:
        result = monitor.metrics.list(
            replica.id, metricnames="physical_replication_delay_in_seconds", interval="PT1S"
        )
        points = [p.maximum for p in result.value[0].timeseries[0].data if p.maximum is not None]
        readings.append(points[-1])
        return float(points[-1])

    until(lambda: lag() > 1.0, "an idle primary shows the seconds since its last write", timeout=30)
    assert max(readings) <= HEARTBEAT_S + 2  # and the service's heartbeat keeps it at a few seconds
    unknown = refused(lambda: monitor.metrics.list(replica.id, metricnames="replica_lag_bytes"))
    assert unknown.status_code == 400 and "Failed to find metric configuration" in str(unknown)


def test_the_administrator_password_is_reset_by_a_patch_under_azures_rules(fleet: SandboxClient) -> None:
    client, e = mgmt(fleet), fleet.endpoints
    south, west = groups(fleet)
    primary, replica = e["servers"]["primary"], e["servers"]["replica"]
    admin = urlsplit(e["database_admin_url"])
    assert admin.username == "qlpadmin"

    def reset(rg: str, name: str, password: str) -> Any:
        patch = ServerForPatch(properties=ServerPropertiesForPatch(administrator_login_password=password))
        return client.servers.begin_update(rg, name, patch).result()

    weak = refused(lambda: reset(south, primary, "alllowercase"))
    assert weak.error is not None and weak.error.code == "InvalidParameterValue"
    assert "three of" in str(weak.message)
    named = refused(lambda: reset(south, primary, "Xqlpadm-1234"))  # holds part of the login
    assert "part of the login" in str(named.message)
    on_replica = refused(lambda: reset(west, replica, "Fresh-Passw0rd-9"))
    assert "read replica" in str(on_replica.message)
    assert can_log_in(admin.geturl())  # nothing refused changed the password

    reset(south, primary, "Fresh-Passw0rd-9")
    assert not can_log_in(admin.geturl())
    assert can_log_in(
        admin._replace(netloc=f"qlpadmin:Fresh-Passw0rd-9@{admin.hostname}:{admin.port}").geturl()
    )
