"""Which server is the primary now, decided from observed candidates in every state a run can find."""

from __future__ import annotations

import json

from shared.estate import PrimaryFound
from shared.policy import Decision, Primary, ServerView, current_primary

SOUTH, WEST = "qlp-db-uksouth", "qlp-db-ukwest"
SOUTH_HOST, WEST_HOST = "127.0.0.1:5501", "127.0.0.1:5502"


def south(**kw: str | bool) -> ServerView:
    base = {"state": "Ready", "role": "primary", "fqdn": SOUTH_HOST, "resource_group": "rg-uksouth"}
    return ServerView(SOUTH, **{**base, **kw})  # type: ignore[arg-type]


def west(**kw: str | bool) -> ServerView:
    base = {"state": "Ready", "role": "replica", "source_server": SOUTH, "fqdn": WEST_HOST}
    return ServerView(WEST, **{"resource_group": "rg-ukwest", **base, **kw})  # type: ignore[arg-type]


def found(decision: Decision[Primary]) -> Primary:
    """The primary a decision found (a Decision[Primary] with action "primary" carries it as its value)."""
    assert decision.action == "primary" and isinstance(decision.value, Primary), decision
    return decision.value


def test_the_configured_primary_up_with_its_replica_is_the_primary() -> None:
    decision = current_primary([south(), west()], secret_host=SOUTH_HOST)
    assert decision.action == "primary"
    assert (found(decision).server, found(decision).resource_group) == (SOUTH, "rg-uksouth")
    assert (found(decision).replica, found(decision).replica_resource_group) == (WEST, "rg-ukwest")
    assert decision.reason == (
        f"{SOUTH} is the primary ({WEST} is a replica of {SOUTH}; the database secret points at {SOUTH})"
    )


def test_after_a_forced_failover_the_promoted_replica_is_the_primary_and_has_no_replica() -> None:
    servers = [south(state="Stopped"), west(role="standalone", source_server="")]
    decision = current_primary(servers, secret_host=WEST_HOST)
    assert (decision.action, found(decision).server, found(decision).replica) == ("primary", WEST, "")
    assert found(decision).resource_group == "rg-ukwest"
    assert decision.reason == (
        f"{WEST} is the primary ({SOUTH} is stopped; the database secret points at {WEST})"
    )


def test_after_a_planned_switchover_the_old_primary_is_the_new_ones_replica() -> None:
    servers = [south(role="replica", source_server=WEST), west(role="primary", source_server="")]
    decision = current_primary(servers, secret_host=WEST_HOST)
    assert (found(decision).server, found(decision).replica) == (WEST, SOUTH)
    assert found(decision).replica_resource_group == "rg-uksouth"


def test_after_a_failback_the_tagged_server_the_replica_follows_is_the_primary() -> None:
    home = ServerView("qlp-db-uksouth-fb1a2b3c", "rg-uksouth", state="Ready", role="primary", fqdn="h:1")
    servers = [south(state="Stopped"), west(source_server=home.name), home]
    decision = current_primary(servers, secret_host="h:1")
    assert (found(decision).server, found(decision).replica) == (home.name, WEST)
    assert f"{SOUTH} is stopped" in decision.reason
    assert f"{WEST} is a replica of {home.name}" in decision.reason


def test_two_writable_servers_are_refused_never_guessed() -> None:
    servers = [south(role="standalone"), west(role="standalone", source_server="")]
    decision = current_primary(servers, secret_host=WEST_HOST)
    assert decision.action == "refuse" and decision.value is None
    assert decision.reason == (
        f"refusing to choose a primary: {SOUTH} and {WEST} are both writable (the database secret points "
        f"at {WEST}); fence the one the app must not use, then run again"
    )


def test_neither_reachable_is_refused_with_what_was_seen() -> None:
    servers = [
        ServerView(SOUTH, error="transient: get server qlp-db-uksouth: connection refused"),
        west(state="Stopped"),
    ]
    decision = current_primary(servers, secret_host=None)
    assert decision.action == "refuse"
    assert decision.reason.startswith("no primary found: qlp-db-uksouth could not be read (transient:")
    assert f"{WEST} is a replica of {SOUTH}, stopped" in decision.reason
    assert decision.reason.endswith("(the database secret was not read)")


def test_a_missing_server_is_described_as_missing() -> None:
    decision = current_primary([ServerView(SOUTH, exists=False), west(state="Stopped")])
    assert decision.action == "refuse" and f"{SOUTH} does not exist" in decision.reason


def test_a_secret_pointing_away_from_the_only_writable_server_is_refused() -> None:
    servers = [south(state="Stopped"), west(role="standalone", source_server="")]
    decision = current_primary(servers, secret_host="127.0.0.1:5999")
    assert decision.action == "refuse"
    assert "the database secret points at 127.0.0.1:5999, not at it" in decision.reason


def test_an_unread_secret_leaves_the_decision_to_the_roles() -> None:
    decision = current_primary([south(state="Stopped"), west(role="standalone")], secret_host=None)
    assert found(decision).server == WEST and "the database secret was not read" in decision.reason


def test_the_default_postgres_port_in_the_secret_matches_a_bare_host() -> None:
    cloud = south(fqdn="qlp-db-uksouth.postgres.database.azure.com")
    decision = current_primary([cloud, west()], secret_host="QLP-DB-UKSOUTH.postgres.database.azure.com:5432")
    assert found(decision).server == SOUTH


def test_the_decision_crosses_the_boundary_as_plain_json() -> None:
    decision = current_primary([south(), west()], secret_host=SOUTH_HOST)
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["action"] == "primary" and data["reason"] == decision.reason
    assert data["value"]["server"] == SOUTH and data["value"]["replica"] == WEST
    # the flat view reports and the status show
    view = PrimaryFound(decision).view()
    assert (view["primary"], view["replica"], view["primary_resource_group"]) == (SOUTH, WEST, "rg-uksouth")


def test_a_refusal_crosses_the_boundary_as_plain_json_without_a_primary() -> None:
    servers = [south(role="standalone"), west(role="standalone", source_server="")]
    decision = current_primary(servers, secret_host=WEST_HOST)
    data = json.loads(json.dumps(decision.to_dict()))
    assert data == {"action": "refuse", "reason": decision.reason, "rule": ""}
    assert PrimaryFound(decision).view()["primary"] == ""
