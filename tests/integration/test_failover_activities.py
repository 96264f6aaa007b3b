"""The failover steps, each activity called twice, on a fresh sandbox: promote, point the secret, start and
restart the standby, check and switch Front Door, fence the old primary. Results are checked against the
real state: rows in PostgreSQL, Key Vault versions, the process serving the public endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import psycopg
import pytest
from azure.keyvault.secrets import SecretClient

from sandbox.app_settings import app_settings
from sandbox.client import SandboxClient, StaticTokenCredential
from shared import names
from tests.polling import until
from tests.support.activities import Activity, caller

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def _url_on(sandbox: SandboxClient, server: str) -> str:
    url = str(sandbox.endpoints["database_url"])
    return url.replace(
        urlsplit(url).netloc.rsplit("@", 1)[1], f"127.0.0.1:{sandbox.endpoints['server_ports'][server]}"
    )


def _secret_client(sandbox: SandboxClient) -> SecretClient:
    ep = sandbox.endpoints
    return SecretClient(
        ep["key_vault_url"],
        StaticTokenCredential(),
        connection_verify=ep["ca_bundle"],
        verify_challenge_resource=False,
    )


def _versions(client: SecretClient, name: str) -> int:
    return len(list(client.list_properties_of_secret_versions(name)))


def test_failover_steps_are_idempotent_and_really_move_the_app(
    sandbox_factory: Callable[..., SandboxClient],
) -> None:
    sandbox = sandbox_factory()
    ep = sandbox.endpoints
    act: Activity = caller(app_settings(ep))
    primary, replica = ep["servers"]["primary"], ep["servers"]["replica"]
    standby, standby_pool = (
        ep["container_groups"]["ukwest-standby"],
        ep["frontdoor_origin_groups"]["ukwest-standby"],
    )
    marker = f"pre-failover-{uuid.uuid4().hex[:6]}"
    with psycopg.connect(_url_on(sandbox, primary), autocommit=True) as conn:
        conn.execute("insert into sentinels (name) values (%s)", (marker,))

    # promote (planned: the replica replays everything first), twice
    first = act(names.DATABASE_PROMOTE_REPLICA, server=replica, mode="planned")
    second = act(names.DATABASE_PROMOTE_REPLICA, server=replica, mode="planned")
    assert (first["promoted"], second["promoted"], second["already_primary"]) == (True, False, True)
    assert act(names.DATABASE_GET_SERVER, server=replica)["role"] == "standalone"
    with psycopg.connect(_url_on(sandbox, replica), autocommit=True) as conn:
        assert conn.execute("select count(*) from sentinels where name = %s", (marker,)).fetchone() == (1,)
        conn.execute("insert into sentinels (name) values (%s)", (f"{marker}-written-on-new-primary",))

    # point the secret at the new primary, twice: one new version, same password
    secrets = _secret_client(sandbox)
    name = ep["database_secret_name"]
    before_versions = _versions(secrets, name)
    pointed = act(names.SECRETS_POINT_DATABASE_URL, server=replica)
    again = act(names.SECRETS_POINT_DATABASE_URL, server=replica)
    replica_fqdn = f"127.0.0.1:{ep['server_ports'][replica]}"
    assert (pointed["changed"], again["changed"], pointed["host"]) == (True, False, replica_fqdn)
    assert again["version"] == pointed["version"] and _versions(secrets, name) == before_versions + 1
    assert secrets.get_secret(name).value == _url_on(sandbox, replica)
    password = urlsplit(str(ep["database_url"])).password or ""
    assert password and password not in repr(pointed) + repr(again)

    # start the standby (twice), restart it so it reads the secret, verify it on its own address
    started = [act(names.CONTAINERS_START_GROUP, group=standby) for _ in range(2)]
    assert [s["changed"] for s in started] == [True, False] and started[1]["state"] == "Running"
    restarted = act(names.CONTAINERS_RESTART_GROUP, group=standby)
    assert restarted["changed"] is True
    url = restarted["url"]
    until(
        lambda: act(names.PROBE_HTTP, url=f"{url}/api/v1/health/database", timeout_seconds=2)["ok"],
        "the standby's database health answers ok",
        timeout=60,
        interval=0.2,
    )
    status = act(names.PROBE_HTTP, url=f"{url}/api/v1/status", body_contains=standby)
    assert status["ok"] and status["body_matched"]

    # the standby pool is healthy; switch the route (twice); the public endpoint serves from UK West
    until(
        lambda: act(names.TRAFFIC_LIST_HEALTHY_ORIGINS, origin_group=standby_pool)["healthy_count"] == 1,
        "the standby origin is healthy",
        timeout=60,
        interval=0.2,
    )
    switched = [act(names.TRAFFIC_SWITCH_ROUTE, origin_group=standby_pool) for _ in range(2)]
    assert [s["changed"] for s in switched] == [True, False]
    assert switched[0]["previous_origin_group"] == ep["frontdoor_origin_groups"]["uksouth-blue"]
    assert act(names.TRAFFIC_GET_ROUTE)["origin_group"] == standby_pool
    public = ep["frontdoor_url"]
    until(
        lambda: act(
            names.PROBE_HTTP, url=f"{public}/api/v1/status", body_contains=standby, timeout_seconds=2
        )["ok"],
        "the public endpoint serves from the standby",
        timeout=60,
        interval=0.2,
    )
    text = f"written after failover {marker}"
    write = act(
        names.PROBE_HTTP,
        url=f"{public}/api/v1/intents",
        method="POST",
        json={"text": text},
        expect_status=201,
    )
    assert write["ok"], write
    with psycopg.connect(_url_on(sandbox, replica), autocommit=True) as conn:
        assert conn.execute("select count(*) from intents where text = %s", (text,)).fetchone() == (1,)

    # fence the old primary: stopped (twice), never deleted
    fenced = [act(names.DATABASE_STOP_SERVER, server=primary) for _ in range(2)]
    assert [f["changed"] for f in fenced] == [True, False]
    old = act(names.DATABASE_GET_SERVER, server=primary)
    assert (old["exists"], old["state"]) == (True, "Stopped")


def test_forced_promote_during_a_region_outage(sandbox_factory: Callable[..., SandboxClient]) -> None:
    """The primary region is down: a forced promote proceeds at once and the replica takes writes."""
    sandbox = sandbox_factory()
    ep = sandbox.endpoints
    act: Activity = caller(app_settings(ep))
    primary, replica = ep["servers"]["primary"], ep["servers"]["replica"]
    sandbox.fault("region-outage", region=ep["regions"]["primary"])
    down = act(names.DATABASE_GET_SERVER, server=primary)
    assert down["state"] != "Ready"
    assert act(names.PROBE_HTTP, url=f"{ep['frontdoor_url']}/health", timeout_seconds=2)["ok"] is False
    forced = [act(names.DATABASE_PROMOTE_REPLICA, server=replica, mode="forced") for _ in range(2)]
    assert [f["promoted"] for f in forced] == [True, False] and forced[1]["already_primary"] is True
    with psycopg.connect(_url_on(sandbox, replica), autocommit=True) as conn:
        conn.execute("insert into sentinels (name) values ('written-after-forced-promote')")
    assert act(names.SECRETS_POINT_DATABASE_URL, server=replica)["changed"] is True
