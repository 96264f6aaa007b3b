"""The database URL secret is re-pointed by swapping only its host (no sandbox needed)."""

from __future__ import annotations

import pytest

from shared.azure.database import role_of
from shared.azure.secrets import database_of, host_of, swap_host

URL = "postgresql://qlp_app:p%40ss%3Aw0rd@qlp-db-uksouth.postgres.database.azure.com/qlp_db?sslmode=require"


def test_swap_host_keeps_user_password_database_and_options() -> None:
    swapped = swap_host(URL, "qlp-db-ukwest.postgres.database.azure.com")
    assert swapped == URL.replace("qlp-db-uksouth", "qlp-db-ukwest")
    assert swap_host(swapped, "127.0.0.1:5433").endswith("@127.0.0.1:5433/qlp_db?sslmode=require")
    assert (
        host_of(swapped) == "qlp-db-ukwest.postgres.database.azure.com" and database_of(swapped) == "qlp_db"
    )


@pytest.mark.parametrize("bad", ["", "https://host/x", "postgresql://host-without-user/db"])
def test_swap_host_refuses_what_is_not_a_database_url(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        swap_host(bad, "x")
    assert bad == "" or bad not in str(caught.value)


@pytest.mark.parametrize(
    ("replication_role", "role"),
    [
        ("Primary", "primary"),
        ("AsyncReplica", "replica"),
        ("GeoAsyncReplica", "replica"),
        ("None", "standalone"),
        (None, "standalone"),
    ],
)
def test_role_of(replication_role: str | None, role: str) -> None:
    assert role_of(replication_role) == role
