"""The switchover's activities on the strict sandbox: the virtual endpoint pair ensured on the primary,
the database secret on its writer (which the primary is then found through), WAL positions compared
exactly, the writer following the switchover so the secret needs no change, and GeoRestore refused
from a server without geo-redundant backups."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.app_settings import app_settings
from shared import estate, names, policy
from shared.config import load_settings
from tests.support.activities import app_environment, caller

pytestmark = pytest.mark.sandbox


def test_virtual_endpoint_secret_on_the_writer_and_a_switchover_without_a_secret_change(
    sandbox_factory: Any,
) -> None:
    sb = sandbox_factory()
    values = app_settings(sb.endpoints)
    act = caller(values)
    primary, replica = sb.endpoints["servers"]["primary"], sb.endpoints["servers"]["replica"]

    def found() -> Any:
        from activities.inprocess import read_now

        with app_environment(values):
            return read_now(estate.find_primary(load_settings(values)))

    pair = act(names.DATABASE_ENSURE_VIRTUAL_ENDPOINT, server=primary, replica=replica)
    assert pair["changed"] is True and pair["members"] == [primary, replica]
    again = act(names.DATABASE_ENSURE_VIRTUAL_ENDPOINT, server=primary, replica=replica)
    assert again["changed"] is False and again["writer_host"] == pair["writer_host"]
    assert act(names.DATABASE_GET_SERVER, server=primary)["writer_endpoint"] == pair["writer_host"]
    assert act(names.DATABASE_GET_SERVER, server=replica)["writer_endpoint"] is None

    pointed = act(names.SECRETS_POINT_DATABASE_URL, server=primary, endpoint="writer")
    assert pointed["changed"] is True and pointed["host"] == pair["writer_host"]
    assert found().primary.server == primary  # through its writer endpoint

    at_primary = act(names.DATABASE_GET_WAL_POSITION, server=primary)
    at_replica = act(names.DATABASE_GET_WAL_POSITION, server=replica)
    assert (at_primary["in_recovery"], at_replica["in_recovery"]) == (False, True)
    assert policy.lsn_bytes(at_replica["lsn"]) <= policy.lsn_bytes(
        act(names.DATABASE_GET_WAL_POSITION, server=primary)["lsn"]
    )

    act(names.DATABASE_PROMOTE_REPLICA, server=replica, mode="planned", operation="switchover")
    after = act(names.DATABASE_GET_WAL_POSITION, server=replica)
    assert after["in_recovery"] is False
    assert policy.zero_loss(before=at_primary["lsn"], after=after["lsn"]).is_("verified")
    assert act(names.DATABASE_GET_SERVER, server=replica)["writer_endpoint"] == pair["writer_host"]
    unchanged = act(names.SECRETS_POINT_DATABASE_URL, server=replica, endpoint="writer")
    assert unchanged["changed"] is False  # the writer followed the new primary
    assert found().primary.server == replica

    with pytest.raises(Exception, match=r"^precondition: point database secret at the writer endpoint of"):
        act(names.SECRETS_POINT_DATABASE_URL, server=primary, endpoint="writer")  # now a replica
    with pytest.raises(Exception, match=r"^precondition: geo-restore server .*geo-redundant"):
        act(
            names.DATABASE_RESTORE_SERVER,
            source=replica,
            target="qlp-db-geo",
            point_in_time="2026-01-01T00:00:00Z",
            run_id="it-geo",
            geo=True,
            location=sb.endpoints["regions"]["primary"],
            resource_group=sb.endpoints["resource_groups"]["primary"],
        )
