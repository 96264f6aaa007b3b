"""Container group activities against the sandbox, where each group is a real workload process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from sandbox.client import SandboxClient
from shared import names
from tests.polling import until
from tests.support.activities import Activity, app_environment

pytestmark = pytest.mark.sandbox

IMAGE = "qlpregistry.azurecr.io/qlp-app:1.0.0"


@pytest.fixture
def scratch_group(act: Activity) -> Iterator[str]:
    name = f"ci-qlp-it-{uuid.uuid4().hex[:6]}"
    yield name
    act(names.CONTAINERS_DELETE_GROUP, group=name)


def _wait_probe(act: Activity, url: str, ok: bool, timeout: float = 30.0) -> None:
    until(
        lambda: act(names.PROBE_HTTP, url=url, timeout_seconds=2)["ok"] is ok,
        f"{url} is {'healthy' if ok else 'unreachable'}",
        timeout,
        interval=0.2,
    )


def test_group_lifecycle_converges_and_runs_a_real_process(act: Activity, scratch_group: str) -> None:
    spec = {
        "group": scratch_group,
        "image": IMAGE,
        "environment": {"FEATURE": "on"},
        "run_id": "it-containers",
    }
    created = act(names.CONTAINERS_ENSURE_GROUP, **spec)
    unchanged = act(names.CONTAINERS_ENSURE_GROUP, **spec)
    assert (created["created"], created["changed"], unchanged["changed"]) == (True, True, False)
    view = act(names.CONTAINERS_GET_GROUP, group=scratch_group)
    assert view["exists"] and view["created_by_continuity"] and view["image"] == IMAGE
    health = f"{view['url']}/health"
    _wait_probe(act, health, ok=True)

    stopped = [act(names.CONTAINERS_STOP_GROUP, group=scratch_group) for _ in range(2)]
    assert [s["changed"] for s in stopped] == [True, False]
    _wait_probe(act, health, ok=False)
    started = [act(names.CONTAINERS_START_GROUP, group=scratch_group) for _ in range(2)]
    assert [s["changed"] for s in started] == [True, False] and started[1]["state"] == "Running"
    _wait_probe(act, health, ok=True)

    restarted = act(names.CONTAINERS_RESTART_GROUP, group=scratch_group)
    assert restarted["changed"] is True and restarted["state"] == "Running"
    logs = act(names.CONTAINERS_GET_LOGS, group=scratch_group)
    assert logs["container"] == view["containers"][0]["name"] and isinstance(logs["logs"], str)

    updated = act(names.CONTAINERS_ENSURE_GROUP, **{**spec, "image": IMAGE.replace("1.0.0", "1.1.0")})
    assert updated["changed"] is True and updated["image"].endswith(":1.1.0")
    _wait_probe(act, f"{updated['url']}/api/v1/status", ok=True)
    status = act(names.PROBE_HTTP, url=f"{updated['url']}/api/v1/status", body_contains='"version": "1.1.0"')
    assert status["body_matched"] is True

    deleted = [act(names.CONTAINERS_DELETE_GROUP, group=scratch_group) for _ in range(2)]
    assert [(d["deleted"], d["already_gone"]) for d in deleted] == [(True, False), (False, True)]
    assert act(names.CONTAINERS_GET_GROUP, group=scratch_group)["exists"] is False


def test_deleting_a_group_continuity_did_not_create_is_refused(act: Activity, sandbox: SandboxClient) -> None:
    blue = sandbox.endpoints["container_groups"]["uksouth-blue"]
    with pytest.raises(Exception, match=rf"^precondition: delete container group {blue}: refused"):
        act(names.CONTAINERS_DELETE_GROUP, group=blue)
    assert act(names.CONTAINERS_GET_GROUP, group=blue)["state"] == "Running"


def test_jobs_run_to_completion_once_per_run(sandbox: SandboxClient, sandbox_values: dict[str, str]) -> None:
    """The job runner behind the long-term proof's restore job (shared/azure/containers.py run_job)."""
    from shared.azure import runtime

    ok_job, failing_job, long_job = (f"ci-qlp-job-{uuid.uuid4().hex[:6]}" for _ in range(3))
    rg = sandbox.endpoints["resource_groups"]["primary"]
    with app_environment(sandbox_values):
        jobs = runtime.containers()

        def run(group: str, tag: str, run_id: str, **kw: Any) -> dict[str, Any]:
            spec = {"image": IMAGE.replace("1.0.0", tag)}
            return jobs.run_job(group, rg, spec, location="uksouth", run_id=run_id, **kw)

        try:
            serving = run(long_job, "1.0.0", "it-job-0", wait=1)  # a process that never exits
            assert serving["pending"] is True and "still Running after 1 s; call again" in serving["message"]
            ok, again = run(ok_job, "migrate-1", "it-job-1"), run(ok_job, "migrate-1", "it-job-1")
            assert (ok["exit_code"], ok["succeeded"], again["exit_code"]) == (0, True, 0)
            failed = run(failing_job, "migrate-fail", "it-job-2")
            assert (failed["exit_code"], failed["succeeded"]) == (1, False)
            with pytest.raises(
                Exception, match=rf"^precondition: run job in container group {ok_job}: .*another run"
            ):
                run(ok_job, "1.0.0", "it-job-3")
        finally:
            for job in (ok_job, failing_job, long_job):
                jobs.delete(job, rg)
    with psycopg.connect(str(sandbox.endpoints["database_url"])) as conn:
        assert conn.execute("select version from schema_version").fetchall() == [(1,)]
