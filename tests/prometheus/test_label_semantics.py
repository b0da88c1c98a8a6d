"""Issue 10: the rules obsctl writes keep the labels their inputs carry, proven with promtool on series that carry
the catalog's labels with two values each (the shape real series have)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import yaml

from obsctl.verify.promtool import test_rules

GUARDED = textwrap.dedent("""\
    service: shop
    runbook: https://runbooks.example.org/shop
    sources:
      metrics: {selector: {job: shop}}
    metrics:
      errors_total: {kind: counter, labels: [provider, route]}
      requests_total: {kind: counter, labels: [provider, route]}
    alerts:
      RouteErrors:
        severity: page
        when: sum by (provider, route) (delta(errors_total)) / sum by (provider, route) (delta(requests_total)) > 0.1
        only_if: sum by (provider) (delta(requests_total)) >= 100
    routing:
      receivers:
        oncall: {pagerduty: {routing_key_file: /etc/am/pd}}
      severities:
        page: [oncall]
""")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_guard_by_a_subset_of_the_labels_guards_each_value(build, tmp_path, require_tool):
    """A guard by `provider` under a condition by (provider, route) joins `and on(provider)`: the plain `and` it got
    before never matched a sample (the guard's series lack `route`), so the alert could never fire."""
    require_tool("promtool")
    spec = _write(tmp_path, "obsctl.yaml", GUARDED)
    files = build(spec, ["prometheus"])
    rules = files["prometheus/shop.rules.yml"]
    (rule,) = [
        r for g in yaml.safe_load(rules)["groups"] for r in g["rules"] if r.get("alert") == "RouteErrors"
    ]
    assert ") and on(provider) (" in rule["expr"]
    _write(tmp_path, "prometheus/shop.rules.yml", rules)
    series = []
    for provider, volume in (("openai", 60), ("meshy", 1)):  # meshy's traffic is under the guard
        for route in ("/a", "/b"):
            labels = f'job="shop", provider="{provider}", route="{route}"'
            series += [
                {"series": f"requests_total{{{labels}}}", "values": f"0+{volume}x20"},
                {"series": f"errors_total{{{labels}}}", "values": f"0+{volume // 2}x20"},
            ]
    expected = [
        {
            "exp_labels": {"provider": "openai", "route": r, "service": "shop", "severity": "page"},
            "exp_annotations": {"runbook_url": "https://runbooks.example.org/shop", "summary": "RouteErrors"},
        }
        for r in ("/a", "/b")
    ]
    test = {
        "rule_files": ["shop.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [{"eval_time": "10m", "alertname": "RouteErrors", "exp_alerts": expected}],
            }
        ],
    }
    ok, output = test_rules(_write(tmp_path, "prometheus/t.yml", yaml.safe_dump(test, sort_keys=False)))
    assert ok, output


BY_ROUTE = textwrap.dedent("""\
    service: shop
    runbook: https://runbooks.example.org/shop
    sources:
      metrics: {selector: {job: shop}}
    metrics:
      errors_total: {kind: counter, labels: [provider, route]}
      requests_total: {kind: counter, labels: [provider, route]}
    derived:
      provider_errors:
        expr: sum(rate(errors_total))
        overrides: {promql: 'sum by (provider) (rate(errors_total{job="shop"}[5m]))'}
    alerts:
      RouteErrors:
        severity: page
        when: sum by (route) (rate(errors_total)) / sum by (route) (rate(requests_total)) > 0.1
      ProviderShare:
        severity: page
        when: provider_errors / sum(rate(requests_total)) > 0.1
""")


def _tests_doc(files: dict[str, str]) -> dict:
    return yaml.safe_load(files["prometheus/shop.tests.yml"])


def test_generated_series_carry_the_catalogs_labels_and_expect_one_alert_per_value(
    build, tmp_path, require_tool
):
    """Issue 10, item 7: every input series carries the labels the catalog declares, two values each, and the
    fires check expects the alert once per value of the label the condition keeps; promtool agrees."""
    require_tool("promtool")
    spec = _write(tmp_path, "obsctl.yaml", BY_ROUTE)
    files = build(spec, ["prometheus"])
    doc = _tests_doc(files)
    fires = next(t for t in doc["tests"] if t["name"] == "RouteErrors: fires above the threshold")
    series = [s["series"] for s in fires["input_series"]]
    assert 'errors_total{job="shop", provider="provider-1", route="route-1"}' in series
    assert 'requests_total{job="shop", provider="provider-2", route="route-2"}' in series
    alerts = fires["alert_rule_test"][-1]["exp_alerts"]
    assert sorted(a["exp_labels"]["route"] for a in alerts) == ["route-1", "route-2"]
    for path, text in files.items():
        _write(tmp_path, path, text)
    ok, output = test_rules(tmp_path / "prometheus/shop.tests.yml")
    assert ok, output


def test_a_rule_that_can_never_match_fails_its_own_tests(build, tmp_path, require_tool, capsys):
    """A condition whose sides share no label set (here behind a raw PromQL override validate cannot read) fails
    `obsctl test` instead of passing on series that lack the labels real ones carry."""
    require_tool("promtool")
    from obsctl.testgen.alerts import NEVER_FIRES, not_generated
    from obsctl.testing import run_tests

    spec = _write(tmp_path, "obsctl.yaml", BY_ROUTE)
    lines = not_generated(build(spec, ["prometheus"])["prometheus/shop.tests.yml"])
    assert [line for line in lines if NEVER_FIRES in line] == [
        "ProviderShare: fires above the threshold: can never fire: with every input series present, its condition "
        "matches no series (its sides share no label set)"
    ]
    assert run_tests(spec, None, None) == 1
    out = capsys.readouterr().out
    assert re.search(r"FAIL +ProviderShare +fires above the threshold\n +can never fire", out), out
    assert re.search(r"PASS +RouteErrors +fires above the threshold", out), out
