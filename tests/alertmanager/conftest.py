"""Fixtures for the Alertmanager backend tests."""

from __future__ import annotations

import os

import pytest

from obsctl.verify.tools import ToolMissing, find_tool


@pytest.fixture
def amtool() -> str:
    """amtool's path: fail in CI, skip loudly elsewhere, when it is not installed."""
    try:
        return find_tool("amtool")
    except ToolMissing as exc:
        reason = f"amtool missing, Alertmanager config not checked: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
