#!/usr/bin/env bash
# `make run`: the sandbox (a local Azure region pair), then devhost serving function_app on it, in the
# foreground on 127.0.0.1:7071. Ctrl-C or SIGTERM stops devhost, then the sandbox.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
# where the sandbox, devhost's state and the generated settings live (tests run it elsewhere)
SANDBOX_DIR=${RUN_SANDBOX_DIR:-.sandbox}
STATE_DIR=${RUN_STATE_DIR:-.devhost}
PORT=${DEVHOST_PORT:-7071}
BASE_URL="http://127.0.0.1:${PORT}"
SETTINGS=${RUN_SETTINGS:-local.settings.json}
SETTINGS_MARK="${STATE_DIR}/local.settings.sha256"  # checksum of the file as last generated here

DEVHOST_PID=""
SANDBOX_UP=0

say() { printf '[run] %s\n' "$*"; }
fail() { printf '[run] error: %s\n' "$*" >&2; exit 1; }

cleanup() {
  trap - EXIT INT TERM
  if [ -n "$DEVHOST_PID" ] && kill -0 "$DEVHOST_PID" 2>/dev/null; then
    say "stopping devhost"
    kill -TERM "$DEVHOST_PID" 2>/dev/null
    wait "$DEVHOST_PID" 2>/dev/null
  fi
  if [ "$SANDBOX_UP" = 1 ]; then
    say "stopping the sandbox"
    "$PY" -m sandbox down --state-dir "$SANDBOX_DIR" || say "sandbox down failed; run: $PY -m sandbox down --state-dir $SANDBOX_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM

check_prerequisites() {
  [ -x "$PY" ] || fail "$PY is missing: run \`make run\` (it creates .venv) rather than this script"
  "$PY" - <<'EOF' || fail "the sandbox is not available yet (sandbox/cli.py and sandbox/app_settings.py are needed)"
import importlib.util, sys
sys.exit(0 if all(importlib.util.find_spec(m) for m in ("sandbox.cli", "sandbox.app_settings")) else 1)
EOF
}

start_sandbox() {
  if "$PY" -m sandbox status --state-dir "$SANDBOX_DIR" >/dev/null 2>&1; then
    say "a sandbox is already running in $SANDBOX_DIR: using it (it is stopped on exit)"
  else
    say "starting the sandbox in $SANDBOX_DIR"
    SANDBOX_UP=1  # `down` is harmless if `up` gets no further
    "$PY" -m sandbox up --state-dir "$SANDBOX_DIR" || fail "the sandbox did not start (see $SANDBOX_DIR/logs/serve.log)"
  fi
  SANDBOX_UP=1
  [ -f "$SANDBOX_DIR/endpoints.json" ] || fail "the sandbox wrote no $SANDBOX_DIR/endpoints.json"
}

write_settings() {
  mkdir -p "$STATE_DIR"
  # The sandbox's ports change on every start, so settings written for an earlier sandbox are stale:
  # always generate them. A file not generated here is kept aside, never lost. To change a setting for
  # a run, set it in the environment (the environment wins over local.settings.json), e.g.
  # `CONTINUITY_FAILOVER_MODE=manual make run`.
  if [ -f "$SETTINGS" ] && ! { [ -f "$SETTINGS_MARK" ] && sha256sum --check --status "$SETTINGS_MARK" 2>/dev/null; }; then
    mv "$SETTINGS" "${SETTINGS}.bak"
    say "moved your $SETTINGS to ${SETTINGS}.bak (settings for the sandbox are generated on every run)"
  fi
  local tmp="${SETTINGS}.tmp"
  "$PY" -m sandbox.app_settings --endpoints "$SANDBOX_DIR/endpoints.json" >"$tmp" || { rm -f "$tmp"; fail "could not generate $SETTINGS"; }
  # the weekly practice alert posts to this host's own alert webhook with its function key (the keys are
  # made now if this is the first run, as devhost would make them); the file is readable by you only
  "$PY" - "$tmp" "$STATE_DIR" "$BASE_URL" <<'PYEOF' || { rm -f "$tmp"; fail "could not generate $SETTINGS"; }
import json, os, sys
from pathlib import Path
from devhost.keys import load_keys
path, state, base = sys.argv[1:]
doc = json.loads(Path(path).read_text())
values = doc["Values"]
if not values.get("CONTINUITY_ALERT_INTAKE_URL"):
    key = load_keys(Path(state), os.environ).function_key
    values["CONTINUITY_ALERT_INTAKE_URL"] = f"{base}/api/alerts?code={key}"
Path(path).write_text(json.dumps(doc, indent=2) + "\n")
PYEOF
  chmod 600 "$tmp"
  mv "$tmp" "$SETTINGS"
  sha256sum "$SETTINGS" >"$SETTINGS_MARK"
  say "wrote $SETTINGS from the sandbox endpoints"
}

wait_for_devhost() {
  "$PY" - "$BASE_URL" "$DEVHOST_PID" <<'EOF'
import os, sys, time, urllib.request
url, pid = sys.argv[1] + "/admin/host/ping", int(sys.argv[2])
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}

print_summary() {
  "$PY" - "$BASE_URL" "$STATE_DIR" "$SANDBOX_DIR" "$SETTINGS" <<'EOF'
import json, os, sys
from pathlib import Path
base, state, sandbox, settings = sys.argv[1:]
keys = json.loads((Path(state) / "keys.json").read_text()) if (Path(state) / "keys.json").exists() else {}
function_key = os.environ.get("DEVHOST_FUNCTION_KEY") or keys.get("functionKey", "?")
endpoints = json.loads((Path(sandbox) / "endpoints.json").read_text())
values = json.loads(Path(settings).read_text()).get("Values", {}) if Path(settings).exists() else {}
container = values.get("CONTINUITY_REPORTS_CONTAINER", "continuity-reports")
sys.path.insert(0, os.getcwd())
try:  # drctl finds the API with no flags: .devhost/drctl.json (readable by you only)
    from cli.settings import write
    write(Path(state) / "drctl.json", f"{base}/api", function_key)
    drctl = "drctl status   (.venv/bin/drctl, or `source .venv/bin/activate` first; reads .devhost/drctl.json)"
except ImportError:
    drctl = "not installed (run `make run` rather than this script)"
print(f"""
  Continuity is up on the sandbox.

  API              {base}/api   (contract: {base}/api/openapi.json)
  function key     {function_key}   (header x-functions-key)
  dashboard        {base}/api/dashboard   (asks for the function key once)
  drctl            {drctl}
  Front Door       {endpoints.get('frontdoor_url', '?')}   (the app's public URL in the sandbox)
  run reports      drctl report <run id> --markdown   (kept in blob container '{container}')
  logs             this terminal (devhost), {sandbox}/logs/ (sandbox)
  stop             Ctrl-C
""", flush=True)
EOF
}

check_prerequisites
start_sandbox
write_settings
say "starting devhost on $BASE_URL"
"$PY" -m devhost --app function_app --port "$PORT" --state-dir "$STATE_DIR" --local-settings "$SETTINGS" &
DEVHOST_PID=$!
if wait_for_devhost; then
  print_summary
else
  say "devhost did not come up (see its output above)"
fi
wait "$DEVHOST_PID"
code=$?
DEVHOST_PID=""
exit "$code"
