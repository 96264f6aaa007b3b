"""Blob storage (azure-storage-blob): run reports (JSON and Markdown) and run events in the reports
container, and the account's geo-replication last sync time.

Layout: ``runs/<run_id>/report.json``, ``runs/<run_id>/report.md``, ``runs/<run_id>/events.jsonl`` (an
append blob, one JSON object per line), ``state/<name>.json`` (a timer's working state) and
``logs/<name>.jsonl`` (durable append-only logs: ``releases-<app>``, ``alerts-<app>``). A report is
rewritten as its run goes and never after the run ended (evidence); a retried write converges; an event
carrying an ``id`` already in the blob is not appended again.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from shared.azure.clients import Clients
from shared.azure.errors import is_not_found, translated
from shared.azure.imports import SDK_IMPORT_LOCK
from shared.errors import ContinuityError, PermanentError, PreconditionFailed

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,200}")


def run_prefix(run_id: str) -> str:
    if not _RUN_ID.fullmatch(run_id):
        raise PermanentError("write report", run_id, "run_id must be letters, digits, . _ : -")
    return f"runs/{run_id}"


class StorageAdapter:
    """The reports container and the storage account behind it."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._container_name = clients.settings.reports_container
        self._ready = False

    def _container(self) -> Any:
        container = self._clients.blobs().get_container_client(self._container_name)
        if not self._ready:
            with translated("create reports container", self._container_name):
                if not container.exists():
                    try:
                        container.create_container()
                    except Exception as exc:  # created meanwhile by another worker
                        if getattr(exc, "status_code", None) != 409:
                            raise
            self._ready = True
        return container

    def write_report(self, run_id: str, report: dict[str, Any], retain_years: int | None) -> dict[str, Any]:
        """Write the run's JSON report and its Markdown (rendered here, secrets redacted).

        A report is rewritten while its run goes; once written with a final status it is evidence and is
        never overwritten: the same final report again converges (a retried activity), a different one is
        refused (precondition). The check and the write are one conditional request (ETag), so two
        writers cannot both win.
        """
        with SDK_IMPORT_LOCK:
            from azure.storage.blob import ContentSettings

        from shared.reports import redact, render_markdown

        prefix = run_prefix(run_id)
        container = self._container()
        body = json.dumps(redact(report), indent=2, sort_keys=True, default=str)
        metadata = _report_metadata(run_id, report, retain_years)
        json_blob = f"{prefix}/report.json"
        blob = container.get_blob_client(json_blob)
        with translated("write report", json_blob):
            condition = self._unless_final(blob, json_blob, body)
            if condition is None:  # already written, final, the same: nothing to do
                return _written(blob.url, json_blob, metadata)
            markdown = render_markdown(json.loads(body))  # first: a final JSON means both are written
            settings = ContentSettings(content_type="text/markdown; charset=utf-8")
            container.upload_blob(
                f"{prefix}/report.md", markdown, overwrite=True, content_settings=settings, metadata=metadata
            )
            settings = ContentSettings(content_type="application/json")
            blob.upload_blob(body, content_settings=settings, metadata=metadata, **condition)
        return _written(blob.url, json_blob, metadata)

    def _unless_final(self, blob: Any, name: str, body: str) -> dict[str, Any] | None:
        """The upload condition for a report blob: absent (if_none_match) or unchanged since read (if_match).
        None when it is final and already holds ``body``; PreconditionFailed when it is final and differs."""
        try:
            props = blob.get_blob_properties()
        except Exception as exc:
            if is_not_found(exc):
                return {"overwrite": False}
            raise
        if (props.metadata or {}).get("status", "running") == "running":
            return {"overwrite": True, "etag": props.etag, "match_condition": _match_condition()}
        if bytes(blob.download_blob().readall()).decode() == body:
            return None
        raise PreconditionFailed("write report", name, "the run has ended: its report is never overwritten")

    def list_reports(self) -> list[dict[str, Any]]:
        """Every run report's summary (from blob metadata, without reading the reports), any order."""
        out = []
        with translated("list reports in", self._container_name):
            for item in self._container().list_blobs(name_starts_with="runs/", include=["metadata"]):
                if item.name.endswith("/report.json"):
                    out.append({k: v for k, v in (item.metadata or {}).items() if k in _SUMMARY_KEYS})
        return out

    def write_state(self, name: str, state: dict[str, Any]) -> dict[str, Any]:
        """Write a timer's working state (not evidence: it is replaced at every tick)."""
        blob_name = f"state/{_state_name(name)}.json"
        with translated("write state", blob_name):
            self._container().upload_blob(blob_name, json.dumps(state, default=str), overwrite=True)
        return {"name": name, "blob": blob_name}

    def read_state(self, name: str) -> dict[str, Any]:
        """A timer's working state; ``found: false`` (state None) when none was written yet."""
        state = self._read_json(self._container(), f"state/{_state_name(name)}.json")
        return {"name": name, "found": state is not None, "state": state}

    def append_event(self, run_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Append one event line; an event whose ``id`` is already there is not appended twice."""
        return self._append_line(f"{run_prefix(run_id)}/events.jsonl", event)

    def append_log(self, name: str, entry: dict[str, Any]) -> dict[str, Any]:
        """Append one entry to a durable log (``logs/<name>.jsonl``: the release history, the alerts seen);
        an entry whose ``id`` is already there is not appended twice. Never rewritten, only appended."""
        return {**self._append_line(f"logs/{_state_name(name)}.jsonl", entry), "log": name}

    def read_log(self, name: str) -> dict[str, Any]:
        """Every entry of a durable log, oldest first (none when it was never written)."""
        raw = self._read_bytes(self._container(), f"logs/{_state_name(name)}.jsonl") or b""
        entries = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        return {"log": name, "entries": entries}

    def _append_line(self, blob_name: str, event: dict[str, Any]) -> dict[str, Any]:
        blob = self._container().get_blob_client(blob_name)
        line = json.dumps(event, sort_keys=True, default=str)
        with translated("append event to", blob_name):
            if not blob.exists():
                try:
                    blob.create_append_blob(if_none_match="*")
                except Exception as exc:  # created meanwhile: fine
                    if getattr(exc, "status_code", None) not in (409, 412):
                        raise
            elif event.get("id") is not None and _has_id(blob.download_blob().readall(), event["id"]):
                return {"blob": blob_name, "appended": False}
            blob.append_block((line + "\n").encode())
        return {"blob": blob_name, "appended": True}

    def read_report(self, run_id: str) -> dict[str, Any]:
        prefix = run_prefix(run_id)
        container = self._container()
        report = self._read_json(container, f"{prefix}/report.json")
        raw_events = self._read_bytes(container, f"{prefix}/events.jsonl") or b""
        events = [json.loads(line) for line in raw_events.decode().splitlines() if line.strip()]
        return {"run_id": run_id, "found": report is not None, "report": report, "events": events}

    def _read_bytes(self, container: Any, name: str) -> bytes | None:
        try:
            with translated("read blob", name):
                return bytes(container.get_blob_client(name).download_blob().readall())
        except PermanentError as exc:
            if is_not_found(exc.__cause__ or exc):
                return None
            raise

    def _read_json(self, container: Any, name: str) -> Any:
        raw = self._read_bytes(container, name)
        return json.loads(raw) if raw is not None else None

    def geo_sync(self) -> dict[str, Any]:
        """Last geo-replication sync time; "not available" (with the reason) when there is no readable
        secondary. Never raises: the backup watch reports this value, it does not act on it."""
        blobs = self._clients.blobs()
        if not blobs.secondary_hostname:
            return _no_geo("not available: the account has no secondary endpoint")
        try:
            with translated("read geo-replication stats of storage account", blobs.account_name or ""):
                stats = blobs.get_service_stats()
        except ContinuityError as exc:
            return _no_geo(f"not available: the account has no readable secondary ({exc.detail})")
        geo = stats.get("geo_replication") if isinstance(stats, dict) else None
        last = geo.get("last_sync_time") if geo else None
        if not last:
            return _no_geo("not available: no geo-replication status")
        when = last.isoformat() if isinstance(last, dt.datetime) else str(last)
        return {
            "available": True,
            "last_sync_time": when,
            "status": geo.get("status") if geo else None,
            "reason": "",
        }

    def write_document(
        self, run_id: str, name: str, text: str, *, retain_years: int | None = None
    ) -> dict[str, Any]:
        """Write a Markdown or JSON document beside a run's report (``runs/<run_id>/<name>``: an incident's
        post-mortem draft, a drill's tabletop answers), kept as long as the report when ``retain_years``
        is given (``retain_until`` metadata). Written once: when it exists, the one written first is kept
        (a retried activity converges)."""
        with SDK_IMPORT_LOCK:
            from azure.storage.blob import ContentSettings

        kind = re.fullmatch(r"[a-z0-9-]+\.(md|json)", name)
        if not kind:
            raise PermanentError(
                "write document", name, "name must be lower-case letters, digits, - and .md or .json"
            )
        blob_name = f"{run_prefix(run_id)}/{name}"
        blob = self._container().get_blob_client(blob_name)
        media = "text/markdown" if kind.group(1) == "md" else "application/json"
        settings = ContentSettings(content_type=f"{media}; charset=utf-8")
        with translated("write document", blob_name):
            try:
                metadata = {"run_id": run_id, **_retention(retain_years)}
                blob.upload_blob(text, overwrite=False, content_settings=settings, metadata=metadata)
                written = True
            except Exception as exc:  # already written (a retry): keep the first
                if getattr(exc, "status_code", None) != 409:
                    raise
                written = False
        return {"blob": blob_name, "url": blob.url, "written": written}

    def read_document(self, run_id: str, name: str) -> str | None:
        """A document beside a run's report, or None when there is none."""
        raw = self._read_bytes(self._container(), f"{run_prefix(run_id)}/{name}")
        return raw.decode() if raw is not None else None

    def read_documents(self, run_id: str, starting: str) -> list[tuple[str, str]]:
        """The documents beside a run's report whose names start with ``starting``: (name, text), in name
        order (names that begin with a UTC stamp are in the order written)."""
        prefix = f"{run_prefix(run_id)}/"
        container = self._container()
        with translated("list documents", prefix + starting):
            listed = sorted(b.name for b in container.list_blobs(name_starts_with=prefix + starting))
        found = [(name.removeprefix(prefix), self._read_bytes(container, name)) for name in listed]
        return [(name, raw.decode()) for name, raw in found if raw is not None]


_SUMMARY_KEYS = ("run_id", "operation", "status", "started_at", "ended_at", "retain_until")


def _report_metadata(run_id: str, report: dict[str, Any], retain_years: int | None) -> dict[str, str]:
    """Blob metadata of a report: what the runs list shows without reading the report (ASCII only)."""
    metadata = {"run_id": run_id}
    for key in ("operation", "status", "started_at", "ended_at"):
        value = str(report.get(key) or "")
        if value and value.isascii():
            metadata[key] = value
    return {**metadata, **_retention(retain_years)}


def _retention(retain_years: int | None) -> dict[str, str]:
    """``retain_until`` (blob metadata) for evidence kept ``retain_years``; nothing when not given."""
    if not retain_years:
        return {}
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * retain_years + retain_years // 4)
    return {"retain_until": until.date().isoformat()}


def _written(url: str, json_blob: str, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "json_blob": json_blob,
        "markdown_blob": json_blob.replace("report.json", "report.md"),
        "url": url,
        "retain_until": metadata.get("retain_until"),
    }


def _match_condition() -> Any:
    with SDK_IMPORT_LOCK:
        from azure.core import MatchConditions

    return MatchConditions.IfNotModified


def _state_name(name: str) -> str:
    if not _RUN_ID.fullmatch(name):
        raise PermanentError("write state", name, "name must be letters, digits, . _ : -")
    return name


def _no_geo(reason: str) -> dict[str, Any]:
    return {"available": False, "last_sync_time": None, "status": None, "reason": reason[:300]}


def _has_id(raw: bytes, event_id: Any) -> bool:
    for line in raw.decode().splitlines():
        try:
            if json.loads(line).get("id") == event_id:
                return True
        except json.JSONDecodeError:
            continue
    return False
