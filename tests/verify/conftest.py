"""Shared helpers for the verifier tests."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from obsctl.verify.tools import ToolMissing, find_tool, logql_checker


def _require(name: str) -> None:
    """Fail in CI, skip loudly elsewhere, when an external tool a test needs is missing."""
    try:
        if name == "logql-check":
            logql_checker()
        else:
            find_tool(name)
    except ToolMissing as exc:
        reason = str(exc)  # e.g. "promtool not installed: apt-get install prometheus"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def require_tool() -> Callable[[str], None]:
    """`require_tool("promtool")`: the test needs that tool (promtool, amtool, node, logql-check)."""
    return _require
