"""Fixtures every test area shares: external tools (fail in CI, skip loudly elsewhere) and building a spec."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from obsctl.verify.tools import ToolMissing, find_tool, logql_checker

REPO = Path(__file__).resolve().parent.parent


def _require(name: str) -> str:
    """The tool's path; when it is missing, fail under CI=true and skip with the install hint elsewhere."""
    try:
        return str(logql_checker()[1]) if name == "logql-check" else find_tool(name)
    except ToolMissing as exc:
        reason = f"SKIPPED, {exc}"  # e.g. "promtool not installed: apt-get install prometheus"
        if os.environ.get("CI") == "true":
            pytest.fail(f"required in CI: {exc}")
        pytest.skip(reason)


def _build(spec: Path, targets: list[str], fmt: str = "rules", env: str | None = None) -> dict[str, str]:
    from obsctl.build import render

    artifacts, diags, _ = render(spec, targets, env, None, {"format": fmt})
    errors = [f"{d.code} {d.message}" for d in diags if d.level == "error"]
    assert not errors, errors
    return {a.path: a.text for a in artifacts}


@pytest.fixture
def require_tool() -> Callable[[str], str]:
    """`require_tool("promtool")`: the test needs that tool (promtool, amtool, node, logql-check)."""
    return _require


@pytest.fixture
def promtool() -> str:
    return _require("promtool")


@pytest.fixture
def amtool() -> str:
    return _require("amtool")


@pytest.fixture
def build() -> Callable[..., dict[str, str]]:
    """build(spec_path, targets, fmt="rules", env=None) -> {artifact path: text}; asserts no build errors."""
    return _build


@pytest.fixture
def asset_ws() -> Path:
    return REPO / "examples" / "asset-ws" / "obsctl.yaml"
