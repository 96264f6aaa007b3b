"""Who may do what: app roles from the authenticated principal (Easy Auth), when roles are required.

Roles: ``reader`` reads, ``operator`` starts and cancels runs, ``approver`` approves and rejects; an
operator or an approver may also read. With separation of duties on, nobody approves a run they started.
"""

from __future__ import annotations

from collections.abc import Collection

from shared.models import Decision

READER, OPERATOR, APPROVER = "reader", "operator", "approver"
_GRANTS = {READER: {READER, OPERATOR, APPROVER}, OPERATOR: {OPERATOR}, APPROVER: {APPROVER}}


def role_allows(needed: str, roles: Collection[str], *, authenticated: bool) -> Decision:
    """``allow``, ``unauthenticated`` (no principal: 401) or ``forbidden`` (no role that grants it: 403)."""
    if not authenticated:
        return Decision(
            "unauthenticated", "sign in: this API needs an authenticated principal with an app role"
        )
    held = {r.lower() for r in roles}
    if held & _GRANTS[needed]:
        return Decision("allow", f"the principal's roles ({', '.join(sorted(held))}) allow {needed} access")
    have = ", ".join(sorted(held)) or "none"
    return Decision("forbidden", f"this needs the {needed} role; the principal has {have}")


def may_answer(action: str, *, actor: str, started_by: str, separate: bool) -> Decision:
    """Separation of duties: an approver may not approve or reject a run they started themselves."""
    if separate and action in ("approve", "reject") and actor and actor == started_by:
        return Decision(
            "forbidden", f"{actor} started this run and may not {action} it (separation of duties)"
        )
    return Decision("allow", f"{actor or 'the caller'} may {action} this run")
