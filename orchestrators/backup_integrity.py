"""The weekly backup integrity check (the DR test calendar): the checks the backup watch and the long-term
proof already make of the backups, run as a calendar item with its own report. Nothing is restored (the
monthly long-term proof restores) and nothing is written.

The primary found now; its automatic backups as Azure lists them, judged as the backup watch judges them
(shared.policy ``assess_automatic_backups``: the latest backup's age against ``BACKUP_AGE_ALERT_HOURS``,
retention against ``BACKUP_RETENTION_DAYS``, the earliest restore point, geo-redundant backup). When
long-term backups are configured (``BACKUP_STORAGE_ACCOUNT``): the watch's long-term checks (the last one
succeeded within ``LTR_MAX_AGE_DAYS``; the account protects them) and the proof's checks of the latest
successful one (Azure's record of it; each blob in the container with its recorded size and MD5, read
back in full). It passes when every check does; a failure pages. No lock: it changes nothing.

Input: {run_id, settings, trigger}.
"""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators import backup_watch, long_term_backup, long_term_proof
from orchestrators.steps import check_of, verdict_end, verdict_of
from orchestrators.toolkit import Gen, Run, iso
from shared import names, policy
from shared.estate import PrimaryFound

bp = df.Blueprint()
OPERATION = "backup-integrity"


@bp.function_name(names.BACKUP_INTEGRITY_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def backup_integrity_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Check the backups' integrity; returns the run's outcome with its verdict."""
    run = Run(context, OPERATION)
    return (yield from run.execute(backup_integrity, announce_start=False))


def backup_integrity(run: Run) -> Gen:
    found = yield from run.find_primary()
    checks = yield from automatic_backups(run, found)
    if run.settings.backup_storage_account:
        checks += yield from long_term_backup.watch_checks(run)
        _, proof = yield from long_term_proof.latest_backup_checks(run)
        checks += [verdict_of(c) for c in proof]
    run.record.checks = [check_of(c) for c in checks]
    verdict = policy.checks_verdict(OPERATION, checks, "the backups are as the objectives require")
    return verdict_end(run.judge(verdict))


def automatic_backups(run: Run, found: PrimaryFound) -> Gen:
    """The primary's automatic backups as Azure lists them, with the backup watch's checks of them."""
    primary = found.primary
    if primary is None:
        return [policy.check("primary", False, found.decision.reason)]
    listed = yield from run.step("list-backups", run.observe(names.DATABASE_LIST_BACKUPS, primary.address()))
    if "error" in listed:
        why = f"the backups of {primary.server} could not be listed: {listed['error']}"
        return [policy.check(policy.CHECK_BACKUP_AGE, False, why)]
    seen = backup_watch.observation_of(run.now(), listed, None, None, None)
    latest = seen.latest_backup_at
    run.measure(
        backups_listed=len(listed.get("backups") or []),
        latest_backup_at=iso(latest) if latest else None,
        latest_backup_age_seconds=(run.now() - latest).total_seconds() if latest else None,
        backup_retention_days=seen.retention_days,
        geo_redundant_backup=seen.geo_redundant_backup,
    )
    return list(policy.assess_automatic_backups(seen, backup_watch.objectives(run)))
