"""Helpers for the Alertmanager backend tests: build a spec to alertmanager.yml and the plan backends read."""

from __future__ import annotations

from pathlib import Path

import yaml

from obsctl.build import render
from obsctl.pipeline import check
from obsctl.plan import Plan, build_plan

ROOT = Path(__file__).resolve().parents[2]
ASSET_WS = ROOT / "examples" / "asset-ws" / "obsctl.yaml"
FULL = Path(__file__).resolve().parent / "data" / "full.yaml"


def build_text(spec: Path, env: str | None = None) -> str:
    """alertmanager.yml as `obsctl build --target alertmanager` renders it (verify() included)."""
    artifacts, diags, _ = render(spec, ["alertmanager"], env)
    errors = [f"{d.code} {d.field}: {d.message}" for d in diags if d.level == "error"]
    assert not errors, errors
    assert [a.path for a in artifacts] == ["alertmanager/alertmanager.yml"]
    return artifacts[0].text


def write_config(spec: Path, dest: Path) -> tuple[Path, dict]:
    """Build `spec` into `dest`/alertmanager.yml; (path, parsed YAML)."""
    text = build_text(spec)
    path = dest / "alertmanager.yml"
    path.write_text(text, encoding="utf-8")
    return path, yaml.safe_load(text)


def context(spec: Path, env: str | None = None) -> Plan:
    """The plan of a checked spec (what `obsctl build` gives the backends)."""
    result = check(spec, env)
    assert result.ok, [d.message for d in result.diagnostics if d.level == "error"]
    c = result.checked[0]
    return build_plan(c.spec, c.analysis, c.smap, spec, env)
