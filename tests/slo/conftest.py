"""Fixtures for the SLO rule tests: build one spec's SLO output without the other targets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from obsctl.backends import Artifact, Context
from obsctl.pipeline import check
from obsctl.templating import environment

SPECS = Path(__file__).parent / "specs"
REPO = Path(__file__).resolve().parents[2]


def context(spec: Path, env: str | None = None, fmt: str = "rules") -> Context:
    result = check(spec, env)
    assert result.ok, [str(d) for d in result.diagnostics if d.level == "error"]
    c = result.checked[0]
    return Context(c.spec, c.analysis, c.smap, spec, env, environment(), {"format": fmt})


def slo_build(spec: Path, env: str | None = None, fmt: str = "rules") -> dict[str, str]:
    """path -> text of the SLO artifacts of `spec`."""
    from obsctl.backends.prometheus_slo import build

    arts: list[Artifact] = build(context(spec, env, fmt))
    return {a.path: a.text for a in arts}


def write(out: Path, artifacts: dict[str, str]) -> dict[str, Path]:
    paths = {}
    for rel, text in artifacts.items():
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        paths[rel] = dest
    return paths


@pytest.fixture
def promtool() -> str:
    """promtool's path; fails in CI when it is missing, else skips loudly."""
    from obsctl.verify.tools import ToolMissing, find_tool

    try:
        return find_tool("promtool")
    except ToolMissing as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"promtool is required in CI: {e}")
        pytest.skip(f"PROMTOOL MISSING, SLO rules not checked: {e}")
