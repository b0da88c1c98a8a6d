"""Fixtures for the Grafana backend tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml


@pytest.fixture
def variant(tmp_path: Path) -> Callable[..., Path]:
    """`variant(spec, change)`: a copy of `spec` (beside it in tmp) after `change(data)` edits its YAML data."""

    def make(spec: Path, change: Callable[[dict], None]) -> Path:
        data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        change(data)
        out = tmp_path / spec.name
        out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return out

    return make
