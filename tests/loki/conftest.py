"""Fixtures for the Loki backend tests: build a spec, require a tool (fail in CI, skip loudly elsewhere)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from obsctl.build import render
from obsctl.verify.tools import ToolMissing, find_tool, logql_checker

REPO = Path(__file__).resolve().parents[2]


def _require(name: str) -> None:
    try:
        logql_checker() if name == "logql-check" else find_tool(name)
    except ToolMissing as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(f"SKIPPED, needs {exc}")


def _build(spec: Path, targets: list[str], fmt: str = "rules", env: str | None = None) -> dict[str, str]:
    artifacts, diags, _ = render(spec, targets, env, None, {"format": fmt})
    errors = [f"{d.code} {d.message}" for d in diags if d.level == "error"]
    assert not errors, errors
    return {a.path: a.text for a in artifacts}


@pytest.fixture
def require_tool() -> Callable[[str], None]:
    return _require


@pytest.fixture
def build() -> Callable[..., dict[str, str]]:
    """build(spec_path, targets, fmt="rules") -> {artifact path: text}; asserts the build has no errors."""
    return _build


@pytest.fixture
def asset_ws() -> Path:
    return REPO / "examples" / "asset-ws" / "obsctl.yaml"
