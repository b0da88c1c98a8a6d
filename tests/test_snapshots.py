"""Snapshots pin what obsctl decided for every example: the plan (each alert's ruler, severity, `for`, labels,
annotations and receivers; each SLO's records, windows and alerts; derived records; the route cases), one small
JSON file per example and environment under tests/__snapshots__/test_snapshots/. The output files themselves are
pinned once, by the committed examples/*/build (tests/examples/test_examples.py and `examples/build-all.sh
--check`). A snapshot changes only on purpose: run `pytest tests/test_snapshots.py --snapshot-update` and say why
in the commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from obsctl.pipeline import check
from obsctl.plan import Plan, build_plan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("examples/*/obsctl.yaml"))


def _builds() -> list[tuple[Path, str | None]]:
    out = []
    for spec in EXAMPLES:
        envs = [c.env for c in check(spec, every_env=True).checked]
        out += [(spec, env) for env in (envs if len(envs) == 1 else envs[1:])]
    return out


BUILDS = _builds()


def summary(plan: Plan) -> dict:
    """The plan's decisions as plain data (no syntax trees: the compiled output pins those)."""
    return {
        "alerts": {
            name: {
                "enabled": a.enabled,
                "ruler": a.ruler,
                "severity": a.severity,
                "for": a.for_,
                "keep_firing_for": a.keep_firing_for,
                "probe": a.probe,
                "guarded": a.guard is not None,
                "labels": a.labels,
                "annotations": a.annotations,
                "receivers": a.receivers,
            }
            for name, a in plan.alerts.items()
        },
        "derived": {name: d.record for name, d in plan.derived.items()},
        "slos": {
            name: {
                "alert_name": s.alert_name,
                "windows": s.windows,
                "period": s.period,
                "record_labels": s.record_labels,
                "uses_events": s.uses_events,
                "alerts": [
                    {
                        "tier": a.tier.name,
                        "factor": a.tier.factor,
                        "long": a.tier.long,
                        "short": a.tier.short,
                        "for": a.tier.for_,
                        "severity": a.severity,
                        "labels": a.labels,
                    }
                    for a in s.alerts
                ],
            }
            for name, s in plan.slos.items()
        },
        "route_cases": [
            {"labels": c.labels, "receivers": c.receivers, "why": c.why} for c in plan.route_cases()
        ],
    }


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize(
    "spec,env", BUILDS, ids=[f"{s.parent.name}{'-' + e if e else ''}" for s, e in BUILDS]
)
def test_example_plan(spec, env, snapshot_json):
    result = check(spec, env)
    assert result.ok, [d.message for d in result.diagnostics if d.level == "error"]
    c = result.checked[0]
    plan = build_plan(c.spec, c.analysis, c.smap, spec, env)
    assert plan.alerts
    assert summary(plan) == snapshot_json


def test_every_example_is_covered():
    assert len(EXAMPLES) >= 5, [p.parent.name for p in EXAMPLES]
