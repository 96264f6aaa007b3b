"""PostgreSQL flexible servers (azure-mgmt-postgresqlflexibleservers): snapshots, backups, replicas, promote,
restore, start/stop, delete of Continuity's own servers. The SQL side (checks, sentinels, lag) is in
shared/azure/sql.py.

Every method makes SDK calls inside ``translated(...)``; idempotent methods report what they found
("already primary", "already gone", "already stopped") instead of failing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared import waits
from shared.azure.clients import Clients
from shared.azure.errors import is_not_found, translated
from shared.config import TAG_CREATED_BY, TAG_CREATED_BY_VALUE, TAG_RUN
from shared.errors import PermanentError, PreconditionFailed

_REPLICA_ROLES = ("asyncreplica", "geoasyncreplica")
LAG_METRIC = "physical_replication_delay_in_seconds"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value)


def parse_time(value: str) -> dt.datetime:
    """An ISO 8601 timestamp as an aware datetime (naive means UTC)."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def role_of(replication_role: str | None) -> str:
    """primary (has replicas), replica, or standalone."""
    role = (replication_role or "None").lower()
    if role in _REPLICA_ROLES:
        return "replica"
    return "primary" if role == "primary" else "standalone"


def snapshot_of(server: dict[str, Any], resource_group: str) -> dict[str, Any]:
    """The JSON snapshot of a server resource (REST shape in, activity contract out)."""
    props = server.get("properties") or {}
    backup = props.get("backup") or {}
    replica = props.get("replica") or {}
    tags = server.get("tags") or {}
    replication_role = replica.get("role") or props.get("replicationRole")
    source_id = props.get("sourceServerResourceId") or ""
    return {
        "name": server.get("name"),
        "resource_group": resource_group,
        "exists": True,
        "id": server.get("id"),
        "state": props.get("state"),
        "role": role_of(replication_role),
        "replication_role": replication_role,
        "replication_state": replica.get("replicationState"),
        "source_server": source_id.rsplit("/", 1)[-1] or None,
        "fqdn": props.get("fullyQualifiedDomainName"),
        "location": server.get("location"),
        "tags": tags,
        "created_by_continuity": tags.get(TAG_CREATED_BY) == TAG_CREATED_BY_VALUE,
        "earliest_restore_point": backup.get("earliestRestoreDate"),
        "backup_retention_days": backup.get("backupRetentionDays"),
        "geo_redundant_backup": backup.get("geoRedundantBackup"),
        "version": props.get("version"),
        "administrator_login": props.get("administratorLogin"),
    }


def missing_snapshot(name: str, resource_group: str) -> dict[str, Any]:
    return {"name": name, "resource_group": resource_group, "exists": False, "state": None, "role": None}


