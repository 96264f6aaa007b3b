#!/usr/bin/env bash
# `make run`: the sandbox, then devhost serving function_app on it, in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m devhost --app function_app --port 7071 --state-dir .devhost
