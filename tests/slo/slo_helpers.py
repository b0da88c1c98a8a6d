"""Helpers for the SLO rule tests: build one spec's SLO output without the other targets, run promtool."""

from __future__ import annotations

from pathlib import Path

import yaml

from obsctl.backends import Renderer
from obsctl.pipeline import check
from obsctl.plan import Plan, build_plan
from obsctl.templating import environment

HERE = Path(__file__).parent
SPECS = HERE / "specs"
REPO = HERE.parents[1]
EXAMPLES = REPO / "examples"


def context(spec: Path, env: str | None = None, fmt: str = "rules") -> Plan:
    result = check(spec, env)
    assert result.ok, [str(d) for d in result.diagnostics if d.level == "error"]
    c = result.checked[0]
    return build_plan(c.spec, c.analysis, c.smap, spec, env, {"format": fmt})


def slo_build(spec: Path, env: str | None = None, fmt: str = "rules") -> dict[str, str]:
    """path -> text of the SLO artifacts of `spec`."""
    from obsctl.backends.prometheus.slo import build

    plan = context(spec, env, fmt)
    return {a.path: a.text for a in build(plan, Renderer(environment(), plan))}


def write(out: Path, artifacts: dict[str, str]) -> dict[str, Path]:
    """Write artifacts under `out`; returns path -> file."""
    files = {}
    for rel, text in artifacts.items():
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        files[rel] = dest
    return files


def only(files: dict[str, Path], suffix: str) -> Path:
    [path] = [p for rel, p in files.items() if rel.endswith(suffix)]
    return path


def generated_tests(files: dict[str, Path]) -> dict:
    return yaml.safe_load(only(files, ".slo.tests.yml").read_text(encoding="utf-8"))
