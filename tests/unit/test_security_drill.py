"""The security drill: the alternating login roles and the revocation rule (pure), its settings, and the
plan driven with fakes: the credential moved before the idle slot starts, the old one revoked only after
the old slot stopped, and a failure before the revocation revokes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared import names, policy
from shared.config import SettingsError, load_settings
from tests.support.deploy_estate import GROUPS, OGS, DeployEstate, deploy_settings
from tests.support.durable import T0, Event, drive, orchestrator
from tests.support.settings import BACKUP_ENV

DRILL = orchestrator(names.DRILL_ORCHESTRATOR)


def test_the_secret_hands_over_to_the_other_role_of_its_pair() -> None:
    first = policy.rotation_roles("qlp_app", base=None, admin="qlpadmin")
    assert first.action == "rotate" and first.value == {
        "from": "qlp_app",
        "to": "qlp_app_alt",
        "base": "qlp_app",
    }
    back = policy.rotation_roles("qlp_app_alt", base=None, admin="qlpadmin")
    assert back.value == {"from": "qlp_app_alt", "to": "qlp_app", "base": "qlp_app"}
    configured = policy.rotation_roles("owner_alt", base="owner", admin="qlpadmin")
    assert configured.value == {"from": "owner_alt", "to": "owner", "base": "owner"}
    for user, base, why in (
        ("", None, "names no user"),
        ("qlpadmin", None, "administrator"),
        ("azuresu", None, "administrator or Azure"),
        ("someone", "owner", "neither owner nor owner_alt"),
    ):
        refused = policy.rotation_roles(user, base=base, admin="qlpadmin")
        assert refused.action == "refuse" and why in refused.reason, user


def test_only_a_role_the_secret_no_longer_holds_is_revoked() -> None:
    assert policy.revocable("qlp_app", secret_user="qlp_app_alt", admin="qlpadmin").action == "revoke"
    assert "holds now" in policy.revocable("qlp_app", secret_user="qlp_app", admin="qlpadmin").reason
    assert policy.revocable("QLPADMIN", secret_user="qlp_app", admin="qlpadmin").action == "refuse"
    assert policy.revocable("azure_pg_admin", secret_user="qlp_app", admin=None).action == "refuse"
    assert policy.own_role("qlp_app_alt", admin="qlpadmin").value == "qlp_app_alt"
    assert policy.own_role("azuresu", admin="qlpadmin").action == "refuse"  # never rotated, never revoked


def test_a_revocation_is_proved_only_by_what_was_read_back() -> None:
    assert policy.revocation_proved({"can_login": False, "after": 0})
    assert not policy.revocation_proved({"can_login": False, "after": 1})  # a session survived
    assert not policy.revocation_proved({"can_login": True, "after": 0})
    assert not policy.revocation_proved({})  # nothing read back is no proof


def test_the_verdict_needs_the_new_role_in_the_secret_and_the_old_one_revoked() -> None:
    ok = policy.security_verdict(failed_steps=[], revoked=True, secret_user="b", expected_user="b")
    assert ok.passed
    bad = policy.security_verdict(
        failed_steps=["switch: x"], revoked=None, secret_user="a", expected_user="b"
    )
    assert not bad.passed and len(bad.reasons) == 3


def test_the_settings_of_the_security_drill_are_validated() -> None:
    s = load_settings(BACKUP_ENV)
    assert s.credential_base_role is None and len(s.security_tabletop_checklist) == 6
    assert s.calendar_quarters[3] == "security"
    custom = load_settings({**BACKUP_ENV, "CONTINUITY_SECURITY_TABLETOP_CHECKLIST": '["Who knew?"]'})
    assert custom.security_tabletop_checklist == ("Who knew?",)
    for key, value in (
        ("CONTINUITY_SECURITY_TABLETOP_CHECKLIST", "[]"),
        ("CONTINUITY_SECURITY_TABLETOP_CHECKLIST", '["ok", 3]'),
        ("CONTINUITY_CREDENTIAL_BASE_ROLE", "Bad-Role"),
    ):
        with pytest.raises(SettingsError, match=key):
            load_settings({**BACKUP_ENV, key: value})


class SecurityEstate(DeployEstate):
    """The deployment estate with the database secret's user and the login roles."""

    def __init__(self, unhealthy: str = "") -> None:
        super().__init__()
        self.secret_user = "qlp_app"
        self.can_login = {"qlp_app": True}
        self.unhealthy = unhealthy
        self.order: list[str] = []

    def healthy(self, group: str) -> bool:
        return group != self.unhealthy and super().healthy(group)

    def rotate(self, p: dict[str, Any]) -> dict[str, Any]:
        self.order.append("rotate")
        self.secret_user, self.can_login[p["role"]] = p["role"], True
        return {"secret": "database-url", "user": p["role"], "version": "v2", "retired_versions": 1}

    def revoke(self, p: dict[str, Any]) -> dict[str, Any]:
        self.order.append(
            f"revoke with {self.live_group()} live, blue {self.groups[GROUPS['blue']]['state']}"
        )
        self.can_login[p["role"]] = False
        return {"role": p["role"], "can_login": False, "sessions": 2, "terminated": 2, "after": 0}

    def activities(self) -> dict[str, Any]:
        found = super().activities()
        where = found[names.SECRETS_GET_DATABASE_HOST]
        return {
            **found,
            names.SECRETS_GET_DATABASE_HOST: lambda p: {**where(p), "user": self.secret_user},
            names.SECRETS_ROTATE_CREDENTIAL: self.rotate,
            names.SECRETS_REVOKE_CREDENTIAL: self.revoke,
        }


