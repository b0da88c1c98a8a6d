#!/usr/bin/env bash
# The main job: build an example spec to every target, checked by the real tools, into build/asset-ws/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"  # obsctl as scripts/setup.sh installed it
obsctl validate examples/asset-ws/obsctl.yaml
obsctl build examples/asset-ws/obsctl.yaml --target all --out build/asset-ws
obsctl test examples/asset-ws/obsctl.yaml
