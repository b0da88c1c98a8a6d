"""`metrics.<m>.selector` replaces sources.metrics.selector for one metric's own series (the relay-ai design: the GitHub
Actions, Vercel and Supabase exporters carry no environment label) in PromQL, SLO rules and Datadog; recordings
still carry the source selector, and queries on them still select it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from obsctl.pipeline import check

SPEC = """\
service: relay
runbook: https://runbooks.example.org/relay
sources:
  metrics:
    selector: {environment: prod}
metrics:
  http_requests_total: {kind: counter, labels: [code]}
  github_workflow_status: {kind: counter, labels: [workflow, status], selector: {}}
  web_duration_seconds: {kind: histogram, buckets: [0.1, 0.5, 1], selector: {job: web}}
derived:
  deploy_failure_ratio: sum(rate(github_workflow_status{status="failure"})) / sum(rate(github_workflow_status))
  web_p95: quantile(0.95, web_duration_seconds)
alerts:
  DeployFailures: {severity: page, when: deploy_failure_ratio > 0.5}
  WebSlow:
    severity: page
    when: web_p95 > 1
    datadog: {query: "avg(last_5m):p95:web.duration.seconds{job:web} > 1"}
  Errors: {severity: page, when: 'sum(rate(http_requests_total{code="500"})) > 1'}
slos:
  deploys:
    objective: 95
    sli: {good: 'github_workflow_status{status="success"}', total: github_workflow_status}
    alerting: {page_severity: page, ticket_severity: page}
  web-latency:
    objective: 99
    sli: {latency: {metric: web_duration_seconds, threshold: 0.5}}
    alerting: {page_severity: page, ticket_severity: page}
routing:
  receivers: {oncall: {webhook: {url: "http://127.0.0.1:9/x"}}}
  severities: {page: [oncall]}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "obsctl.yaml"
    path.write_text(SPEC)
    return path


def _rules(text: str) -> dict[str, dict]:
    return {r.get("record") or r["alert"]: r for g in yaml.safe_load(text)["groups"] for r in g["rules"]}


def test_promql_selects_each_metric_by_its_own_selector(build, spec):
    rules = _rules(build(spec, ["prometheus"])["prometheus/relay.rules.yml"])
    # no environment on the exporter's series; a job instead of it on the web histogram's buckets
    assert rules["service:deploy_failure_ratio:ratio_rate5m"]["expr"] == (
        'sum(rate(github_workflow_status{status="failure"}[5m])) / sum(rate(github_workflow_status[5m]))'
    )
    assert rules["service:web_p95:quantile"]["expr"] == (
        'histogram_quantile(0.95, sum by (le) (rate(web_duration_seconds_bucket{job="web"}[5m])))'
    )
    assert rules["Errors"]["expr"] == 'sum(rate(http_requests_total{environment="prod", code="500"}[5m])) > 1'
    # recordings still carry the source selector, and alerts on them select it
    assert rules["service:deploy_failure_ratio:ratio_rate5m"]["labels"] == {"environment": "prod"}
    assert (
        rules["DeployFailures"]["expr"]
        == 'service:deploy_failure_ratio:ratio_rate5m{environment="prod"} > 0.5'
    )


def test_slo_rules_count_each_metric_by_its_own_selector(build, spec):
    text = build(spec, ["prometheus"])["prometheus/relay.slo.rules.yml"]
    assert (
        'github_workflow_status{status="success"}' in text and "sum(rate(github_workflow_status[5m]))" in text
    )
    assert 'web_duration_seconds_bucket{job="web", le="0.5"}' in text
    assert 'web_duration_seconds_count{job="web"}' in text
    assert "github_workflow_status{environment" not in text and 'environment="prod", le=' not in text


def test_generated_tests_pass_with_own_selectors(build, spec, tmp_path, require_tool):
    from obsctl.verify.promtool import test_rules

    require_tool("promtool")
    files = build(spec, ["prometheus"])
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    for path in ("prometheus/relay.tests.yml", "prometheus/relay.slo.tests.yml"):
        ok, output = test_rules(tmp_path / path)
        assert ok, output


def test_datadog_tags_follow_the_metric_selector(build, spec):
    files = build(spec, ["datadog"])
    monitors = {
        json.loads(t)["name"].split()[-1]: json.loads(t) for p, t in files.items() if "/monitors/" in p
    }
    slos = {p: json.loads(t)["query"] for p, t in files.items() if "/slos/" in p}
    assert "github.workflow.status{status:failure}" in monitors["DeployFailures"]["query"]
    assert "environment" not in monitors["DeployFailures"]["query"]
    assert "http.requests.total{environment:prod,code:500}" in monitors["Errors"]["query"]
    assert slos["datadog/slos/relay.deploys.json"] == {
        "numerator": "sum:github.workflow.status{status:success}.as_count()",
        "denominator": "sum:github.workflow.status{*}.as_count()",
    }
    assert (
        slos["datadog/slos/relay.web-latency.json"]["numerator"]
        == "sum:web.duration.seconds.bucket{job:web,upper_bound:0.5}.as_count()"
    )


def test_own_selector_wins_over_the_datadog_selector(build, spec):
    spec.write_text(SPEC + "targets: {datadog: {selector: {env: prod}}}\n")
    files = build(spec, ["datadog"])
    queries = "\n".join(json.loads(t).get("query", "") for p, t in files.items() if "/monitors/" in p)
    assert "http.requests.total{env:prod,code:500}" in queries
    assert "github.workflow.status{status:failure}" in queries


def test_own_selector_labels_are_known_labels(spec):
    """OBS215 (a label the metric does not declare) knows the metric's own selector, not the source's."""
    when = "'sum(rate(http_requests_total{code=\"500\"})) > 1'"
    spec.write_text(
        SPEC.replace("selector: {}", "selector: {job: github}").replace(
            when, "'rate(github_workflow_status{job=\"github\"}) > 1'"
        )
    )
    assert check(spec).ok and not [d for d in check(spec).diagnostics if d.code == "OBS215"]
    spec.write_text(SPEC.replace(when, "'rate(github_workflow_status{environment=\"prod\"}) > 1'"))
    assert [d.field for d in check(spec).diagnostics if d.code == "OBS215"] == ["alerts.Errors.when"]
