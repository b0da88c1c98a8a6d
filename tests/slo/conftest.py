"""Fixtures for the SLO rule tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def promtool() -> str:
    """promtool's path; the test fails in CI when promtool is missing, else skips loudly."""
    from obsctl.verify.tools import ToolMissing, find_tool

    try:
        return find_tool("promtool")
    except ToolMissing as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"promtool is required in CI: {e}")
        pytest.skip(f"PROMTOOL MISSING: SLO rules and their generated tests are NOT checked ({e})")
