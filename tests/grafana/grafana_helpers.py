"""Helpers for the Grafana backend tests: build a spec to the grafana target and read the dashboards back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from obsctl.backends import Artifact
from obsctl.build import render
from obsctl.verify.tools import ToolMissing, find_tool, logql_checker

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FULL = FIXTURES / "full.yaml"


def require_logql_checker() -> None:
    """The dashboard lint parses LogQL with node + @grafana/lezer-logql: fail in CI, skip loudly elsewhere."""
    _require(logql_checker, "LogQL checker missing, Grafana lint not run")


def require_promtool() -> None:
    """Building the Prometheus target runs promtool on the rules."""
    _require(lambda: find_tool("promtool"), "promtool missing, Prometheus rules not built")


def _require(check, what: str) -> None:
    try:
        check()
    except ToolMissing as exc:
        reason = f"{what}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def build(
    spec: Path, env: str | None = None, templates: Path | None = None, targets: tuple[str, ...] = ("grafana",)
) -> tuple[list[Artifact], list]:
    """(artifacts, error diagnostics) of `obsctl build --target grafana`, verify() included."""
    artifacts, diags, _ = render(spec, list(targets), env, templates)
    return artifacts, [d for d in diags if d.level == "error"]


def build_ok(
    spec: Path, env: str | None = None, templates: Path | None = None, targets: tuple[str, ...] = ("grafana",)
) -> list[Artifact]:
    require_logql_checker()  # build() verifies what it renders, LogQL targets included
    artifacts, errors = build(spec, env, templates, targets)
    assert not errors, [f"{d.location}: {d.field}: {d.message}" for d in errors]
    assert artifacts
    return artifacts


def dashboards_of(artifacts: list[Artifact]) -> dict[str, dict]:
    """uid -> dashboard model of every dashboard file."""
    out = {}
    for a in artifacts:
        if a.path.startswith("grafana/dashboards/"):
            model = json.loads(a.text)
            out[model["uid"]] = model
    return out


def all_panels(d: dict) -> list[dict]:
    """Every panel, rows and the panels inside collapsed rows included, in order."""
    out = []
    for p in d["panels"]:
        out.append(p)
        out += p.get("panels") or []
    return out


def targets(d: dict) -> list[dict]:
    return [t for p in all_panels(d) for t in p.get("targets") or []]
