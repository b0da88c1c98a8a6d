"""Fixtures for the Datadog backend tests: small specs written to a temporary directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from obsctl.pipeline import check


@pytest.fixture
def write_spec(tmp_path):
    """write_spec(yaml_text) -> path of a spec file (the text is dedented)."""

    def write(text: str, name: str = "obsctl.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def checked(write_spec):
    """checked(yaml_text) -> the checked spec (spec, analysis) of a spec that must validate."""

    def run(text: str) -> object:
        result = check(write_spec(text), None)
        errors = [d.message for d in result.diagnostics if d.level == "error"]
        assert not errors, errors
        return result.checked[0]

    return run
