"""Benchmark: Continuity's blue-green deploy against the DR document's blue-green-deploy.sh, on one
sandbox, in one run, with the same monitoring length (30 checks, 10 s apart).

The script is translated step for step to the same ARM calls (through the same adapters): read the
route, ``az container create`` the other slot with the new image, its fixed ``sleep`` before health
checks, a health loop, a smoke curl, ``az afd route update``, a monitoring loop that on a failed check
reaches its ``# Rollback logic here`` comment and exits 1, and ``az container delete`` of the old slot.
The document's text is not in this repository: the constants below are the script's shape as the
deployments issue and DESIGN.md describe it (fixed sleeps, 30 x 10 s monitoring, no rollback, the old
slot deleted right after), and are marked so they can be checked against the document.

Cases, in this order (the script's good case last, because it deletes the old slot):
1. Continuity, a good release;  2. Continuity, an ``errors-after-N`` release (seen only after the
switch);  3. the script, the same ``errors-after-N`` release (then the bench switches traffic back
itself);  4. the script, a good release.  A poller on the public endpoint measures, for the bad release,
the time from the first failed request to healthy traffic.

``--quick`` divides every sleep, timeout and monitoring interval by 10 (a check of the bench, not a
measurement). Last line: ``deploy ratio: good=<script s / continuity s> recover=<continuity s from the
first failed request to healthy traffic> script_recovers=<yes|no>``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.harness import Api, estate  # noqa: E402
from sandbox.client import SandboxClient  # noqa: E402
from tests.fixtures.devhost import DevhostProcess  # noqa: E402

REPO = "qlpregistry.azurecr.io/qlp-app"
# blue-green-deploy.sh, as the issue describes it (reconstructed: see the module docstring)
SCRIPT_SLEEP_AFTER_CREATE = 30.0  # "sleep 30" after az container create
SCRIPT_HEALTH_TRIES, SCRIPT_HEALTH_SLEEP = 10, 10.0  # curl /health up to 10 times, 10 s apart
MONITOR_CHECKS, MONITOR_INTERVAL = 30, 10.0  # "monitor for 5 minutes": 30 checks, 10 s apart (DR plan)


class Poller:
    """The public endpoint every 50 ms: (monotonic time, status, version)."""

    def __init__(self, url: str) -> None:
        self.url, self.answers = url + "/api/v1/status", list[tuple[float, int, str]]()
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self) -> None:
        while self.running:
            try:
                resp = requests.get(self.url, timeout=5)
                version = str(resp.json().get("version", "")) if resp.status_code == 200 else ""
                self.answers.append((time.monotonic(), resp.status_code, version))
            except (requests.RequestException, ValueError):
                self.answers.append((time.monotonic(), 0, ""))
            time.sleep(0.05)

    def stop(self) -> None:
        self.running = False
        self.thread.join(10)

    def recovery(self, healthy_version: str) -> float | None:
        """Seconds from the first failed answer to the start of the last unbroken run of healthy answers
        of ``healthy_version``; None when nothing failed or it never recovered."""
        first = next((t for t, status, _ in self.answers if status != 200), None)
        if first is None:
            return None
        good_since = None
        for t, status, version in self.answers:
            ok = status == 200 and version == healthy_version
            good_since = (good_since or t) if ok else None
        return good_since - first if good_since is not None and good_since > first else None


class Bench(Api):
    def __init__(
        self, sandbox: SandboxClient, host: DevhostProcess, env: dict[str, str], scale: float
    ) -> None:
        from shared.azure.clients import Clients
        from shared.config import load_secrets, load_settings

        super().__init__(host)
        self.sandbox, self.scale = sandbox, scale
        self.public = str(sandbox.endpoints["frontdoor_url"])
        self.settings = load_settings(env)
        self.clients = Clients(self.settings, load_secrets(env))

    # ---- Continuity -------------------------------------------------------------------------------------
    def continuity(self, tag: str) -> tuple[float, dict[str, Any], Poller]:
        poller = Poller(self.public)
        started = time.monotonic()
        resp = self.api("POST", "/api/deployments", {"image": tag, "reason": "benchmark"})
        assert "id" in resp, resp
        out = dict(self.wait_run(resp["id"], timeout=1800)["output"] or {})
        took = time.monotonic() - started
        time.sleep(1)
        poller.stop()
        print(f"continuity {tag}: {out['status']} in {took:.1f} s: {out['summary'][:160]}")
        m = out.get("measurements") or {}
        restored = m.get("failure_to_restored_seconds")
        print(f"  propagation {m.get('propagation_seconds')} s, failure to restored {restored} s")
        return took, out, poller

    # ---- blue-green-deploy.sh, step for step --------------------------------------------------------------
    def script(self, tag: str) -> tuple[float, bool]:
        """The script as written; returns (seconds, whether it completed: exit 0)."""
        from shared.azure.containers import ContainersAdapter, spec
        from shared.azure.traffic import traffic_for

        s, groups, traffic = self.settings, ContainersAdapter(self.clients), traffic_for(self.clients)
        started = time.monotonic()
        current = traffic.get_route()["origin_group"]  # CURRENT=$(az afd route show ... originGroup)
        live = "blue" if current == s.frontdoor_origin_group_blue else "green"
        target = "green" if live == "blue" else "blue"
        rg = s.primary_resource_group
        live_spec = spec(groups, s.container_groups[live], rg)
        wanted = {k: v for k, v in live_spec.items() if v is not None and k != "secure_environment"}
        # az container create --name $TARGET --image $IMAGE ... (same flags as the live slot)
        made = groups.ensure(
            s.container_groups[target],
            rg,
            {**wanted, "image": f"{REPO}:{tag}"},
            location=s.primary_region,
            run_id="blue-green-deploy.sh",
            allow_recreate=True,
        )
        time.sleep(SCRIPT_SLEEP_AFTER_CREATE * self.scale)  # echo "Waiting for container..."; sleep 30
        for _ in range(SCRIPT_HEALTH_TRIES):  # until curl -sf http://$TARGET_IP/health; do sleep 10; done
            if _ok(str(made["url"]) + "/health"):
                break
            time.sleep(SCRIPT_HEALTH_SLEEP * self.scale)
        else:
            print(f"script {tag}: target never healthy: exit 1")
            return time.monotonic() - started, False
        if not _ok(str(made["url"]) + "/api/v1/status"):  # smoke: curl -sf $TARGET/api/v1/status
            print(f"script {tag}: smoke test failed: exit 1")
            return time.monotonic() - started, False
        traffic.switch_route(s.origin_groups[target])  # az afd route update --origin-group $TARGET_OG
        for i in range(MONITOR_CHECKS):  # for i in $(seq 1 30); do curl -sf $URL/health || ...; sleep 10
            if not _ok(self.public + "/health"):
                said = "'Rolling back...' (# Rollback logic here): exit 1"
                print(f"script {tag}: health check {i + 1} failed, {said}")
                return time.monotonic() - started, False
            time.sleep(MONITOR_INTERVAL * self.scale)
        # az container delete --name $OLD --yes: right after the switch's monitoring, no way back
        with_old = s.container_groups[live]
        self.clients.containers().container_groups.begin_delete(rg, with_old).result()
        took = time.monotonic() - started
        print(f"script {tag}: exit 0 in {took:.1f} s; {with_old} deleted")
        return took, True

    def script_bad(self, tag: str) -> bool:
        """The script on the bad release; whether traffic was healthy again without anyone acting."""
        from shared.azure.traffic import traffic_for

        before = traffic_for(self.clients).get_route()["origin_group"]
        _, completed = self.script(tag)
        watch = 3 * MONITOR_INTERVAL * self.scale
        deadline, recovered = time.monotonic() + watch, False
        while time.monotonic() < deadline:
            recovered = _ok(self.public + "/health")
            time.sleep(0.5)
        ended = "completed" if completed else "exited 1"
        print(f"script {tag}: {ended}; healthy {watch:.0f} s later: {recovered}")
        traffic_for(self.clients).switch_route(before)  # the bench puts traffic back for the next case
        _wait(lambda: _ok(self.public + "/health"), 60)
        return recovered


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _wait(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="every wait divided by 10 (checks the bench)")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    errors_after = 15 if args.quick else 45  # after the script's switch, so the bad release gets traffic
    overrides = {
        "CONTINUITY_DEPLOY_WINDOW": "00:00-24:00",
        "CONTINUITY_POST_SWITCH_CHECKS": str(MONITOR_CHECKS),
        "CONTINUITY_POST_SWITCH_INTERVAL_SECONDS": str(MONITOR_INTERVAL * scale),
        "CONTINUITY_PROPAGATION_INTERVAL_SECONDS": str(2 * scale),
        "CONTINUITY_DEPLOY_POLL_INTERVAL_SECONDS": str(5 * scale),
        "CONTINUITY_SCALE_DOWN_DELAY_MINUTES": "0",
    }
    with estate("deploy", overrides) as (sandbox, host, env):
        bench = Bench(sandbox, host, env, scale)
        print(f"monitoring: {MONITOR_CHECKS} checks, {MONITOR_INTERVAL * scale:g} s apart, for both")
        good_c, out, _ = bench.continuity("1.1.0")
        assert out["status"] == "succeeded", out
        _, out, poller = bench.continuity(f"1.2.0-errors-after-{errors_after}")
        assert out["status"] == "rolled-back", out
        recover = poller.recovery("1.1.0")
        propagation = (out.get("measurements") or {}).get("propagation_seconds")
        print(
            f"  first failed request to healthy traffic: {recover} s (two intervals + propagation: "
            f"{2 * MONITOR_INTERVAL * scale + float(propagation or 0):.1f} s)"
        )
        script_recovers = bench.script_bad(f"1.3.0-errors-after-{errors_after}")
        good_s, completed = bench.script("1.4.0")
        assert completed, "the script's good case did not complete"
    recovered = f"{recover:.1f}" if recover is not None else "never"
    recovers = "yes" if script_recovers else "no"
    print(f"deploy ratio: good={good_s / good_c:.2f} recover={recovered} script_recovers={recovers}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
