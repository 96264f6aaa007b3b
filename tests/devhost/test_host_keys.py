"""Host keys (pure apart from the state dir): where they come from and which levels they open."""

from __future__ import annotations

import stat
from pathlib import Path

from devhost.keys import HostKeys, authorized, load_keys, presented_key

KEYS = HostKeys(function_key="fk", master_key="mk")


def test_keys_from_the_environment_win_and_nothing_is_written(tmp_path: Path) -> None:
    keys = load_keys(tmp_path, {"DEVHOST_FUNCTION_KEY": "f1", "DEVHOST_MASTER_KEY": "m1"})
    assert (keys.function_key, keys.master_key, keys.generated) == ("f1", "m1", False)
    assert not (tmp_path / "keys.json").exists()


def test_generated_keys_are_stored_privately_and_reused(tmp_path: Path) -> None:
    first = load_keys(tmp_path, {})
    assert first.generated and first.function_key != first.master_key
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    again = load_keys(tmp_path, {})
    assert (again.function_key, again.master_key, again.generated) == (
        first.function_key,
        first.master_key,
        False,
    )


def test_keys_never_show_in_repr() -> None:
    assert "fk" not in repr(KEYS) and "mk" not in repr(KEYS)


def test_header_wins_over_code_query() -> None:
    assert presented_key({"x-functions-key": "h"}, {"code": "q"}) == "h"
    assert presented_key({}, {"code": "q"}) == "q"
    assert presented_key({}, {"code": ""}) is None


def test_levels() -> None:
    assert authorized("anonymous", None, KEYS)
    assert not authorized("function", None, KEYS)
    assert not authorized("function", "nope", KEYS)
    assert authorized("function", "fk", KEYS)
    assert authorized("FUNCTION", "mk", KEYS)
    assert not authorized("admin", "fk", KEYS)
    assert authorized("admin", "mk", KEYS)
