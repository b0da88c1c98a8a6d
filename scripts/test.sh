#!/usr/bin/env bash
# The test suite: lint, then every test (real promtool, amtool, Prometheus, Alertmanager and LogQL parser).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PY=.venv/bin/python  # made by scripts/setup.sh
"$PY" -m ruff check obsctl tests benchmarks
"$PY" -m pytest -q "$@"
