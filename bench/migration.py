"""Benchmark: Continuity's breaking migration against the DR document's database-migration-deploy.sh on
one sandbox, in one run, on the same kind of migration (``migrate-<n>``: one schema version up).

The script is translated step for step to the same ARM calls (through the same adapters): it "backs up"
by printing a name, sets MAINTENANCE_MODE with a container-group update (a PATCH, which ARM lets change
tags only: the sandbox answers 400 as Azure does, and the script goes on), waits ``sleep 30`` for
connections to drain, runs the migration job and waits for it, never checks the version it prints, and
sets MAINTENANCE_MODE back the same way. The document's text is not in this repository: those steps are
the issue's description of it and are marked so they can be checked against the document.

Its write-unavailability window is what it declares (from its maintenance-on call to its maintenance-off
call: its sleep and the job), unverified; Continuity's is measured from outside (the last write that
succeeded before maintenance to the first after it), with maintenance, the drain and the version
verified. ``--quick`` divides the script's sleep by 10 (a check of the bench, not a measurement). Last
line: ``migration ratio: unavailable=<script seconds / continuity seconds> verified=<yes|no for each>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.harness import Api, estate  # noqa: E402
from tests.fixtures.devhost import DevhostProcess  # noqa: E402

REPO = "qlpregistry.azurecr.io/qlp-app"
SCRIPT_DRAIN_SLEEP = 30.0  # database-migration-deploy.sh: "sleep 30" for connections to drain


class Bench(Api):
    def __init__(self, host: DevhostProcess, env: dict[str, str], scale: float) -> None:
        from shared.azure.clients import Clients
        from shared.config import load_secrets, load_settings

        super().__init__(host)
        self.scale = scale
        self.settings = load_settings(env)
        self.clients = Clients(self.settings, load_secrets(env))

    def start(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Start a run and wait for it: its output."""
        resp = self.api("POST", path, body)
        assert "id" in resp, resp
        return dict(self.wait_run(resp["id"])["output"] or {})

    # ---- Continuity -------------------------------------------------------------------------------------
    def continuity(self, target: int) -> tuple[float, bool]:
        body = {"image": f"migrate-{target}", "reason": "benchmark", "target_version": target}
        out = self.start("/api/migrations", {**body, "class": "breaking"})
        m = out.get("measurements") or {}
        print(f"continuity migrate-{target}: {out['status']}: {out['summary'][:160]}")
        drained = f"{m.get('drain_sessions_before')} session(s), {m.get('drain_terminated')} terminated"
        window = m.get("write_unavailable_seconds")
        print(
            f"  drain: {drained} in {m.get('drain_seconds')} s; write-unavailable {window} s (from outside)"
        )
        verified = out["status"] == "succeeded" and m.get("schema_version_after") == target
        return float(m.get("write_unavailable_seconds") or 0.0), verified

    # ---- database-migration-deploy.sh, step for step ------------------------------------------------------
    def script(self, target: int) -> tuple[float, bool]:
        """The script as written; returns (its declared write-unavailability window, verified: always no)."""
        from shared.azure.containers import ContainersAdapter
        from shared.errors import ContinuityError

        s, groups = self.settings, ContainersAdapter(self.clients)
        rg, aci = s.primary_resource_group, self.clients.containers()
        backup = f"pre-migration-{time.strftime('%Y%m%d%H%M%S')}"
        print(f'script: echo "Backup: {backup}" (automatic backup is sufficient)')
        went_on = time.monotonic()
        for slot in (
            "blue",
            "green",
        ):  # az container update ... --environment-variables MAINTENANCE_MODE=true
            try:
                aci.container_groups.update(rg, s.container_groups[slot], {"properties": {}})
            except Exception as exc:  # the script does not check
                said = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                print(f"script: maintenance on of {slot}: {said}")
        time.sleep(SCRIPT_DRAIN_SLEEP * self.scale)  # sleep 30
        name = f"ci-{s.app_name}-script-migrate-{target}"
        try:  # az container create --restart-policy Never ... ; az container logs
            result = groups.run_job(
                name,
                rg,
                {"image": f"{REPO}:migrate-{target}"},
                location=s.primary_region,
                run_id="script",
                timeout=300,
            )
            print(f"script: job exit {result['exit_code']}: {result['logs'].strip()[-120:]} (never checked)")
        except ContinuityError as exc:
            print(f"script: job: {exc}")
        for slot in ("blue", "green"):  # az container update ... MAINTENANCE_MODE=false
            try:
                aci.container_groups.update(rg, s.container_groups[slot], {"properties": {}})
            except Exception as exc:  # the script does not check
                print(f"script: maintenance off of {slot}: {type(exc).__name__}")
        window = time.monotonic() - went_on
        writes = _write_status(str(s.public_url))
        print(f"script: declared {window:.1f} s without writes; a public write now answers {writes}")
        return window, False


def _write_status(public: str) -> int:
    try:
        return requests.post(public + "/api/v1/intents", json={"user_input": "bench"}, timeout=5).status_code
    except requests.RequestException:
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="the script's sleep divided by 10")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    overrides = {
        "CONTINUITY_DEPLOY_POLL_INTERVAL_SECONDS": "0.5",
        "CONTINUITY_MIGRATION_DRAIN_SECONDS": "10",
        "CONTINUITY_MIGRATION_DRAIN_INTERVAL_SECONDS": "0.5",
    }
    with estate("migration", overrides) as (_, host, env):
        bench = Bench(host, env, scale)
        tested = bench.start("/api/drills", {"scenario": "restore", "reason": "the migration's anchor"})
        assert tested["status"] == "succeeded", tested
        ours, ours_verified = bench.continuity(2)
        script, script_verified = bench.script(3)
    verified = f"continuity:{'yes' if ours_verified else 'no'},script:{'yes' if script_verified else 'no'}"
    print(f"migration ratio: unavailable={script / ours:.2f} verified={verified}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
