"""Long-term backups: when one has ended, whether the last one is recent enough, and whether the backup
storage account protects them (the DR document's Terraform: GRS or better, blob versioning, 365-day delete
retention, and the long-term container immutable for the compliance retention)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.models import Decision, Verdict
from shared.policy.backups import check
from shared.policy.durations import duration

CHECK_LONG_TERM_BACKUP = "long-term-backup"
CHECK_STORAGE_PROTECTION = "backup-storage-protection"
# Replication that keeps a copy in the paired region (sku names of Microsoft.Storage/storageAccounts).
GEO_REPLICATIONS = frozenset({"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"})
ENDED = frozenset({"succeeded", "failed", "cancelled"})


def backup_name(app: str, moment: datetime) -> str:
    """The name of the long-term backup a run takes: ``ltr-<app>-<UTC stamp>`` (letters, digits, -)."""
    return f"ltr-{app}-{moment.strftime('%Y%m%dt%H%M%S')}"


def operation_ended(operation: Mapping[str, Any]) -> bool:
    """True once Azure reports the operation Succeeded, Failed or Cancelled."""
    return str(operation.get("status") or "").lower() in ENDED


def operation_outcome(
    operation: Mapping[str, Any], *, waited_seconds: float, deadline_seconds: float
) -> Decision:
    """What the followed operation means: ``succeeded``; ``failed`` with Azure's error; ``timed-out``
    when it was still running at the deadline (never a pass)."""
    status = str(operation.get("status") or "").lower()
    if status == "succeeded":
        return Decision("succeeded", f"the long-term backup {operation.get('backup_name')} succeeded")
    if status in ENDED:
        error = operation.get("error_message") or operation.get("error_code") or "no error given"
        return Decision("failed", f"the long-term backup ended {status}: {error}")
    return Decision(
        "timed-out",
        f"the long-term backup was still {status or 'unreported'} after {duration(waited_seconds)}"
        f" (deadline {duration(deadline_seconds)})",
    )


def long_term_check(last: Mapping[str, Any] | None, now: datetime, *, max_age_days: float) -> Verdict:
    """The backup watch's check of the last long-term backup: it succeeded and ended within
    ``max_age_days``. None (never taken) fails; a failed last one fails with its reason."""
    if not last:
        return check(CHECK_LONG_TERM_BACKUP, False, "no long-term backup has been taken")
    name, status = last.get("backup_name") or "-", str(last.get("status") or "")
    if status != "succeeded":
        return check(
            CHECK_LONG_TERM_BACKUP, False, f"the last long-term backup {name} {status}: {last.get('reason')}"
        )
    ended = last.get("ended_at")
    if not ended:
        return check(CHECK_LONG_TERM_BACKUP, False, f"the last long-term backup {name} has no end time")
    age = (now - datetime.fromisoformat(str(ended))).total_seconds()
    limit = max_age_days * 86400.0
    text = f"the last long-term backup {name} is {duration(age)} old (limit {duration(limit)})"
    return check(CHECK_LONG_TERM_BACKUP, age <= limit, text)


def required_immutability_days(compliance_years: int) -> int:
    """Days of immutability that cover ``compliance_years`` (leap days counted, as retain-until is)."""
    return 365 * compliance_years + compliance_years // 4


def storage_protection(
    found: Mapping[str, Any], *, min_delete_retention_days: int, compliance_years: int
) -> Verdict:
    """The backup account protects long-term backups: geo-redundant replication, blob versioning, delete
    retention of at least ``min_delete_retention_days`` and a time-based immutability policy of at least
    the compliance retention on the long-term container. Every shortfall is a reason."""
    problems: list[str] = []
    replication = str(found.get("replication") or "unknown")
    if replication not in GEO_REPLICATIONS:
        problems.append(f"replication is {replication}, not geo-redundant (GRS, RA-GRS, GZRS or RA-GZRS)")
    if not found.get("versioning"):
        problems.append("blob versioning is off")
    days = int(found.get("delete_retention_days") or 0)
    if days < min_delete_retention_days:
        shown = f"{days} days" if days else "off"
        problems.append(f"blob delete retention is {shown}, less than {min_delete_retention_days} days")
    container, need = found.get("container") or "-", required_immutability_days(compliance_years)
    if not found.get("immutability"):
        problems.append(f"the long-term container {container} has no immutability policy")
    elif int(found.get("immutability_days") or 0) < need:
        problems.append(
            f"the long-term container {container} is immutable for {found.get('immutability_days')} days,"
            f" less than {need} ({compliance_years} years)"
        )
    if problems:
        return Verdict(False, tuple(problems), name=CHECK_STORAGE_PROTECTION)
    reason = (
        f"{found.get('account')}: {replication}, versioning on, delete retention {days} days, "
        f"{container} immutable for {found.get('immutability_days')} days ({found.get('immutability_state')})"
    )
    return Verdict(True, (reason,), name=CHECK_STORAGE_PROTECTION)
