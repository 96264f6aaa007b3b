"""Names of the servers Continuity creates: within Azure's 63 characters, and no growth however many
restores, failbacks and drills follow one another."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from shared.naming import (
    MAX_SERVER_NAME,
    base_name,
    derived_server_name,
    failback_server_name,
    stamp,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SOUTH = "qlp-db-uksouth"
LONGEST = "a" * 20 + "-" + "b" * 20 + "-" + "c" * 21  # 63 characters: the longest name Azure allows
TOKEN = "a1b2c3d4-0000-5000-8000-000000000000"  # a failback's token (context.new_uuid())
# Azure's rule for a flexible server name: 3-63 lowercase letters, digits and hyphens, no hyphen at an end
VALID = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


def valid(name: str) -> bool:
    return bool(VALID.fullmatch(name)) and "--" not in name


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_stamp_is_a_compact_utc_time() -> None:
    assert stamp(T0) == "20261129t120000"


def test_a_derived_name_is_the_source_the_purpose_and_the_moment() -> None:
    assert derived_server_name(SOUTH, "pitr", T0) == f"{SOUTH}-pitr-20261129t120000"
    assert derived_server_name(SOUTH, "rt", T0) == f"{SOUTH}-rt-20261129t120000"
    assert derived_server_name(SOUTH, "drill", T0) == f"{SOUTH}-drill-20261129t120000"


def test_the_drill_replica_name_carries_its_role() -> None:
    assert derived_server_name(SOUTH, "drill", T0, role="r") == f"{SOUTH}-drill-20261129t120000-r"


def test_a_failback_name_is_the_primary_and_a_short_token() -> None:
    assert failback_server_name(SOUTH, TOKEN) == f"{SOUTH}-fba1b2c3"


@pytest.mark.parametrize(("purpose", "role"), [("pitr", ""), ("rt", ""), ("drill", ""), ("drill", "r")])
def test_a_name_derived_from_the_longest_source_fits_in_63_characters(purpose: str, role: str) -> None:
    name = derived_server_name(LONGEST, purpose, T0, role=role)
    suffix = f"-{purpose}-20261129t120000" + (f"-{role}" if role else "")
    assert len(name) <= MAX_SERVER_NAME and name.endswith(suffix) and valid(name)
    assert LONGEST.startswith(name.removesuffix(suffix))  # the source, cut short, never the suffix


def test_a_failback_name_from_the_longest_primary_fits_in_63_characters() -> None:
    name = failback_server_name(LONGEST, TOKEN)
    assert len(name) <= MAX_SERVER_NAME and name.endswith("-fba1b2c3") and valid(name)


def test_a_cut_that_ends_on_a_hyphen_does_not_leave_two_in_a_row() -> None:
    source = "a" * 38 + "-" + "b" * 24  # the cut for "-drill-<stamp>-r" (24 chars) falls on the hyphen
    name = derived_server_name(source, "drill", T0, role="r")
    assert name == "a" * 38 + "-drill-20261129t120000-r"
    assert valid(name) and len(name) <= MAX_SERVER_NAME


def test_a_restore_of_a_restored_server_does_not_grow_the_name() -> None:
    restored = derived_server_name(SOUTH, "pitr", at(0))
    again = derived_server_name(restored, "pitr", at(60))
    assert again == f"{SOUTH}-pitr-20261129t130000"
    assert len(again) == len(restored)


def test_a_drill_of_a_failed_back_server_is_named_after_the_home_server() -> None:
    home = failback_server_name(SOUTH, TOKEN)
    assert derived_server_name(home, "drill", T0) == f"{SOUTH}-drill-20261129t120000"
    assert derived_server_name(home, "drill", T0, role="r") == f"{SOUTH}-drill-20261129t120000-r"


def test_a_failback_after_a_restore_is_named_after_the_home_server() -> None:
    restored = derived_server_name(SOUTH, "pitr", T0)
    assert failback_server_name(restored, TOKEN) == f"{SOUTH}-fba1b2c3"
    assert failback_server_name(failback_server_name(SOUTH, "ffffff"), TOKEN) == f"{SOUTH}-fba1b2c3"


def test_names_grown_by_older_versions_shrink_back_to_their_base() -> None:
    grown = f"{SOUTH}-pitr-20261129t110000-pitr-20261129t113000-fb0a0b0c"
    assert base_name(grown) == SOUTH
    assert derived_server_name(grown, "rt", T0) == f"{SOUTH}-rt-20261129t120000"


@pytest.mark.parametrize("source", [SOUTH, "qlp-db-ukwest", LONGEST])
def test_names_stay_the_same_length_through_any_chain_of_operations(source: str) -> None:
    """Restores, restore tests, drills (and their replicas) and failbacks, one after another, each
    from the server the previous one created: every name fits, none grows."""
    steps = [
        ("pitr", ""),
        ("pitr", ""),
        ("fb", ""),
        ("drill", ""),
        ("drill", "r"),
        ("pitr", ""),
        ("rt", ""),
        ("fb", ""),
        ("fb", ""),
        ("drill", "r"),
        ("pitr", ""),
    ] * 3
    current, first_length = source, dict[tuple[str, str], int]()
    for minute, (purpose, role) in enumerate(steps):
        if purpose == "fb":
            current = failback_server_name(current, f"{minute:06x}")
        else:
            current = derived_server_name(current, purpose, at(minute), role=role)
        assert len(current) <= MAX_SERVER_NAME and valid(current), current
        assert source.startswith(base_name(current)), current  # the source's name, cut short at most
        length = first_length.setdefault((purpose, role), len(current))
        assert len(current) <= length, f"{current} grew after {minute + 1} operations"
        if len(source) <= MAX_SERVER_NAME - len("-drill-20261129t120000-r"):  # never needs a cut
            assert base_name(current) == source and len(current) == length


def test_a_name_continuity_did_not_derive_is_its_own_base() -> None:
    for name in (SOUTH, "pitr-db", "qlp-db-pitr", "qlp-drill-db", LONGEST):
        assert base_name(name) == name
