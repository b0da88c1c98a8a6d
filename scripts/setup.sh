#!/usr/bin/env bash
# Install everything obsctl's build and tests need on a fresh Debian machine; cheap when already done.
# Python packages go into .venv: run obsctl as .venv/bin/obsctl, or after `. .venv/bin/activate`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v amtool >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v vmalert >/dev/null 2>&1 || need_apt+=(victoria-metrics)   # vmalert -dryRun, the VictoriaMetrics e2e test
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian's packages start the daemons where an init system runs; our tests start their own on loopback.
  $SUDO systemctl stop prometheus prometheus-alertmanager victoria-metrics >/dev/null 2>&1 || true
fi

# obsctl and its Python dependencies go into a virtual environment, .venv (never into the system interpreter:
# Debian's is externally managed, and pip as root beside apt's packages is what pip warns about).
BASE_PY=${PYTHON:-python3}
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$BASE_PY" -m venv "$VENV" >/dev/null 2>&1; then
    # Debian splits venv (with its bundled pip) into python3-venv; without it `python3 -m venv` fails.
    rm -rf "$VENV"
    echo "setup: installing Debian's python3-venv"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    minor=$("$BASE_PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv \
      "python$minor-venv" >/dev/null 2>&1 || \
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    "$BASE_PY" -m venv "$VENV"
  fi
fi
PY="$VENV/bin/python"
if ! "$PY" -c "import obsctl, pytest, syrupy, pre_commit" >/dev/null 2>&1 || [ pyproject.toml -nt "$VENV/.obsctl-installed" ]; then
  echo "setup: installing obsctl and its Python dependencies into $VENV"
  "$PY" -m pip install -q --disable-pip-version-check -e '.[dev]'
  touch "$VENV/.obsctl-installed"
fi

if [ ! -d tools/logql-check/node_modules ]; then
  echo "setup: installing the LogQL checker (@grafana/lezer-logql)"
  npm ci --prefix tools/logql-check --no-audit --no-fund --loglevel=error >/dev/null
fi
