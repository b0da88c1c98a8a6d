"""Issue 10: the rules obsctl writes keep the labels their inputs carry, proven with promtool on series that carry
the catalog's labels with two values each (the shape real series have)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from obsctl.verify.promtool import test_rules

GUARDED = textwrap.dedent('''\
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
''')


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
    (rule,) = [r for g in yaml.safe_load(rules)["groups"] for r in g["rules"] if r.get("alert") == "RouteErrors"]
    assert ") and on(provider) (" in rule["expr"]
    _write(tmp_path, "prometheus/shop.rules.yml", rules)
    series = []
    for provider, volume in (("openai", 60), ("meshy", 1)):  # meshy's traffic is under the guard
        for route in ("/a", "/b"):
            labels = f'job="shop", provider="{provider}", route="{route}"'
            series += [{"series": f"requests_total{{{labels}}}", "values": f"0+{volume}x20"},
                       {"series": f"errors_total{{{labels}}}", "values": f"0+{volume // 2}x20"}]
    expected = [{"exp_labels": {"provider": "openai", "route": r, "service": "shop", "severity": "page"},
                 "exp_annotations": {"runbook_url": "https://runbooks.example.org/shop", "summary": "RouteErrors"}}
                for r in ("/a", "/b")]
    test = {"rule_files": ["shop.rules.yml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series,
                       "alert_rule_test": [{"eval_time": "10m", "alertname": "RouteErrors", "exp_alerts": expected}]}]}
    ok, output = test_rules(_write(tmp_path, "prometheus/t.yml", yaml.safe_dump(test, sort_keys=False)))
    assert ok, output
