"""Compiling the rules stays linear: a derived metric is compiled once per compiler, however many alerts (with
other thresholds and severities) read it. Counted, not timed (timings belong to benchmarks/scale.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scale  # noqa: E402

from obsctl.compile.promql import PromQL  # noqa: E402


@pytest.mark.parametrize("recorded", [True, False])
def test_each_derived_metric_is_compiled_once(tmp_path, monkeypatch, recorded):
    """Before, with recording rules off, every alert over a derived metric compiled its whole expression again."""
    from obsctl.backends.prometheus import groups
    from obsctl.pipeline import check
    from obsctl.plan import build_plan

    data = scale.spec(60)  # 60 alerts over 6 derived metrics
    data["targets"] = {"prometheus": {"recording_rules": recorded}}
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    checked = check(spec, None).checked[0]
    plan = build_plan(checked.spec, checked.analysis, checked.smap, spec, None, {"format": "rules"})
    roots = {id(plan.derived[name].expr) for name in data["derived"]}
    compiled: list[int] = []
    compile_ = PromQL.compile

    def counting(self, node, window=None):  # noqa: ANN001, ANN202
        compiled.append(id(node))
        return compile_(self, node, window)

    monkeypatch.setattr(PromQL, "compile", counting)
    rules = [r for g in groups(plan) for r in g.rules]
    assert len([r for r in rules if r.alert]) == 60
    assert len([r for r in rules if r.record]) == (6 if recorded else 0)
    derived_compiles = [n for n in compiled if n in roots]
    # once per derived metric: its recording rule, or (without records) its first reader
    assert sorted(set(derived_compiles)) == sorted(roots) and len(derived_compiles) == 6
