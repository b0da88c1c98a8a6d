"""The Datadog compiler makes what alerts and panels repeat once (compiled derived metrics, tag filters, metric
names): the same payloads as compiling every time, and work that grows with the number of distinct inputs."""

from __future__ import annotations

import json
from textwrap import dedent

from ddhelpers import build_datadog

from obsctl.backends import datadog as backend
from obsctl.compile import datadog as compiler
from obsctl.plan import alerts as plan_alerts
from obsctl.plan import build_plan

# One derived metric read with and without a volume guard folding into it (Guarded, GuardedBoth: no memo there),
# in the count form (SlowNow) and the rolling form, with its own window (slow), nested (both), after leaves of
# the alert's own (Mixed: its leaves get other indexes than when compiled alone), twice in one expression, by
# alerts and by panels (named queries), with and without template variables, with widened regex notes.
SPEC = """
service: checkout
runbook: https://runbooks.example.org/checkout
sources:
  logs: {type: loki, format: json}
targets:
  datadog: {widen_regex: true}
metrics:
  errors_total: {kind: counter, labels: [code, route]}
  requests_total: {kind: counter, labels: [code, route]}
events:
  failed: {stream: {service: checkout}, message: payment failed}
derived:
  ratio: 'sum(delta(errors_total{code=~"5.."})) / max(sum(delta(requests_total)), 1)'
  slow:
    expr: 'sum(delta(errors_total{code=~"4.."})) / sum(delta(requests_total))'
    window: 15m
  both: ratio + slow
alerts:
  Ratio: {severity: critical, when: ratio > 0.05, for: 5m}
  RatioNow: {severity: warning, when: ratio > 0.01}
  SlowNow: {severity: warning, when: slow > 0.01}
  SlowTwice: {severity: critical, when: slow > 0.2}
  Guarded: {severity: critical, when: ratio > 0.1, for: 10m, only_if: sum(delta(requests_total)) >= 10}
  GuardedBoth: {severity: warning, when: both > 0.3, for: 5m, only_if: sum(delta(requests_total)) >= 20}
  Mixed: {severity: warning, when: 'sum(rate(requests_total[5m])) * 0 + ratio / both > 1', for: 5m}
  Band: {severity: warning, when: ratio > 0.01 and ratio <= 0.05, for: 15m}
dashboards:
  main:
    title: Checkout
    variables:
      - {name: route, query: 'label_values(requests_total, route)'}
    panels:
      - {title: Ratio, expr: ratio}
      - {title: Ratio now, type: stat, expr: ratio}
      - {title: Both, expr: both}
      - {title: Failures now, type: stat, expr: 'count(failed, 10m)'}
      - {title: By route, expr: 'sum(rate(requests_total{route=~"$route"}[5m])) + ratio'}
  plain:
    title: Plain
    panels:
      - {title: Ratio, expr: ratio}
      - {title: Slow and ratio, expr: 'slow / ratio'}
"""


def test_memo_changes_no_payload(write_spec, monkeypatch):
    """Every payload (queries, named dashboard queries, notes) is byte for byte what compiling each derived
    metric, tag filter and name again at every use gives."""
    spec = write_spec(dedent(SPEC))
    cached, errors = build_datadog(spec)
    assert not errors, [e.message for e in errors]

    init = compiler.Datadog.__init__

    def uncached(self, *args) -> None:
        init(self, *args)
        self.memo = None

    monkeypatch.setattr(compiler.Datadog, "__init__", uncached)
    fresh, errors = build_datadog(spec)
    assert not errors, [e.message for e in errors]
    assert cached == fresh
    # what the spec is there to reach: a folded guard, the count form, widened-regex notes, renumbered leaves
    monitor = {p.rsplit(".", 2)[1]: json.loads(t) for p, t in cached.items() if "/monitors/" in p}
    assert "cutoff_min(" in monitor["Guarded"]["query"] and "cutoff_min(" in monitor["GuardedBoth"]["query"]
    assert monitor["SlowNow"]["query"].startswith("sum(last_15m):")
    assert all(
        "is widened to code:5*" in monitor[n]["message"] for n in ("Ratio", "RatioNow", "Band", "Mixed")
    )
    assert "is widened to code:4*" in monitor["SlowTwice"]["message"]
    assert monitor["Mixed"]["query"].startswith("min(last_5m):moving_rollup(sum:requests.total{*}.as_rate()")


def test_each_derived_metric_compiles_once(write_spec, monkeypatch):
    """Alerts over one derived metric (other thresholds, severities) compile it once: the compiler's work does not
    grow with their number (it recompiled the whole derived expression for each alert)."""
    calls: list[str] = []
    real = compiler._Session._call

    def counted(self, node, *args):
        calls.append(node.func)
        return real(self, node, *args)

    monkeypatch.setattr(compiler._Session, "_call", counted)

    def compile_calls(n: int) -> int:
        alerts = "".join(
            f"  A{i}: {{severity: critical, when: ratio > 0.{i % 9 + 1}, for: 5m}}\n" for i in range(n)
        )
        spec = write_spec(dedent(SPEC).split("alerts:")[0] + "alerts:\n" + alerts)
        calls.clear()
        files, errors = build_datadog(spec)
        assert not errors and len([p for p in files if "/monitors/" in p]) == n
        return len(calls)

    assert compile_calls(40) == compile_calls(1) > 0


def test_the_build_reads_whether_an_alert_reads_log_events_from_the_plan(checked, monkeypatch, tmp_path):
    """The plan decides once per alert whether `when` reads a log event (it needs that for the ruler); the Datadog
    build walked each alert's expression again to ask the same."""
    text = dedent(SPEC).replace(
        "alerts:\n", "alerts:\n  Failing: {severity: critical, when: 'count(failed, 10m) > 5'}\n", 1
    )
    c = checked(text)
    plan = build_plan(c.spec, c.analysis, c.smap, tmp_path / "obsctl.yaml")
    assert plan.alerts["Failing"].reads_events and plan.alerts["Failing"].ruler == "loki"
    assert not plan.alerts["Ratio"].reads_events and plan.alerts["Ratio"].ruler == "prometheus"
    walks: list[object] = []
    real = plan_alerts.uses_events
    monkeypatch.setattr(plan_alerts, "uses_events", lambda *a: walks.append(a) or real(*a))
    b = backend._Builder(plan, dry=True)
    monitors = dict(b.monitors())
    assert not b.errors, [e.message for e in b.errors]
    assert monitors["checkout.Failing"]["type"] == "log alert"
    assert monitors["checkout.Ratio"]["type"] == "query alert"
    assert walks == []
