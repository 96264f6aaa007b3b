"""Rule 9's allowing half end to end: a bad release that carried an expand migration is rolled back
automatically to the release before it, which ran on the schema before the expand (every migration since
is an expand, so the old release works on the expanded schema). The refusing half, after a breaking
migration, is in test_migration_deploy.py."""

from __future__ import annotations

import pytest

from tests.support.deploy_e2e import LEAN, REPO, deploy, finish, releases
from tests.support.e2e import RESTORE_DEADLINE, EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]


def test_a_bad_release_carrying_an_expand_is_rolled_back_to_the_release_before_it(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(
        **{
            **LEAN,
            "POST_SWITCH_CHECKS": "20",
        }
    )
    tested = estate.start("/api/drills", {"scenario": "restore", "reason": "anchor"})
    assert estate.wait_done(tested, RESTORE_DEADLINE)["output"]["status"] == "succeeded"

    expand = {"image": "migrate-2", "target_version": 2, "class": "expand"}
    bad = finish(estate, deploy(estate, "1.1.0-errors-after-12", "a bad release", migration=expand))
    assert bad["status"] == "rolled-back", bad["summary"]
    seen = releases(estate)
    assert seen["live"]["image"] == f"{REPO}:1.0.0"  # back on the release that ran on schema 1
    kinds = [(e["kind"], e.get("class"), e["schema_version"]) for e in seen["history"]]
    assert kinds[0] == ("migration", "expand", 2) and ("rollback", None, 2) in kinds, kinds
