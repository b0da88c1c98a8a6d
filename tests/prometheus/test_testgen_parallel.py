"""Test generation spread over forked workers writes the very tests file that one process writes: for every
example, for a generated spec, and when several rules share an alert name (their check times depend on each
other, so they must be generated together and in order)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_testgen_cost import _plan, scale

from obsctl import workers
from obsctl.testgen import alerts

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p / "obsctl.yaml" for p in (ROOT / "examples").iterdir() if (p / "obsctl.yaml").is_file())


def _generated(plan, rule_groups, monkeypatch, jobs: str):  # noqa: ANN001, ANN202
    monkeypatch.setenv("OBSCTL_JOBS", jobs)
    monkeypatch.setattr(alerts, "PARALLEL_FROM_ALERTS", 2)
    if jobs != "1":
        names = {r.alert for g in rule_groups for r in g.rules if r.alert}
        if len(names) < 2:
            pytest.skip("fewer than two Prometheus alerts: nothing to spread over workers")
        assert workers.workers_for(len(names), 2) > 1, "the workers would not start"
    return alerts.generate(plan, rule_groups)


def _spec(tmp_path: Path) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(scale.spec(30), sort_keys=False))
    return spec


@pytest.mark.parametrize("spec", [*EXAMPLES, "generated"], ids=lambda p: getattr(p, "parent", Path(p)).name)
def test_workers_write_what_one_process_writes(spec, tmp_path, monkeypatch):
    from obsctl.backends.prometheus import groups

    plan = _plan(_spec(tmp_path) if spec == "generated" else spec)
    rule_groups = groups(plan)
    serial = _generated(plan, rule_groups, monkeypatch, "1")
    assert serial[0], "no test was generated: the comparison would prove nothing"
    assert _generated(plan, rule_groups, monkeypatch, "2") == serial


def test_rules_sharing_a_name_stay_in_order(tmp_path, monkeypatch):
    from obsctl.backends.prometheus import groups

    plan = _plan(_spec(tmp_path))
    rule_groups = groups(plan)
    twice = rule_groups + rule_groups  # every alert name twice: the second takes the times after the first's
    serial = _generated(plan, twice, monkeypatch, "1")
    times = [c.eval_time for g in serial[0] if g.name.startswith("Alert0:") for c in g.checks]
    assert len(times) == len(set(times)) > 2, "the repeated rules' checks should take distinct times"
    assert _generated(plan, twice, monkeypatch, "2") == serial
