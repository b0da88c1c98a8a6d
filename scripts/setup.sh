#!/usr/bin/env bash
# Install everything obsctl's build and tests need on a fresh Debian machine; cheap when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v amtool >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian's packages start the daemons where an init system runs; our tests start their own on loopback.
  $SUDO systemctl stop prometheus prometheus-alertmanager >/dev/null 2>&1 || true
fi

PY=${PYTHON:-python3}
if ! "$PY" -c "import obsctl, pytest, syrupy" >/dev/null 2>&1 || [ pyproject.toml -nt .obsctl-installed ]; then
  echo "setup: installing obsctl and its Python dependencies"
  "$PY" -m pip install -q --disable-pip-version-check -e '.[dev]'
  touch .obsctl-installed
fi

if [ ! -d tools/logql-check/node_modules ]; then
  echo "setup: installing the LogQL checker (@grafana/lezer-logql)"
  npm ci --prefix tools/logql-check --no-audit --no-fund --loglevel=error >/dev/null
fi