def security(estate: SecurityEstate, events: tuple[Event, ...] = ()) -> tuple[dict[str, Any], Any]:
    payload = {
        "run_id": "drill-qlp-20261129T120000-abcd",
        "settings": deploy_settings(),
        "trigger": {"kind": "timer", "reason": "scheduled drill"},
        "scenario": "security",
    }
    ctx = estate.context(payload, events=events)
    return drive(DRILL, ctx), ctx


def test_the_credential_moves_then_the_slot_then_the_old_login_is_revoked() -> None:
    estate = SecurityEstate()
    out, ctx = security(estate)
    assert out["status"] == "succeeded", out["summary"]
    assert estate.order == ["rotate", f"revoke with {GROUPS['green']} live, blue Stopped"]
    assert estate.route == OGS["green"] and estate.can_login == {"qlp_app": False, "qlp_app_alt": True}
    rotated = ctx.payloads(names.SECRETS_ROTATE_CREDENTIAL)[0]
    assert (rotated["role"], rotated["base"]) == ("qlp_app_alt", "qlp_app")
    ensured = ctx.payloads(names.CONTAINERS_ENSURE_GROUP)[0]  # the live release, with the live spec
    assert (ensured["group"], ensured["like"], ensured["image"]) == (
        GROUPS["green"],
        GROUPS["blue"],
        estate.groups[GROUPS["blue"]]["image"],
    )
    report = ctx.last_report()
    assert report["measurements"]["old_credential_revoked"] is True
    assert [i["status"] for i in report["tabletop"]["checklist"]] == ["for the tabletop"] * 6
    assert len(report["tabletop"]["proved"]) == 3
    assert names.STORAGE_APPEND_LOG not in ctx.names()  # the release did not change: no release event


def test_a_failure_before_the_revocation_revokes_nothing_and_pages() -> None:
    estate = SecurityEstate(unhealthy=GROUPS["green"])
    out, ctx = security(estate)
    assert out["status"] == "failed" and "not proved revoked" in out["summary"]
    assert estate.order == ["rotate"] and estate.can_login["qlp_app"] is True  # both credentials still work
    assert estate.route == OGS["blue"] and names.SECRETS_REVOKE_CREDENTIAL not in ctx.names()
    assert estate.groups[GROUPS["green"]]["state"] == "Stopped"  # the idle slot that never served is stopped
    assert [m["page"] for m in ctx.payloads(names.NOTIFY_SEND)][-1] is True


def test_a_login_password_reaches_the_server_only_as_its_scram_verifier() -> None:
    from shared.azure.credentials import new_password, scram_verifier

    password = new_password("qlpadmin")
    assert "adm" not in password and any(c.isupper() for c in password) and "-" in password
    verifier = scram_verifier(password)
    iterations_and_salt, keys = verifier.split("$", 1)[1].split("$")
    assert iterations_and_salt.startswith("4096:") and password not in verifier
    assert len(keys.split(":")) == 2 and scram_verifier(password) != verifier  # a fresh salt each time


def test_a_failover_preempts_the_drill_during_the_drain_before_anything_is_revoked() -> None:
    failover = {"run_id": "failover-qlp-1", "operation": "failover", "reason": "region outage"}
    estate = SecurityEstate()
    out, ctx = security(estate, (Event("preempt", failover, at=T0 + timedelta(seconds=30)),))
    assert out["status"] == "preempted" and "at the checkpoint after waiting" in out["summary"]
    assert [s["name"] for s in ctx.last_report()["steps"]][-1] == "drain" and estate.route == OGS["green"]
    assert "preempted by failover failover-qlp-1 (region outage)" in out["summary"]
    assert names.SECRETS_REVOKE_CREDENTIAL not in ctx.names() and estate.can_login["qlp_app"] is True
    before = security(SecurityEstate(), (Event("preempt", failover),))[0]  # queued before it began
    assert before["status"] == "preempted" and "after observe" in before["summary"]
    assert (
        estate.groups[GROUPS["blue"]]["state"] == "Running"
    )  # the old slot still serves, its login still works
