"""Migrations with deploys end to end, one estate: an expand carried by a deploy with zero failed public
requests, contract refused within the bake time after it, and after a breaking migration the deploy's
automatic rollback refused (rule 9) with a page naming the image, its schema and the migration."""

from __future__ import annotations

import pytest

from tests.support.deploy_e2e import LEAN, REPO, deploy, finish, polling, releases
from tests.support.e2e import RESTORE_DEADLINE, EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]


def test_expand_in_a_deploy_then_contract_refused_then_no_rollback_after_breaking(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(
        **{
            **LEAN,
            "POST_SWITCH_CHECKS": "20",
            "MIGRATION_DRAIN_SECONDS": "2",
            "MAINTENANCE_VERIFY_SECONDS": "40",
        }
    )
    tested = estate.start("/api/drills", {"scenario": "restore", "reason": "anchor"})
    assert estate.wait_done(tested, RESTORE_DEADLINE)["output"]["status"] == "succeeded"

    expand = {"image": "migrate-2", "target_version": 2, "class": "expand"}
    with polling(estate) as poller:
        out = finish(estate, deploy(estate, "1.1.0", "release with an expand", migration=expand))
    assert out["status"] == "succeeded", out["summary"]
    assert poller.failed() == [] and poller.versions() == ["1.0.0", "1.1.0"]
    history = releases(estate)["history"]
    assert [(e["kind"], e.get("class"), e["schema_version"]) for e in history] == [
        ("migration", "expand", 2),
        ("deploy", None, 2),
    ]

    body = {"image": "migrate-3", "reason": "drop", "target_version": 3, "class": "contract"}
    contract = finish(estate, estate.start("/api/migrations", body))
    assert contract["status"] == "refused" and "bake time" in contract["summary"], contract["summary"]

    body = {"image": "migrate-3", "reason": "split", "target_version": 3, "class": "breaking"}
    breaking = finish(estate, estate.start("/api/migrations", body))
    assert breaking["status"] == "succeeded", breaking["summary"]
    bad = finish(estate, deploy(estate, "1.2.0-errors-after-12", "a bad release"))
    assert bad["status"] == "failed", bad["summary"]
    assert (
        f"no automatic rollback of {REPO}:1.2.0-errors-after-12: {REPO}:1.1.0 ran on schema 2"
        in bad["summary"]
    )
    assert "the schema is now 3" in bad["summary"]
    assert any(m.get("page") and m.get("run_id") == bad["run_id"] for m in estate.receiver.messages())
    assert releases(estate)["live"]["image"] == f"{REPO}:1.2.0-errors-after-12"  # traffic not moved back
