#!/usr/bin/env bash
# Rebuild the committed output of every example: examples/<x>/build, or examples/<x>/build/<env> for each
# environment of a spec that declares environments (relay-ai: build/beta, build/prod).
# --check: rebuild nothing; exit 1 with a diff when any committed output is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=()
case "${1:-}" in
  "") ;;
  --check) mode=(--check) ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

PY=${PYTHON:-python3}
OBSCTL=${OBSCTL:-obsctl}

envs_of() {
  "$PY" -c 'import sys, yaml; print(" ".join(sorted((yaml.safe_load(open(sys.argv[1])) or {}).get("environments") or {})))' "$1"
}

build() {  # spec out [--env E]; the file list is noise when writing, the diff is the point when checking
  if [ ${#mode[@]} -eq 0 ]; then
    "$OBSCTL" build "$1" --target all --out "$2" "${@:3}" >/dev/null && echo "built $2"
  else
    "$OBSCTL" build "$1" --target all --out "$2" "${@:3}" --check
  fi
}

status=0
for spec in examples/*/obsctl.yaml; do
  dir=$(dirname "$spec")
  envs=$(envs_of "$spec")
  if [ -z "$envs" ]; then
    build "$spec" "$dir/build" || status=1
  else
    for env in $envs; do
      build "$spec" "$dir/build/$env" --env "$env" || status=1
    done
  fi
done
if [ "$status" -ne 0 ]; then
  echo "examples: some output is stale or failed to build (see above)" >&2
fi
exit "$status"
