"""Test generation stays linear at scale: the PromQL parser runs once per distinct expression, and the inputs a
selector picks are looked up once per scenario, not once per evaluation. Counted, not timed (timings belong to
benchmarks/scale.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import promql_parser as pp
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scale  # noqa: E402

from obsctl.testgen import promsim  # noqa: E402


@pytest.fixture
def scale_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(scale.spec(30), sort_keys=False))
    return spec


def _plan(spec: Path):  # noqa: ANN202
    from obsctl.pipeline import check
    from obsctl.plan import build_plan

    checked = check(spec, None).checked[0]
    return build_plan(checked.spec, checked.analysis, checked.smap, spec, None, {"format": "rules"})


def test_each_expression_is_parsed_once(scale_spec, monkeypatch):
    """Before, every instant evaluation parsed the alert's expression again (about 50 parses per alert)."""
    from obsctl.backends.prometheus import groups
    from obsctl.testgen.alerts import generate

    plan = _plan(scale_spec)
    rule_groups = groups(plan)
    parsed: list[str] = []
    real = pp.parse

    def counting(text: str) -> object:
        parsed.append(text)
        return real(text)

    if hasattr(promsim, "parse"):  # a fresh cache: every expression counts once
        promsim.parse.cache_clear()
    monkeypatch.setattr(pp, "parse", counting)
    tests, _ = generate(plan, rule_groups)
    assert len(tests) == 60  # fires and quiet for each of the 30 alerts
    assert len(set(parsed)) > 10  # the counting hook saw the rules
    again = sorted({t for t in parsed if parsed.count(t) > 1})
    assert not again, f"parsed more than once: {again[:3]}"


def test_selector_matching_is_done_once_per_world(monkeypatch):
    """Before, each evaluation sorted every series and matched the selector against each of them again."""
    calls = 0
    real = promsim.Evaluator._matches

    def counting(self, labels, vs):  # noqa: ANN001, ANN202
        nonlocal calls
        calls += 1
        return real(self, labels, vs)

    monkeypatch.setattr(promsim.Evaluator, "_matches", counting)
    series = [
        promsim.Series({"__name__": "x_total", "code": c}, promsim.parse_values("0+1x30"))
        for c in ("200", "500")
    ]
    ev = promsim.Evaluator(promsim.World(series, 60_000))
    results = [ev.vector('sum(increase(x_total{code="500"}[5m])) > 1', t * 60_000) for t in range(6, 20)]
    assert all(r and r[0].value == pytest.approx(5.0) for r in results)
    assert calls == 2  # the two series, once


def test_each_node_is_compiled_once(monkeypatch):
    """The evaluator turns a parsed expression into Python functions once, then reuses them at every time and in
    every world; before, each evaluation walked the parser's tree through its bindings again."""
    compiled = 0
    real = promsim._compile

    def counting(node):  # noqa: ANN001, ANN202
        nonlocal compiled
        compiled += 1
        return real(node)

    monkeypatch.setattr(promsim, "_compile", counting)
    promsim._STATIC.clear()
    expr = 'sum by (code) (rate(y_total{code=~"5.."}[5m])) / clamp_min(sum by (code) (rate(y_total[5m])), 1) > 0.1'
    first = None
    for step in (10, 20):  # two worlds
        series = [
            promsim.Series({"__name__": "y_total", "code": c}, promsim.parse_values(f"0+{step}x30"))
            for c in ("200", "500")
        ]
        ev = promsim.Evaluator(promsim.World(series, 60_000))
        for t in range(6, 20):
            assert [s.labels for s in ev.vector(expr, t * 60_000)] == [{"code": "500"}]
            first = compiled if first is None else first
    assert first == 9  # each node of the tree (children with their parent) on the first evaluation
    assert compiled == first  # and never again


def test_values_notation_is_read_once_per_text():
    """The search builds the same inputs (`0+1x15`) for many candidates: the notation is read once, and each
    caller still gets a list of its own."""
    promsim._parse_values.cache_clear()
    first, second = promsim.parse_values("0+0.1x15"), promsim.parse_values("0+0.1x15")
    assert first == second and first is not second
    first.append(1.0)
    assert promsim.parse_values("0+0.1x15") == second
    assert promsim._parse_values.cache_info().misses == 1


def test_regex_examples_are_worked_out_once_per_pattern(monkeypatch):
    """Every alert that reads `route=~"5.."` asked for an example again (a quarter of the selector work)."""
    from obsctl.testgen import regex_examples

    calls = 0
    real = regex_examples.examples

    def counting(pattern: str, limit: int = 12) -> list[str]:
        nonlocal calls
        calls += 1
        return real(pattern, limit)

    monkeypatch.setattr(regex_examples, "examples", counting)
    if hasattr(regex_examples.example, "cache_clear"):
        regex_examples.example.cache_clear()
    assert [regex_examples.example("5..") for _ in range(3)] == ["500"] * 3
    assert calls == 1


def test_a_firing_scenario_stops_evaluating_at_its_check(scale_spec, monkeypatch):
    """The "fires" scenario reads its timeline up to the check's time, not to the horizon: before, every alert's
    scenario evaluated each step to `window + for + 4 intervals` (15 steps here) and used 8 of them."""
    from obsctl.backends.prometheus import groups
    from obsctl.testgen import alerts

    plan = _plan(scale_spec)
    rule_groups = groups(plan)
    steps: list[int] = []
    real = alerts._steps

    def counting(*args):  # noqa: ANN002, ANN202
        for t, firing in real(*args):
            steps.append(t)
            yield t, firing

    monkeypatch.setattr(alerts, "_steps", counting)
    monkeypatch.setenv("OBSCTL_JOBS", "1")
    tests, _ = alerts.generate(plan, rule_groups)
    fires = [g for g in tests if "fires" in g.name]
    assert len(fires) == 30
    last_check = max(c.eval_time for g in fires for c in g.checks)
    horizon = 14 * 60_000  # 5m window + 5m for + 4 one-minute intervals
    assert last_check < horizon
    # 30 quiet scenarios read all 15 steps; the firing ones stop at their check
    assert len(steps) <= 30 * 15 + 30 * (last_check // 60_000 + 1)
