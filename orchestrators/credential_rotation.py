"""The database credential rotation: the technical part of the Q4 security drill (orchestrators/drill.py,
scenario ``security``). Unlike the other drills it changes production, because rotating the real
credential is what it proves, and it is built so that the app never lacks a credential that works and no
public request fails:

1. Observe the slots (the route's live slot and the idle one), the DR standby and the role the database
   secret logs in as; the next role is the other of its alternating pair (shared/policy/security.py).
2. Rotate: that role gets a new random password, which the secret now holds (a new version; every other
   version disabled). The live slot keeps its old credential, still valid.
3. The idle slot gets the live release with the live slot's spec and starts, reading the new secret; it
   must answer healthy and take a write on its own address.
4. Switch: rule 2, then the route to the idle slot; the public endpoint serves the release.
5. Drain: both slots run the same release, so the public answers cannot tell them apart; Front Door's
   propagation is waited out in full (the propagation deadline) before the old slot is stopped, never
   deleted.
6. The DR standby, when running, is restarted (it reads the secret at start); a stopped one reads it
   when a failover starts it.
7. Revoke: the old role's login is taken away and its sessions ended, read back.
8. The public endpoint answers healthy, with a write.

A regional failover queued behind the drill (rule 12) stops it at its next checkpoint (after the
observation, once the idle slot is healthy, during the drain), always before the revocation. A failure
before the revocation leaves both credentials valid (nothing is revoked; an idle slot that never
took the traffic is stopped again); the drill fails and pages. No release event is recorded: the release
did not change, only the slot serving it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from orchestrators import deploy_steps
from orchestrators.steps import verify_app
from orchestrators.toolkit import Gen, Json, Run, StepFailed
from shared import names, policy


@dataclass
class Rotation:
    """What the rotation proved: the roles, the secret, the revocation and what failed."""

    from_role: str = ""
    to_role: str = ""
    secret_user: str = ""
    revoked: bool | None = None
    failed: list[str] = field(default_factory=list)
    proved: list[str] = field(default_factory=list)  # what this run proved, beside the tabletop checklist


def rotate_credential(run: Run, primary: policy.Primary) -> Gen:
    """Rotate the database credential with no failed public request; returns the Rotation."""
    rotation = Rotation()
    s, where = run.settings, {"server": primary.server, "resource_group": primary.resource_group}
    listener = deploy_steps.Listener(run)
    yield from listener.start()
    seen = yield from deploy_steps.observe(run, step="observe")
    slots, image = seen.slots, str(seen.live.get("image") or "")
    held = yield from run.step("secret", run.act(names.SECRETS_GET_DATABASE_HOST, {}))
    server = yield from run.observe(names.DATABASE_GET_SERVER, where)
    roles = run.decide(
        "roles",
        policy.rotation_roles(
            str(held.get("user") or ""),
            base=s.credential_base_role,
            admin=server.get("administrator_login"),
        ),
    )
    pair = roles.value
    if not isinstance(pair, dict):
        rotation.failed.append(f"roles: {roles.reason}")
        return rotation
    rotation.from_role, rotation.to_role = pair["from"], pair["to"]
    run.resource(credential_from=rotation.from_role, credential_to=rotation.to_role, live_slot=slots.live)
    try:
        yield from hand_over(run, listener, rotation, pair, where, seen, image)
    except StepFailed as failed:
        rotation.failed.append(f"{failed.step}: {failed.error[:300]}")
        if not run.traffic_moved:  # the idle slot never served: stopped again, the live one untouched
            yield from deploy_steps.stop_group(run, slots.idle_group, "the rotation failed before the switch")
    after = yield from run.observe(names.SECRETS_GET_DATABASE_HOST, {})
    rotation.secret_user = str(after.get("user") or "")
    run.measure(secret_user_after=rotation.secret_user, old_credential_revoked=rotation.revoked)
    return rotation


def hand_over(
    run: Run,
    listener: deploy_steps.Listener,
    rotation: Rotation,
    roles: Json,
    where: Json,
    seen: deploy_steps.Observed,
    image: str,
) -> Gen:
    s, slots = run.settings, seen.slots
    listener.checkpoint("observe")  # a failover queued behind the drill runs first (rule 12)
    rotate = {**where, "role": roles["to"], "base": roles["base"]}
    written = yield from run.step("rotate-credential", run.act(names.SECRETS_ROTATE_CREDENTIAL, rotate))
    rotated_at = run.iso()
    run.measure(
        secret_version=written.get("version"), secret_versions_disabled=written.get("retired_versions")
    )
    rotation.proved.append(
        f"{roles['to']} got a new password at {rotated_at}; secret version {written.get('version')}, "
        f"{written.get('retired_versions')} older version(s) disabled"
    )
    yield from run.step("idle-slot", deploy_steps.ensure_like(run, slots.idle_group, image, slots.live_group))
    url = yield from run.step("healthy", deploy_steps.await_healthy(run, slots.idle_group))
    yield from run.step("verify-idle", verify_app(run, url, write=True))
    listener.checkpoint("idle slot healthy")  # both credentials work: nothing to undo
    yield from run.step("switch", deploy_steps.switch(run, slots.idle_origin_group, image))
    wait = s.propagation_deadline_seconds
    run.set_awaiting("propagation", wait)
    yield from run.step("drain", drained(run, listener, wait, slots.live_group))
    run.set_awaiting("")
    yield from deploy_steps.stop_group(run, slots.live_group, "it ran with the old credential")
    if str(seen.standby.get("state") or "").lower() == "running":
        standby = {"group": s.container_group_standby}
        yield from run.step("restart-standby", run.act(names.CONTAINERS_RESTART_GROUP, standby))
    revoke = {**where, "role": roles["from"]}
    revoked = yield from run.step("revoke-old", run.act(names.SECRETS_REVOKE_CREDENTIAL, revoke))
    rotation.revoked = policy.revocation_proved(revoked)
    run.measure(old_sessions_terminated=revoked.get("terminated"), old_sessions_left=revoked.get("after"))
    rotation.proved.append(
        f"{roles['from']} revoked at {run.iso()} (can log in: {bool(revoked.get('can_login'))}, "
        f"{revoked.get('terminated')} session(s) ended)"
    )
    yield from run.step("verify-public", verify_app(run, s.public_url, write=True))
    rotation.proved.append(
        f"{slots.idle_group} took the traffic with the new credential; {slots.live_group} stopped; "
        "the public endpoint answered healthy with a write after the revocation"
    )


def drained(run: Run, listener: deploy_steps.Listener, seconds: float, group: str) -> Gen:
    """The propagation deadline waited out; a preempting failover stops the drill here, before anything
    is revoked (both slots and both credentials still work)."""
    deadline = run.now() + timedelta(seconds=seconds)
    while (left := (deadline - run.now()).total_seconds()) > 0:
        kind, _ = yield from listener.wait(left)  # container signals do not end the wait
        if kind == "timer":
            break
    return f"{group} kept serving {seconds:g} s after the switch (Front Door's propagation deadline)"
