"""Entry point of a workload process: `python -m sandbox.workload` (configured by its environment).

Environment: PORT, IMAGE (its tag decides behaviour), CONTAINER_GROUP, REGION, MAINTENANCE_MODE,
KEY_VAULT_URL + DATABASE_SECRET_NAME (default `database-url`) to read the database URL at start, with
SANDBOX_TOKEN (set by the sandbox only for a group with a managed identity) and SANDBOX_CA_BUNDLE (or
DATABASE_URL directly), WORKLOAD_SLOW_MS, WORKLOAD_WARMUP (components that turn healthy later).
A migration image runs its migration, prints the outcome and exits 0 (or 1 on failure); a pg-restore
image restores a pg_dump archive into a new server (sandbox/workload/pg_restore_job.py) and exits.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping

from aiohttp import web

from sandbox.workload.app import WorkloadConfig, build_app
from sandbox.workload.behaviour import DEFAULT_SLOW_MS, Behaviour, behaviour_for


def database_url(env: Mapping[str, str]) -> str:
    """The database URL: from Key Vault when KEY_VAULT_URL is set, else DATABASE_URL."""
    if env.get("KEY_VAULT_URL"):
        from sandbox.workload.secrets import read_secret

        if not env.get("SANDBOX_TOKEN"):  # what ManagedIdentityCredential says in a group without one
            raise RuntimeError("ManagedIdentityCredential authentication unavailable: no managed identity")
        return read_secret(
            env["KEY_VAULT_URL"],
            env.get("DATABASE_SECRET_NAME", "database-url"),
            token=env["SANDBOX_TOKEN"],
            ca_bundle=env.get("SANDBOX_CA_BUNDLE") or None,
        )
    if env.get("DATABASE_URL"):
        return env["DATABASE_URL"]
    raise SystemExit("workload: set KEY_VAULT_URL (and SANDBOX_TOKEN, SANDBOX_CA_BUNDLE) or DATABASE_URL")


def run_migration(behaviour: Behaviour, url: str) -> int:
    from sandbox.workload.store import migrate

    if behaviour.migrate_fails:
        print(f"migration {behaviour.tag}: failed (the image is marked to fail)", flush=True)
        return 1
    try:
        before, after = asyncio.run(migrate(url, behaviour.migrate_to, behaviour.migrate_hold_s))
    except Exception as exc:
        print(f"migration {behaviour.tag}: failed: {type(exc).__name__}: {str(exc)[:200]}", flush=True)
        return 1
    print(f"migration {behaviour.tag}: schema_version {before} -> {after}", flush=True)
    return 0


def warmup_of(raw: str) -> tuple[tuple[str, float], ...]:
    """``websocket=20,analytics=40``: each component and the seconds it takes to turn healthy."""
    pairs = [item.split("=", 1) for item in raw.split(",") if "=" in item]
    return tuple((name.strip(), float(seconds)) for name, seconds in pairs)


def main(env: Mapping[str, str]) -> int:
    try:
        url = database_url(env)
    except Exception as exc:  # the process exits non-zero, as the real app does without its secret
        print(f"workload: cannot read the database URL: {type(exc).__name__}: {exc}", flush=True)
        return 1
    behaviour = behaviour_for(
        env.get("IMAGE", "qlp-app:latest"), slow_ms=int(env.get("WORKLOAD_SLOW_MS", DEFAULT_SLOW_MS))
    )
    print(f"workload {env.get('CONTAINER_GROUP', '')} image {behaviour.image}: database URL read", flush=True)
    if behaviour.migrate:
        return run_migration(behaviour, url)
    if behaviour.pg_restore:
        from sandbox.workload.pg_restore_job import run_restore

        return run_restore(env, url)
    if behaviour.schema_max is not None:
        from sandbox.workload.store import schema_version

        found = asyncio.run(schema_version(url))
        if found > behaviour.schema_max:
            print(
                f"workload: schema {found} is newer than {behaviour.schema_max}, the newest it knows",
                flush=True,
            )
            return 1
    cfg = WorkloadConfig(
        behaviour=behaviour,
        database_url=url,
        container_group=env.get("CONTAINER_GROUP", ""),
        region=env.get("REGION", ""),
        maintenance_mode=env.get("MAINTENANCE_MODE", "").lower() == "true",
        warmup=warmup_of(env.get("WORKLOAD_WARMUP", "")),
    )
    port = int(env["PORT"])
    print(f"workload serving on 127.0.0.1:{port}", flush=True)
    web.run_app(build_app(cfg), host="127.0.0.1", port=port, print=None, access_log=None, handle_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ))
