"""Container groups through azure-mgmt-containerinstance: real workload processes behind each group."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from sandbox.client import SandboxClient, StaticTokenCredential
from tests.polling import until
from tests.support.aci import group_body

pytestmark = pytest.mark.sandbox


@pytest.fixture
def ci(sandbox: SandboxClient) -> Iterator[ContainerInstanceManagementClient]:
    client = ContainerInstanceManagementClient(
        StaticTokenCredential(),
        sandbox.endpoints["subscription_id"],
        base_url=sandbox.arm_endpoint,
        connection_verify=sandbox.ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
    )
    with client:
        yield client


def http(port: int, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return int(resp.status), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), json.loads(exc.read())
    except OSError:
        return 0, None


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def rg(sandbox: SandboxClient) -> str:
    return str(sandbox.endpoints["resource_groups"]["primary"])


@pytest.fixture
def name(ci: ContainerInstanceManagementClient, rg: str) -> Iterator[str]:
    group = f"ci-test-{uuid.uuid4().hex[:6]}"
    yield group
    ci.container_groups.begin_delete(rg, group).result()


def test_the_estate_has_blue_running_and_a_stopped_standby(
    sandbox: SandboxClient, ci: ContainerInstanceManagementClient, rg: str
) -> None:
    names = sandbox.endpoints["container_groups"]
    blue = ci.container_groups.get(rg, names["uksouth-blue"])
    assert blue.instance_view.state == "Running"
    assert blue.containers[0].instance_view.current_state.state == "Running"
    assert blue.ip_address.ip == "127.0.0.1"
    assert blue.ip_address.ports[0].port == sandbox.endpoints["container_ports"][names["uksouth-blue"]]
    assert http(blue.ip_address.ports[0].port, "/health")[0] == 200
    listed = {g.name for g in ci.container_groups.list_by_resource_group(rg)}
    assert {names["uksouth-blue"], names["uksouth-green"]} <= listed
    standby = ci.container_groups.get(
        sandbox.endpoints["resource_groups"]["secondary"], names["ukwest-standby"]
    )
    assert standby.instance_view.state == "Stopped"
    assert http(standby.ip_address.ports[0].port, "/health")[0] == 0


def test_create_stop_start_restart_logs_delete_with_real_processes(
    sandbox: SandboxClient, ci: ContainerInstanceManagementClient, rg: str, name: str
) -> None:
    env = [{"name": "GREETING", "value": "hi"}, {"name": "API_TOKEN", "secureValue": "s3cret-value"}]
    group = ci.container_groups.begin_create_or_update(
        rg, name, group_body(sandbox.endpoints, "qlp-app:1.2.3", env=env)
    ).result()
    assert group.provisioning_state == "Succeeded" and group.tags == {"test": "yes"}
    assert {(e.name, e.value, e.secure_value) for e in group.containers[0].environment_variables} >= {
        ("GREETING", "hi", None),
        ("API_TOKEN", None, None),
    }
    assert "s3cret-value" not in json.dumps(group.as_dict())
    port = group.ip_address.ports[0].port
    status, info = http(port, "/api/v1/status")
    assert status == 200 and info["container_group"] == name and info["version"] == "1.2.3"
    environ = Path(f"/proc/{info['pid']}/environ").read_bytes().split(b"\0")
    assert b"API_TOKEN=s3cret-value" in environ and b"GREETING=hi" in environ

    ci.container_groups.stop(rg, name)
    stopped = ci.container_groups.get(rg, name)
    assert stopped.instance_view.state == "Stopped"
    assert not alive(info["pid"]) and http(port, "/health")[0] == 0

    ci.container_groups.begin_start(rg, name).result()
    status, started = http(port, "/api/v1/status")
    assert status == 200 and started["pid"] != info["pid"]

    ci.container_groups.begin_restart(rg, name).result()
    restarted = ci.container_groups.get(rg, name)
    assert restarted.containers[0].instance_view.restart_count == 1
    assert http(port, "/api/v1/status")[1]["pid"] not in (info["pid"], started["pid"])
    assert "workload serving" in ci.containers.list_logs(rg, name, "app", tail=5).content

    tagged = ci.container_groups.update(rg, name, {"tags": {"created-by-run": "r-1"}})
    assert tagged.tags == {"created-by-run": "r-1"}
    assert ci.container_groups.get(rg, name).tags == {"created-by-run": "r-1"}

    ci.container_groups.begin_delete(rg, name).result()
    with pytest.raises(ResourceNotFoundError):
        ci.container_groups.get(rg, name)
    assert http(port, "/health")[0] == 0


def test_a_broken_image_runs_but_fails_health_and_smoke_routes(
    sandbox: SandboxClient, ci: ContainerInstanceManagementClient, rg: str, name: str
) -> None:
    group = ci.container_groups.begin_create_or_update(
        rg, name, group_body(sandbox.endpoints, "qlp-app:2.0.0-broken")
    ).result()
    port = group.ip_address.ports[0].port
    assert ci.container_groups.get(rg, name).instance_view.state == "Running"
    assert http(port, "/health")[0] == 500
    assert http(port, "/api/v1/status")[0] == 500


def test_a_failing_migration_image_terminates_with_its_exit_code(
    sandbox: SandboxClient, ci: ContainerInstanceManagementClient, rg: str, name: str
) -> None:
    ci.container_groups.begin_create_or_update(
        rg, name, group_body(sandbox.endpoints, "qlp-app:migrate-fail", policy="Never")
    ).result()

    def terminated() -> bool:
        return ci.container_groups.get(rg, name).instance_view.state == "Failed"

    until(terminated, "the migration container has exited")
    state = ci.container_groups.get(rg, name).containers[0].instance_view.current_state
    assert state.state == "Terminated" and state.exit_code == 1
    assert "failed" in ci.containers.list_logs(rg, name, "app").content


def test_restart_policy_always_restarts_a_crashing_container(
    sandbox: SandboxClient, ci: ContainerInstanceManagementClient, rg: str, name: str
) -> None:
    env = [{"name": "DATABASE_SECRET_NAME", "value": "no-such-secret"}]  # the app exits 1 without it
    ci.container_groups.begin_create_or_update(
        rg, name, group_body(sandbox.endpoints, "qlp-app:1.0.0", env=env)
    ).result()

    def restarted_twice() -> bool:
        return ci.container_groups.get(rg, name).containers[0].instance_view.restart_count >= 2

    until(restarted_twice, "the container has been restarted twice")
    view = ci.container_groups.get(rg, name).containers[0].instance_view
    assert view.previous_state.exit_code == 1


def test_a_crash_loop_backs_off_until_a_restart_through_the_api(
    sandbox: SandboxClient, ci: ContainerInstanceManagementClient, rg: str, name: str
) -> None:
    body = group_body(sandbox.endpoints, "qlp-app:1.0.0-crash-after-1")
    group = ci.container_groups.begin_create_or_update(rg, name, body).result()
    port = group.ip_address.ports[0].port

    def backing_off() -> bool:
        state = ci.container_groups.get(rg, name).containers[0].instance_view.current_state
        return bool(state.state == "Waiting" and state.detail_status == "CrashLoopBackOff")

    until(backing_off, "the crashing container waits in CrashLoopBackOff", timeout=30, interval=0.05)
    view = ci.container_groups.get(rg, name)
    assert view.instance_view.state == "Running"  # the group runs; its container waits to restart
    assert view.containers[0].instance_view.previous_state.exit_code == 1
    assert http(port, "/health")[0] == 0
    assert "crashes after 1 s" in ci.containers.list_logs(rg, name, "app").content

    ci.container_groups.begin_restart(rg, name).result()
    assert ci.container_groups.get(rg, name).containers[0].instance_view.current_state.state == "Running"
    assert http(port, "/health")[0] == 200


def test_bad_definitions_are_refused_and_create_nothing(
    ci: ContainerInstanceManagementClient, rg: str
) -> None:
    name = f"ci-bad-{uuid.uuid4().hex[:6]}"
    bad = {"location": "uksouth", "properties": {"osType": "Linux", "containers": []}}
    with pytest.raises(HttpResponseError) as err:
        ci.container_groups.begin_create_or_update(rg, name, bad).result()
    assert err.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        ci.container_groups.get(rg, name)


def test_a_migration_image_changes_the_schema_and_exits_zero(
    sandbox_factory: Callable[..., SandboxClient],
) -> None:
    sb = sandbox_factory(components=["flexible_servers", "keyvault", "containers"])
    rg, name = sb.endpoints["resource_groups"]["primary"], "ci-qlp-migrate"
    with ContainerInstanceManagementClient(
        StaticTokenCredential(),
        sb.endpoints["subscription_id"],
        base_url=sb.arm_endpoint,
        connection_verify=sb.ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
    ) as client:
        client.container_groups.begin_create_or_update(
            rg, name, group_body(sb.endpoints, "qlp-app:migrate-5", policy="Never")
        ).result()
        until(
            lambda: client.container_groups.get(rg, name).instance_view.state == "Succeeded",
            "the migration ran",
        )
        state = client.container_groups.get(rg, name).containers[0].instance_view.current_state
        assert state.state == "Terminated" and state.exit_code == 0
        assert "schema_version 1 -> 5" in client.containers.list_logs(rg, name, "app").content
    with psycopg.connect(sb.endpoints["database_url"]) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(5,)]
