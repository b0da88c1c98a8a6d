#!/usr/bin/env bash
# The test suite: lint, then every test (real promtool, amtool, Prometheus, Alertmanager and LogQL parser).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# What scripts/setup.sh installed comes first: tests that run `obsctl` must get this checkout's, not another on PATH.
export PATH="$PWD/.venv/bin:$PATH"
PY=.venv/bin/python
"$PY" -m ruff check obsctl tests benchmarks scripts
"$PY" -m ruff format --check obsctl tests benchmarks scripts
"$PY" -m pytest -q "$@"
