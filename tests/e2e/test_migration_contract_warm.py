"""Contract's slot rule end to end: after a deploy carrying an expand, an operator starts the old (idle)
slot again to keep it warm (``az container start``, here the sandbox's ARM); a contract is then refused
naming that slot and the release it runs, older than the expand; once the slot is stopped again
(``az container stop``) the same contract runs and the schema reaches its target. The bake-time half of
the gate is in test_migration_deploy.py."""

from __future__ import annotations

import pytest

from tests.polling import until
from tests.support.deploy_e2e import MIGRATION, REPO, deploy, finish, releases, schema_version
from tests.support.e2e import RESTORE_DEADLINE, Estate, EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

GROUPS = "Microsoft.ContainerInstance/containerGroups"
ACI_API = "api-version=2023-05-01"
CONTRACT = {"image": "migrate-3", "reason": "drop the old column", "target_version": 3, "class": "contract"}


def group_path(estate: Estate, group: str) -> str:
    """The ARM path of a container group in the primary resource group."""
    e = estate.endpoints
    rg = e["resource_groups"]["primary"]
    return f"/subscriptions/{e['subscription_id']}/resourceGroups/{rg}/providers/{GROUPS}/{group}"


def group_state(estate: Estate, group: str) -> str:
    view = estate.sandbox.request("GET", f"{group_path(estate, group)}?{ACI_API}")
    return str(view["properties"]["instanceView"]["state"])


def operate(estate: Estate, group: str, action: str, state: str) -> None:
    """POST .../{group}/{action} through the sandbox's ARM, as ``az container <action>``; wait for
    ``state``."""
    estate.sandbox.request("POST", f"{group_path(estate, group)}/{action}?{ACI_API}")
    until(
        lambda: group_state(estate, group) == state,
        lambda: f"{group} is {state} (now {group_state(estate, group)})",
        timeout=90,
        interval=0.3,
    )


def test_a_contract_is_refused_while_the_old_slot_is_kept_warm_and_runs_once_it_is_stopped(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(**{**MIGRATION, "MIGRATION_CONTRACT_BAKE_HOURS": "0"})
    tested = estate.start("/api/drills", {"scenario": "restore", "reason": "anchor"})
    assert estate.wait_done(tested, RESTORE_DEADLINE)["output"]["status"] == "succeeded"
    first = finish(estate, deploy(estate, "1.0.1", "a release on schema 1"))
    assert first["status"] == "succeeded", first["summary"]
    expand = {"image": "migrate-2", "target_version": 2, "class": "expand"}
    out = finish(estate, deploy(estate, "1.1.0", "a release with an expand", migration=expand))
    assert out["status"] == "succeeded", out["summary"]

    seen = releases(estate)
    idle = seen["idle"]
    assert (seen["live"]["image"], idle["image"]) == (f"{REPO}:1.1.0", f"{REPO}:1.0.1"), seen
    assert idle["state"] == "Stopped", idle  # the deploy's scale-down stopped the old slot
    expand_run = next(e["run_id"] for e in seen["history"] if e.get("class") == "expand")

    operate(estate, idle["group"], "start", "Running")  # the operator keeps the old slot warm
    refused = finish(estate, estate.start("/api/migrations", CONTRACT))
    assert refused["status"] == "refused", refused["summary"]
    older = f"idle runs {REPO}:1.0.1, a release older than expand {expand_run}"
    assert f"contract refused: {older}" in refused["summary"], refused["summary"]
    assert "live runs" not in refused["summary"] and "standby runs" not in refused["summary"]
    assert schema_version(estate) == 2

    operate(estate, idle["group"], "stop", "Stopped")
    done = finish(estate, estate.start("/api/migrations", CONTRACT))
    assert done["status"] == "succeeded", done["summary"]
    assert done["measurements"]["schema_version_after"] == 3
    assert schema_version(estate) == 3
    last = releases(estate)["history"][-1]
    assert (last["kind"], last.get("class"), last["schema_version"]) == ("migration", "contract", 3), last
