"""The app settings that point Continuity at a running sandbox, from its endpoints.json.

    python -m sandbox.app_settings --endpoints .sandbox/endpoints.json [--frontdoor-kind classic]
        [--set CONTINUITY_FAILOVER_MODE=manual ...] > local.settings.json

prints a Functions ``local.settings.json`` (``IsEncrypted: false``, ``Values``). Only the endpoints, the
CA bundle and the credential differ from an Azure deployment; the app uses the real SDKs unchanged.
Tests call :func:`app_settings` directly.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SANDBOX_TOKEN = "sandbox-token"  # the sandbox accepts any bearer token


def _slot(endpoints: Mapping[str, Any], mapping: str, suffix: str) -> str:
    """The value in ``endpoints[mapping]`` whose key ends with ``-<suffix>`` (e.g. ``uksouth-blue``)."""
    items: Mapping[str, str] = endpoints.get(mapping) or {}
    return next((v for k, v in items.items() if k.endswith(f"-{suffix}")), "")


def app_settings(
    endpoints: Mapping[str, Any],
    *,
    frontdoor_kind: str = "standard",
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every Values entry the app needs to act on the sandbox described by ``endpoints``."""
    rgs, servers = endpoints["resource_groups"], endpoints["servers"]
    regions = endpoints.get("regions") or {"primary": "uksouth", "secondary": "ukwest"}
    classic = frontdoor_kind == "classic"
    registry = endpoints.get("container_registry") or "qlpregistry.azurecr.io"
    pools = "frontdoor_classic_backend_pools" if classic else "frontdoor_origin_groups"
    values = {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "AzureWebJobsStorage": str(
            endpoints.get("storage_connection_string") or "UseDevelopmentStorage=true"
        ),
        "CONTINUITY_APP_NAME": "qlp",
        "CONTINUITY_SUBSCRIPTION_ID": endpoints["subscription_id"],
        "CONTINUITY_PRIMARY_REGION": regions["primary"],
        "CONTINUITY_SECONDARY_REGION": regions["secondary"],
        "CONTINUITY_PRIMARY_RESOURCE_GROUP": rgs["primary"],
        "CONTINUITY_SECONDARY_RESOURCE_GROUP": rgs["secondary"],
        "CONTINUITY_PRIMARY_SERVER": servers["primary"],
        "CONTINUITY_REPLICA_SERVER": servers["replica"],
        "CONTINUITY_DATABASE_NAME": endpoints.get("database_name", "qlp_db"),
        "CONTINUITY_CONTAINER_GROUP_BLUE": _slot(endpoints, "container_groups", "blue"),
        "CONTINUITY_CONTAINER_GROUP_GREEN": _slot(endpoints, "container_groups", "green"),
        "CONTINUITY_CONTAINER_GROUP_STANDBY": _slot(endpoints, "container_groups", "standby"),
        "CONTINUITY_IMAGE_REPOSITORY": f"{registry}/qlp-app",
        "CONTINUITY_CONTAINER_IDENTITY_ID": endpoints.get("workload_identity_id", ""),
        "CONTINUITY_CONTAINER_IDENTITY_CLIENT_ID": endpoints.get("workload_identity_client_id", ""),
        "CONTINUITY_CONTAINER_REGISTRY_SERVER": endpoints.get("container_registry", ""),
        "CONTINUITY_FRONTDOOR_KIND": frontdoor_kind,
        "CONTINUITY_FRONTDOOR_RESOURCE_GROUP": endpoints.get("frontdoor_resource_group") or rgs["primary"],
        "CONTINUITY_FRONTDOOR_PROFILE": endpoints.get(
            "frontdoor_classic_name" if classic else "frontdoor_profile", ""
        ),
        "CONTINUITY_FRONTDOOR_ENDPOINT": "" if classic else endpoints.get("frontdoor_endpoint", ""),
        "CONTINUITY_FRONTDOOR_ROUTE": endpoints.get(
            "frontdoor_classic_routing_rule" if classic else "frontdoor_route", ""
        ),
        "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_BLUE": _slot(endpoints, pools, "blue"),
        "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_GREEN": _slot(endpoints, pools, "green"),
        "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_STANDBY": _slot(endpoints, pools, "standby"),
        "CONTINUITY_KEY_VAULT_URL": endpoints.get("key_vault_url", ""),
        "CONTINUITY_DATABASE_SECRET_NAME": endpoints.get("database_secret_name", "database-url"),
        "CONTINUITY_PUBLIC_URL": endpoints.get("frontdoor_url", ""),
        "CONTINUITY_REPORTS_CONNECTION_SETTING": "AzureWebJobsStorage",
        "CONTINUITY_ARM_ENDPOINT": endpoints["arm_endpoint"],
        "CONTINUITY_CA_BUNDLE": endpoints["ca_bundle"],
        "CONTINUITY_CREDENTIAL": "sandbox",
        "CONTINUITY_SANDBOX_TOKEN": endpoints.get("sandbox_token") or SANDBOX_TOKEN,
        # Timer schedules (NCRONTAB, seconds first). The host resolves %CONTINUITY_..._SCHEDULE% in the
        # trigger definitions from these, so they must be present for the timers to run at all.
        "CONTINUITY_HEALTH_PROBE_SCHEDULE": "0 * * * * *",
        "CONTINUITY_BACKUP_WATCH_SCHEDULE": "0 */15 * * * *",
        "CONTINUITY_RESTORE_TEST_SCHEDULE": "0 0 3 * * *",
        "CONTINUITY_DRILL_SCHEDULE": "0 0 4 1 1,4,7,10 *",
        # long-term backups: the backup account (Entra ID only) and its immutable container
        "CONTINUITY_LTR_BACKUP_SCHEDULE": "0 0 2 * * 0",
        "CONTINUITY_LTR_PROOF_SCHEDULE": "0 0 5 1 * *",
        "CONTINUITY_BACKUP_STORAGE_ACCOUNT": endpoints.get("backup_storage_account", ""),
        "CONTINUITY_BACKUP_STORAGE_RESOURCE_GROUP": endpoints.get("backup_storage_resource_group", ""),
        "CONTINUITY_BACKUP_STORAGE_URL": endpoints.get("backup_storage_url", ""),
        "CONTINUITY_LTR_CONTAINER": endpoints.get("ltr_container", ""),
        "CONTINUITY_WATCHDOG_SCHEDULE": "0 */5 * * * *",
        "CONTINUITY_READINESS_SCHEDULE": "0 */15 * * * *",
        "CONTINUITY_ALERT_VERIFICATION_SCHEDULE": "0 0 9 * * 1",
        "CONTINUITY_FAILOVER_VALIDATION_SCHEDULE": "0 0 6 1 * *",
        "CONTINUITY_PERFORMANCE_BASELINE_SCHEDULE": "0 0 1 1 * *",
        "CONTINUITY_HEALTH_CHECK_VALIDATION_SCHEDULE": "0 0 9 * * 2",
        "CONTINUITY_BACKUP_INTEGRITY_SCHEDULE": "0 0 6 * * 3",
        # Azure Functions sets REGION_NAME to the app's region; the local host stands in for an app
        # deployed, as docs/deploy.md requires, in the DR region.
        "REGION_NAME": regions["secondary"],
    }
    if endpoints.get("eventgrid_topic_endpoint"):
        values["CONTINUITY_EVENTGRID_TOPIC_ENDPOINT"] = str(endpoints["eventgrid_topic_endpoint"])
        values["CONTINUITY_EVENTGRID_TOPIC_KEY"] = str(endpoints.get("eventgrid_topic_key") or "")
    values.update(overrides or {})
    return {k: str(v) for k, v in values.items() if v not in (None, "")}


def local_settings(values: Mapping[str, str]) -> dict[str, Any]:
    return {"IsEncrypted": False, "Values": dict(values)}


def _parse_set(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.app_settings", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--endpoints", type=Path, default=Path(".sandbox/endpoints.json"))
    parser.add_argument("--frontdoor-kind", choices=("standard", "classic"), default="standard")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one value")
    args = parser.parse_args(argv)
    if not args.endpoints.is_file():
        print(f"no sandbox endpoints at {args.endpoints}: run `python -m sandbox up` first", file=sys.stderr)
        return 2
    endpoints = json.loads(args.endpoints.read_text())
    values = app_settings(endpoints, frontdoor_kind=args.frontdoor_kind, overrides=_parse_set(args.set))
    print(json.dumps(local_settings(values), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
