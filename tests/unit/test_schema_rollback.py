"""Rule 9 in the deploy's automatic rollback: allowed after an expand migration, refused (with a page and
a sentence naming the image, its schema, the migration and the current version) after a breaking one;
and every release event records the schema version it ran on."""

from __future__ import annotations

from typing import Any

from shared import names
from tests.support.deploy_estate import OGS, DeployEstate, deploy_input, image, released
from tests.support.durable import drive, orchestrator

DEPLOY = orchestrator(names.BLUE_GREEN_ORCHESTRATOR)


def after_a_migration(klass: str) -> DeployEstate:
    """1.0.0 is live and ran on schema 3; a migration of ``klass`` then moved the schema to 4."""
    estate = DeployEstate()
    estate.history(
        released("deploy", "1.0.0", slot="blue", schema_version=3),
        {**released("migration", "migrate-4"), "class": klass, "schema_version": 4, "run_id": "migration-4"},
    )
    estate.schema_version = 4
    return estate


def deploy_bad_release(estate: DeployEstate) -> tuple[dict[str, Any], Any]:
    ctx = estate.context(deploy_input("1.1.0-late"))
    return drive(DEPLOY, ctx), ctx


def test_the_automatic_rollback_is_allowed_after_an_expand() -> None:
    estate = after_a_migration("expand")
    out, ctx = deploy_bad_release(estate)
    assert out["status"] == "rolled-back", out["summary"]
    assert estate.route == OGS["blue"]
    assert [e["schema_version"] for e in estate.logs["releases-qlp"][2:]] == [4, 4]  # deploy, rollback
    rule9 = [d for d in ctx.last_report()["decisions"] if d["rule"] == "rule 9"]
    assert rule9 and rule9[0]["action"] == "allow"


def test_the_automatic_rollback_is_refused_and_pages_after_a_breaking_migration() -> None:
    estate = after_a_migration("breaking")
    out, ctx = deploy_bad_release(estate)
    assert out["status"] == "failed"
    assert (
        f"no automatic rollback of {image('1.1.0-late')}: {image('1.0.0')} ran on schema 3; "
        f"breaking migration migration-4 moved it to 4 ({image('migrate-4')}); the schema is now 4"
        in out["summary"]
    ), out["summary"]
    assert estate.route == OGS["green"] and estate.switches == [OGS["green"]]  # traffic was not moved back
    assert ctx.notifications[-1]["page"] is True
    assert estate.releases()[-1] == ("deploy", "1.1.0-late", "rollback-refused")