class DatabaseAdapter:
    """Flexible-server operations for one subscription."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._settings = clients.settings

    @property
    def _servers(self) -> Any:
        return self._clients.postgres().servers

    def server_id(self, name: str, resource_group: str) -> str:
        return (
            f"/subscriptions/{self._settings.subscription_id}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"
        )

    # ---- observe -------------------------------------------------------------------------------------
    def find(self, name: str, resource_group: str) -> dict[str, Any] | None:
        """The server's snapshot, or None when it does not exist. A server that is not a replica also
        names its writer endpoint (``writer_endpoint``: the address of its virtual endpoint pair's writer,
        where the database secret may point), or None."""
        try:
            with translated("get server", name):
                snapshot = snapshot_of(self._servers.get(resource_group, name).as_dict(), resource_group)
        except PermanentError as exc:
            if is_not_found(exc.__cause__ or exc):
                return None
            raise
        snapshot["writer_endpoint"] = (
            None if snapshot["role"] == "replica" else self._writer_of(name, resource_group)
        )
        return snapshot

    def _writer_of(self, name: str, resource_group: str) -> str | None:
        from shared.azure.virtual_endpoints import VirtualEndpointsAdapter

        try:
            pair = VirtualEndpointsAdapter(self._clients).find(name, resource_group)
        except PermanentError:  # no pair can be read (a version or region without them): none
            return None
        return str(pair["writer_host"]) if pair and pair["writer_target"] == name else None

    def get(self, name: str, resource_group: str) -> dict[str, Any]:
        """The server's snapshot; raises PermanentError when it does not exist."""
        found = self.find(name, resource_group)
        if found is None:
            raise PermanentError("get server", name, f"not found in resource group {resource_group}")
        return found

    def list_backups(self, name: str, resource_group: str) -> dict[str, Any]:
        """Automatic and on-demand backups, newest first, with the latest one's age."""
        snapshot = self.get(name, resource_group)
        with translated("list backups of server", name):
            pages = self._clients.postgres().backups_automatic_and_on_demand.list_by_server(
                resource_group, name
            )
            backups = [_backup_of(b.as_dict()) for b in pages]
        backups.sort(key=lambda b: b["completed_at"] or "", reverse=True)
        latest = next((b["completed_at"] for b in backups if b["completed_at"]), None)
        age = (dt.datetime.now(dt.UTC) - parse_time(latest)).total_seconds() if latest else None
        return {
            "server": name,
            "backups": backups,
            "latest_completed_at": latest,
            "latest_age_seconds": age,
            "earliest_restore_point": snapshot["earliest_restore_point"],
            "backup_retention_days": snapshot["backup_retention_days"],
            "geo_redundant_backup": snapshot["geo_redundant_backup"],
        }

    def create_backup(self, name: str, resource_group: str, backup_name: str) -> dict[str, Any]:
        """Take an on-demand backup called ``backup_name``; an existing one of that name is reused."""
        ops = self._clients.postgres().backups_automatic_and_on_demand
        try:
            with translated("get backup of server", name):
                existing = _backup_of(ops.get(resource_group, name, backup_name).as_dict())
            return {"server": name, **existing, "created": False}
        except PermanentError as exc:
            if not is_not_found(exc.__cause__ or exc):
                raise
        with translated("create on-demand backup of server", name):
            result = ops.begin_create(resource_group, name, backup_name).result()
        backup = _backup_of(result.as_dict()) if result is not None else {"name": backup_name}
        return {"server": name, "completed_at": None, **backup, "created": True}

    def list_servers(self, resource_group: str) -> list[dict[str, Any]]:
        """Snapshots of every server in a resource group (never None; empty when there are none)."""
        with translated("list servers of resource group", resource_group):
            found = [s.as_dict() for s in self._servers.list_by_resource_group(resource_group)]
        return [snapshot_of(server, resource_group) for server in found]

    def list_replicas(self, name: str, resource_group: str) -> list[dict[str, Any]]:
        with translated("list replicas of server", name):
            pages = self._clients.postgres().replicas.list_by_server(resource_group, name)
            replicas = [s.as_dict() for s in pages]
        out = []
        for server in replicas:
            rg = _resource_group_of(server.get("id") or "") or resource_group
            snap = snapshot_of(server, rg)
            keys = ("name", "resource_group", "location", "state", "replication_state", "fqdn")
            out.append({k: snap[k] for k in keys})
        return out

    def metric_lag_seconds(self, name: str, resource_group: str) -> float | None:
        """The latest replication-delay metric of a replica, or None when Monitor has no value."""
        end = dt.datetime.now(dt.UTC)
        timespan = f"{(end - dt.timedelta(minutes=5)).isoformat()}/{end.isoformat()}"
        with translated("read replication lag metric of server", name):
            result = self._clients.monitor().metrics.list(
                self.server_id(name, resource_group),
                timespan=timespan,
                interval="PT1M",
                metricnames=LAG_METRIC,
                aggregation="Maximum",
            )
        values = [
            point.maximum
            for metric in result.value or []
            for series in metric.timeseries or []
            for point in series.data or []
            if point.maximum is not None
        ]
        return float(values[-1]) if values else None

    # ---- act -----------------------------------------------------------------------------------------
    def promote(self, name: str, resource_group: str, *, mode: str, operation: str) -> dict[str, Any]:
        """Promote a read replica (planned waits for it to catch up; forced does not). Idempotent."""
        before = self.get(name, resource_group)
        base = {"server": name, "mode": mode, "operation": operation}
        if before["role"] != "replica":
            message = f"{name} is already {before['role']}: nothing to promote"
            return {
                **base,
                "promoted": False,
                "already_primary": True,
                "role": before["role"],
                "message": message,
            }
        body = {
            "properties": {
                "replica": {"promoteMode": operation.capitalize(), "promoteOption": mode.capitalize()}
            }
        }
        with translated(f"promote ({mode}, {operation}) replica", name):
            self._servers.begin_update(resource_group, name, body).result()
        after = self.get(name, resource_group)
        message = f"promoted {name} ({mode}, {operation}); it is now {after['role']}"
        return {**base, "promoted": True, "already_primary": False, "role": after["role"], "message": message}

    def reset_administrator_password(self, name: str, resource_group: str, password: str) -> None:
        """A new password for the server's administrator login (PATCH properties.administratorLoginPassword:
        "as long as password authentication is enabled, this password can be changed at any time")."""
        body = {"properties": {"administratorLoginPassword": password}}
        with translated("reset the administrator password of", name):
            self._servers.begin_update(resource_group, name, body).result()

    def create_from(
        self,
        target: str,
        resource_group: str,
        body: dict[str, Any],
        *,
        source: str,
        run_id: str,
        action: str,
        wait: float | None = None,
    ) -> dict[str, Any]:
        """Create ``target`` (replica, restore or empty) unless Continuity already did; never touch others.
        Waits at most ``wait`` seconds (shared.waits) for it to be Ready; still provisioning then:
        ``pending`` (a later call finds it and waits again, it never creates it twice)."""
        seconds = waits.budget(wait)
        if target == source:
            raise PreconditionFailed(action, target, "the target must be a new server, not the source")
        existing = self.find(target, resource_group)
        if existing is not None:
            if not existing["created_by_continuity"]:
                raise PreconditionFailed(
                    action, target, "a server of that name exists and was not created by Continuity"
                )
            message = f"{target} already exists (created by run {existing['tags'].get(TAG_RUN)})"
            return self._when_ready(existing, resource_group, seconds, action, created=False, message=message)
        body["tags"] = {TAG_CREATED_BY: TAG_CREATED_BY_VALUE, TAG_RUN: run_id}
        with translated(action, target):
            poller = self._servers.begin_create_or_update(resource_group, target, body)
            poller.wait(timeout=seconds)  # a failed operation raises here
        created = self.get(target, resource_group)
        message = f"{action}: created {target}"
        return self._when_ready(created, resource_group, 0.0, action, created=True, message=message)

    def _when_ready(
        self, server: dict[str, Any], resource_group: str, seconds: float, action: str, **answer: Any
    ) -> dict[str, Any]:
        """The created server's view once it is Ready (waiting at most ``seconds``), else ``pending``."""
        name = str(server["name"])
        ready, view = waits.wait_until(
            lambda: self.get(name, resource_group),
            lambda s: str(s.get("state") or "").lower() == "ready",
            seconds,
            first=server,
        )
        if not ready:
            still = waits.pending(_created_view(view), f"{action} {name}", seconds)
            return {**still, "created": answer["created"]}
        return {**_created_view(view), **answer}

    def create_replica(
        self,
        source: str,
        source_rg: str,
        target: str,
        resource_group: str,
        *,
        location: str,
        run_id: str,
        wait: float | None = None,
    ) -> dict[str, Any]:
        body = {
            "location": location,
            "properties": {
                "createMode": "Replica",
                "sourceServerResourceId": self.server_id(source, source_rg),
            },
        }
        return self.create_from(
            target, resource_group, body, source=source, run_id=run_id, action="create replica", wait=wait
        )

    def restore(
        self,
        source: str,
        source_rg: str,
        target: str,
        resource_group: str,
        *,
        point_in_time: str,
        geo: bool,
        location: str,
        run_id: str,
        wait: float | None = None,
    ) -> dict[str, Any]:
        """Restore ``source`` at ``point_in_time`` into the new server ``target`` (never over the source).
        ``geo`` (GeoRestore, into the paired region) needs a source created with geo-redundant backups: a
        promoted replica has none (precondition)."""
        when = parse_time(point_in_time)
        if geo and (self.get(source, source_rg)["geo_redundant_backup"] or "").lower() != "enabled":
            why = "GeoRestore needs geo-redundant backups, which it does not have; restore in its own region"
            raise PreconditionFailed("geo-restore server", source, why)
        properties = {
            "createMode": "GeoRestore" if geo else "PointInTimeRestore",
            "sourceServerResourceId": self.server_id(source, source_rg),
            "pointInTimeUTC": when.isoformat().replace("+00:00", "Z"),
        }
        body = {"location": location, "properties": properties}
        result = self.create_from(
            target, resource_group, body, source=source, run_id=run_id, action="restore server", wait=wait
        )
        return {**result, "point_in_time": properties["pointInTimeUTC"]}

    def create_empty(
        self, target: str, resource_group: str, *, location: str, run_id: str, wait: float | None = None
    ) -> dict[str, Any]:
        """A new, empty server ``target`` (createMode Default, PostgreSQL 15) whose administrator is the
        user of the database secret, with its password (read from Key Vault here, sent only to ARM): a
        pg_restore into it logs in as the app's checks do. Idempotent as ``create_from``."""
        from urllib.parse import unquote, urlsplit

        login = urlsplit(self._clients.database_url_secret())
        body = {
            "location": location,
            "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
            "properties": {
                "createMode": "Default",
                "version": "15",
                "administratorLogin": unquote(login.username or ""),
                "administratorLoginPassword": unquote(login.password or ""),
                "storage": {"storageSizeGB": 32},
                "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
            },
        }
        return self.create_from(
            target, resource_group, body, source="", run_id=run_id, action="create server", wait=wait
        )

    def start(self, name: str, resource_group: str, *, wait: float | None = None) -> dict[str, Any]:
        return self._power(name, resource_group, "start", "Ready", "Starting", wait)

    def stop(self, name: str, resource_group: str, *, wait: float | None = None) -> dict[str, Any]:
        return self._power(name, resource_group, "stop", "Stopped", "Stopping", wait)

    def _power(
        self, name: str, resource_group: str, verb: str, target_state: str, moving: str, wait: float | None
    ) -> dict[str, Any]:
        """Start or stop ``name``; idempotent. Waits at most ``wait`` seconds (shared.waits) for
        ``target_state``, then answers ``pending``; a later call that finds it ``moving`` (Starting,
        Stopping) waits again instead of asking a second time."""
        seconds = waits.budget(wait)
        before = self.get(name, resource_group)
        state = (before["state"] or "").lower()
        if state == target_state.lower():
            return {
                "server": name,
                "state": before["state"],
                "changed": False,
                "message": f"{name} already {target_state}",
            }
        if state != moving.lower():
            with translated(f"{verb} server", name):
                getattr(self._servers, f"begin_{verb}")(resource_group, name).wait(timeout=seconds)
            seconds = 0.0  # this call has waited already
        reached, after = waits.wait_until(
            lambda: self.get(name, resource_group),
            lambda s: (s["state"] or "").lower() == target_state.lower(),
            seconds,
            first=before if state == moving.lower() else None,  # just read: no second GET
        )
        view = {"server": name, "state": after["state"], "changed": True}
        if not reached:
            return waits.pending(view, f"{verb} server {name}", waits.budget(wait))
        return {**view, "message": f"{verb}: {name} is {after['state']}"}

    def delete(self, name: str, resource_group: str) -> dict[str, Any]:
        """Delete a server Continuity created; already gone is success; any other server is refused."""
        found = self.find(name, resource_group)
        if found is None:
            return {
                "server": name,
                "deleted": False,
                "already_gone": True,
                "message": f"{name} is already gone",
            }
        if not found["created_by_continuity"]:
            raise PreconditionFailed(
                "delete server", name, "refused: not created by Continuity (no created-by tag)"
            )
        with translated("delete server", name):
            self._servers.begin_delete(resource_group, name).result()
        if self.find(name, resource_group) is not None:
            raise PermanentError("delete server", name, "the server still exists after delete")
        return {"server": name, "deleted": True, "already_gone": False, "message": f"deleted {name}"}


def _backup_of(backup: dict[str, Any]) -> dict[str, Any]:
    props = backup.get("properties") or {}
    return {
        "name": backup.get("name"),
        "type": props.get("backupType"),
        "completed_at": _iso(props.get("completedTime")),
    }


def _created_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {k: snapshot[k] for k in ("state", "fqdn", "location")} | {"server": snapshot["name"]}


def _resource_group_of(resource_id: str) -> str | None:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    if "resourcegroups" in lowered:
        index = lowered.index("resourcegroups") + 1
        return parts[index] if index < len(parts) else None
    return None
