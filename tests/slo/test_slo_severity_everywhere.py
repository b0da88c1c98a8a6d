"""An SLO tier's severity is decided once (the plan: the spec's, else critical / warning) and every target uses it:
the Prometheus rule, the route cases `obsctl test` proves, and the Datadog monitor's tags."""

from __future__ import annotations

import json

import yaml

from obsctl.build import render
from obsctl.pipeline import check
from obsctl.plan.routing import route_cases


def test_a_tier_without_a_spec_severity_is_routed_and_tagged_as_its_rule_says(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("""service: checkout
sources: {metrics: {type: prometheus, selector: {job: checkout}}}
metrics:
  db_queries_total: {kind: counter}
  db_errors_total: {kind: counter}
slos:
  database:
    objective: 99.95
    sli: {bad: db_errors_total, total: db_queries_total}
    alerting: {page_severity: P1}
routing:
  receivers: {pager: {webhook: {url: "https://hooks.example.org/pager"}}}
  severities: {P1: [pager]}
""")
    artifacts, diags, _ = render(spec, ["prometheus", "datadog"], None)
    assert not [d for d in diags if d.level == "error"], [d.message for d in diags]
    files = {a.path: a.text for a in artifacts}
    rules = yaml.safe_load(next(t for p, t in files.items() if p.endswith(".slo.rules.yml")))
    ticket = {
        r["labels"]["severity"]
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("alert") and r["labels"].get("action") == "ticket"
    }
    assert ticket == {"warning"}
    cases = route_cases(check(spec).checked[0].spec)
    assert any(c.labels.get("action") == "ticket" and c.labels["severity"] == "warning" for c in cases)
    monitors = [json.loads(t) for p, t in files.items() if p.startswith("datadog/monitors/") and "slo-" in p]
    tags = {tag for m in monitors for tag in m["tags"] if tag.startswith("severity:")}
    assert "severity:warning" in tags and "severity:" not in tags
