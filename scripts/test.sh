#!/usr/bin/env bash
# The test suite: lint, then every test (real promtool, amtool, Prometheus, Alertmanager and LogQL parser).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PY=${PYTHON:-python3}
"$PY" -m ruff check obsctl tests benchmarks
"$PY" -m pytest -q "$@"
