"""The security drill's decisions: which login role takes the next credential (alternating roles), which
role may be revoked, the tabletop checklist as evidence, and the drill's verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.models import Decision, Verdict
from shared.policy.migration import AZURE_ROLES

ALTERNATE_SUFFIX = "_alt"  # shared/azure/credentials.py makes <base>_alt a member of <base>


def base_of(user: str) -> str:
    return user.removesuffix(ALTERNATE_SUFFIX) if user.endswith(ALTERNATE_SUFFIX) else user


def own_role(role: str, *, admin: str | None) -> Decision:
    """``role`` when it is the app's own login role: never the server's administrator, never Azure's."""
    if role.lower() in AZURE_ROLES or (admin and role.lower() == admin.lower()):
        return Decision("refuse", f"{role} is the server's administrator or Azure's own role")
    return Decision("role", f"{role} is an application login role", "", role)


def rotation_roles(user: str, *, base: str | None, admin: str | None) -> Decision:
    """``rotate`` (value: {from, to, base}) — the secret's user hands over to the other role of its pair
    (the base role, which owns the schema, and ``<base>_alt``) — or ``refuse``: no user, the
    administrator or an Azure role in the secret, or a user that is neither role of the configured
    base's pair."""
    if not user:
        return Decision("refuse", "the database secret names no user: nothing to rotate")
    if own_role(user, admin=admin).is_("refuse"):
        return Decision(
            "refuse",
            f"the database secret logs in as {user}, the server's administrator or Azure's own role: give "
            "the app its own role first",
        )
    pair_base = base or base_of(user)
    pair = (pair_base, pair_base + ALTERNATE_SUFFIX)
    if user not in pair:
        return Decision(
            "refuse",
            f"the database secret logs in as {user}, neither {pair[0]} nor {pair[1]} "
            "(CONTINUITY_CREDENTIAL_BASE_ROLE)",
        )
    to = pair[1] if user == pair[0] else pair[0]
    value = {"from": user, "to": to, "base": pair_base}
    why = f"{user} hands over to {to} (alternating login roles of {pair_base})"
    return Decision("rotate", why, "", value)


def revocable(role: str, *, secret_user: str, admin: str | None) -> Decision:
    """``revoke`` when ``role``'s login may be taken away: never the role the secret holds now, never the
    administrator, never Azure's own roles."""
    if role == secret_user:
        return Decision("refuse", f"{role} is the role the database secret holds now: never revoked")
    if own_role(role, admin=admin).is_("refuse"):
        return Decision("refuse", f"{role} is the server's administrator or Azure's own role: never revoked")
    return Decision("revoke", f"{role} no longer holds the secret: its login is revoked, its sessions ended")


def tabletop(items: Sequence[str]) -> list[dict[str, Any]]:
    """The tabletop checklist as evidence: each item open for the people at the table (their answers are
    recorded beside the drill's report: POST /api/drills/{id}/tabletop, ``tabletop_record``); what the
    drill proved is listed beside it."""
    return [{"item": text, "status": "for the tabletop"} for text in items]


def tabletop_record(
    checklist: Sequence[Mapping[str, Any]], submissions: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The tabletop as it stands: each checklist item (numbered from 1) with every answer given to it, in
    the order given (``submissions``: {by, at, answers: {number: text}}, oldest first), and which items no
    one has answered yet. Nothing is replaced: a later answer is added beside the earlier ones."""
    items: list[dict[str, Any]] = [
        {"item": n, "text": str(entry.get("item") or ""), "answers": []}
        for n, entry in enumerate(checklist, 1)
    ]
    for sub in submissions:
        for key, text in dict(sub.get("answers") or {}).items():
            n = int(key) if str(key).isdigit() else 0
            if 1 <= n <= len(items):
                given = {"answer": str(text), "by": sub.get("by"), "at": sub.get("at")}
                items[n - 1]["answers"].append(given)
    unanswered = [i["item"] for i in items if not i["answers"]]
    for i in items:
        i["status"] = "answered" if i["answers"] else "for the tabletop"
    return {
        "checklist": items,
        "answered": len(items) - len(unanswered),
        "open": unanswered,
        "submissions": len(submissions),
    }


def revocation_proved(read_back: Mapping[str, Any]) -> bool:
    """The revocation as read back (SECRETS_REVOKE_CREDENTIAL): the role cannot log in and none of its
    sessions is left; a missing field is no proof."""
    return read_back.get("can_login") is False and read_back.get("after") == 0


def security_verdict(
    *, failed_steps: Sequence[str], revoked: bool | None, secret_user: str, expected_user: str
) -> Verdict:
    """A security drill passes when every step ran, the secret holds the new role and the old role can no
    longer log in."""
    reasons = list(failed_steps)
    if secret_user != expected_user:
        reasons.append(f"the database secret holds {secret_user or 'nobody'}, not {expected_user}")
    if revoked is not True:
        reasons.append("the old credential was not proved revoked")
    if reasons:
        return Verdict(False, tuple(reasons))
    return Verdict(
        True,
        (f"the credential moved to {expected_user}, the app stayed healthy and the old login is revoked",),
    )
