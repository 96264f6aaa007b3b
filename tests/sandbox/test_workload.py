"""The QLP stand-in workload: tag behaviours, and real rows written and searched through Front Door."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
import uuid
from typing import Any

import psycopg
import pytest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from sandbox.client import SandboxClient, StaticTokenCredential
from sandbox.workload.behaviour import behaviour_for, image_tag
from sandbox.workload.store import embed
from tests.support.aci import group_body


def call(url: str, body: Any = None, *, raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return int(resp.status), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), json.loads(exc.read())


def count_intents(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM intents").fetchone()
    assert row is not None
    return int(row[0])


# ---- behaviour from the image tag (pure) ------------------------------------------------------------
def test_the_tag_decides_the_behaviour() -> None:
    assert image_tag("qlpregistry.azurecr.io/qlp-app:1.4.2") == "1.4.2"
    assert image_tag("registry:5000/qlp-app") == "latest"
    normal = behaviour_for("acr.io/qlp-app:1.4.2")
    assert not (normal.broken or normal.migrate) and normal.slow_ms == 0
    assert behaviour_for("qlp-app:1.5.0-broken").broken
    assert behaviour_for("qlp-app:1.5.0-slow", slow_ms=300).slow_ms == 300
    migration = behaviour_for("qlp-app:migrate-7")
    assert migration.migrate and migration.migrate_to == 7 and not migration.migrate_fails
    assert behaviour_for("qlp-app:migrate").migrate_to is None
    assert behaviour_for("qlp-app:migrate-fail").migrate_fails


def test_new_tags_slow_ms_flaky_errors_after_and_crash_after() -> None:
    assert behaviour_for("qlp-app:1.1.0-slow-300").slow_ms == 300
    assert behaviour_for("qlp-app:1.1.0-slow").slow_ms == 800
    flaky = behaviour_for("qlp-app:1.1.0-flaky-10")
    failures = [n for n in range(1, 101) if flaky.failing(0.0, n)]
    assert len(failures) == 10 and failures[0] == 10  # exactly that share, every tenth request
    assert flaky.failing(0.0, 10) == "image 1.1.0-flaky-10 fails 10% of requests"
    late = behaviour_for("qlp-app:1.1.0-errors-after-20")
    assert late.errors_after_s == 20 and not late.failing(19.9, 1)
    assert late.failing(20.0, 1) == "image 1.1.0-errors-after-20 fails after 20 s"
    assert behaviour_for("qlp-app:1.1.0-crash-after-6").crash_after_s == 6
    plain = behaviour_for("qlp-app:1.1.0")
    assert (plain.flaky_percent, plain.errors_after_s, plain.crash_after_s) == (0, None, None)
    assert not plain.failing(1e6, 1000)
    assert behaviour_for("qlp-app:2.0.0-broken").failing(0.0, 1) == "image 2.0.0-broken is broken"


def test_the_stand_in_embedding_is_deterministic_and_normalised() -> None:
    a, b = embed("book a flight to London"), embed("book a flight to London")
    assert a == b
    assert math.isclose(math.sqrt(sum(x * x for x in a)), 1.0)
    assert embed("book a flight") != embed("cancel my hotel")


# ---- through the router, on the real database -------------------------------------------------------
@pytest.mark.sandbox
def test_intents_are_real_rows_and_search_ranks_by_cosine_similarity(sandbox: SandboxClient) -> None:
    fd, db = sandbox.endpoints["frontdoor_url"], sandbox.endpoints["database_url"]
    marker = uuid.uuid4().hex
    status, created = call(f"{fd}/api/v1/intents", {"text": f"book a flight to Lisbon {marker}"})
    assert status == 201
    call(f"{fd}/api/v1/intents", {"text": f"cancel the gym membership {marker}x"})
    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT text, cardinality(embedding) FROM intents WHERE id = %s", (created["id"],)
        ).fetchone()
    assert row == (f"book a flight to Lisbon {marker}", 64)
    status, found = call(f"{fd}/api/v1/search", {"text": f"book a flight to Lisbon {marker}", "limit": 3})
    assert status == 200
    assert found["results"][0]["id"] == created["id"]
    assert math.isclose(found["results"][0]["score"], 1.0)
    assert found["results"][0]["score"] >= found["results"][-1]["score"]
    status, by_vector = call(f"{fd}/api/v1/search", {"embedding": embed(f"book a flight to Lisbon {marker}")})
    assert status == 200 and by_vector["results"][0]["id"] == created["id"]


@pytest.mark.sandbox
def test_the_dr_documents_smoke_api(sandbox: SandboxClient) -> None:
    fd = sandbox.endpoints["frontdoor_url"]
    marker = uuid.uuid4().hex
    status, created = call(f"{fd}/api/v1/intents", {"user_input": f"reserve a table {marker}"})
    assert status == 201 and created["status"] == "success" and created["intent_id"] == created["id"]
    status, found = call(f"{fd}/api/v1/search", {"query": f"reserve a table {marker}"})
    assert status == 200 and found["results"][0]["id"] == created["intent_id"]


@pytest.mark.sandbox
def test_bad_input_is_refused_and_writes_nothing(sandbox: SandboxClient) -> None:
    fd, db = sandbox.endpoints["frontdoor_url"], sandbox.endpoints["database_url"]
    before = count_intents(db)
    assert call(f"{fd}/api/v1/intents", {"text": ""})[0] == 400
    assert call(f"{fd}/api/v1/intents", {"text": "x", "embedding": ["a"]})[0] == 400
    assert call(f"{fd}/api/v1/intents", raw=b"not json")[0] == 400
    assert call(f"{fd}/api/v1/search", {"text": "x", "limit": 0})[0] == 400
    assert count_intents(db) == before


@pytest.mark.sandbox
def test_status_and_database_health_name_the_serving_group(sandbox: SandboxClient) -> None:
    fd = sandbox.endpoints["frontdoor_url"]
    status, info = call(f"{fd}/api/v1/status")
    assert status == 200 and info["container_group"] == sandbox.endpoints["container_groups"]["uksouth-blue"]
    status, health = call(f"{fd}/api/v1/health/database")
    assert status == 200 and health["read_only"] is False and health["schema_version"] >= 1


@pytest.mark.sandbox
def test_maintenance_mode_refuses_writes_and_keeps_reads(sandbox: SandboxClient) -> None:
    rg, name = sandbox.endpoints["resource_groups"]["primary"], f"ci-mm-{uuid.uuid4().hex[:6]}"
    env = [{"name": "MAINTENANCE_MODE", "value": "true"}]
    body = group_body(sandbox.endpoints, "qlp-app:1.0.0", env=env)
    with ContainerInstanceManagementClient(
        StaticTokenCredential(),
        sandbox.endpoints["subscription_id"],
        base_url=sandbox.arm_endpoint,
        connection_verify=sandbox.ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
    ) as ci:
        port = ci.container_groups.begin_create_or_update(rg, name, body).result().ip_address.ports[0].port
        try:
            before = count_intents(sandbox.endpoints["database_url"])
            assert call(f"http://127.0.0.1:{port}/api/v1/intents", {"text": "hello"})[0] == 503
            assert call(f"http://127.0.0.1:{port}/api/v1/search", {"text": "hello"})[0] == 200
            assert call(f"http://127.0.0.1:{port}/api/v1/status")[1]["maintenance_mode"] is True
            assert count_intents(sandbox.endpoints["database_url"]) == before
        finally:
            ci.container_groups.begin_delete(rg, name).result()


def test_a_component_answers_healthy_only_once_it_has_warmed_up() -> None:
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from sandbox.workload.__main__ import warmup_of
    from sandbox.workload.app import WorkloadConfig, build_app
    from tests.polling import until_async

    assert warmup_of("websocket=0.5, analytics=40") == (("websocket", 0.5), ("analytics", 40.0))
    cfg = WorkloadConfig(
        behaviour=behaviour_for("qlp-app:1.4.2"), database_url="", warmup=warmup_of("ws=0.5")
    )

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(cfg))) as client:
            early = await client.get("/api/v1/health/components/ws")
            assert early.status == 503 and (await early.json())["status"] == "warming up"
            assert (await client.get("/api/v1/health/components/other")).status == 404

            async def healthy() -> bool:
                return (await client.get("/api/v1/health/components/ws")).status == 200

            await until_async(healthy, "the component turns healthy after its warm-up", 10, 0.05)

    asyncio.run(scenario())
