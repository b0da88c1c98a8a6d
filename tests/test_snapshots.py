"""Snapshots pin every example's output for every target. A snapshot changes only on purpose:
run `pytest tests/test_snapshots.py --snapshot-update` and say why in the commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsctl.build import render
from obsctl.pipeline import check

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("examples/*/obsctl.yaml"))


def _builds() -> list[tuple[Path, str | None]]:
    out = []
    for spec in EXAMPLES:
        envs = [c.env for c in check(spec, every_env=True).checked]
        out += [(spec, env) for env in (envs if len(envs) == 1 else envs[1:])]
    return out


BUILDS = _builds()


@pytest.mark.parametrize("spec,env", BUILDS, ids=[f"{s.parent.name}{'-' + e if e else ''}" for s, e in BUILDS])
def test_example_output(spec, env, snapshot, monkeypatch):
    monkeypatch.chdir(ROOT)
    artifacts, diags, _ = render(spec.relative_to(ROOT), ["all"], env)
    errors = [f"{d.location}: {d.message}" for d in diags if d.level == "error"]
    assert not errors, errors
    assert artifacts
    assert {a.path: a.text for a in artifacts} == snapshot


def test_every_example_is_covered():
    assert len(EXAMPLES) >= 5, [p.parent.name for p in EXAMPLES]
