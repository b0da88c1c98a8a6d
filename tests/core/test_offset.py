"""`x offset 1d`: the value a while ago, parsed with its position, compiled to PromQL and LogQL (checked by
promtool and the LogQL parser), proven on promtool's clock, and refused by Datadog with the construct named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from obsctl.expr import ast
from obsctl.expr.parser import ExprSyntaxError, parse

REPO = Path(__file__).resolve().parents[2]

SPEC = """
service: shop
team: platform
runbook: https://runbooks.example.org/shop
sources:
  metrics: {type: prometheus, selector: {job: shop}}
  logs: {type: loki, format: json}
metrics:
  http_requests_total: {kind: counter, labels: [code]}
  queue_depth: {kind: gauge}
  latency_seconds: {kind: histogram, buckets: [0.1, 0.5, 1]}
events:
  boom: {message: boom, stream: {app: shop}}
derived:
  error_ratio: {expr: 'sum(rate(http_requests_total{code=~"5.."})) / sum(rate(http_requests_total))'}
  server_errors: {expr: 'delta(http_requests_total{code="500"})'}
alerts:
  QueueGrew: {severity: page, when: 'sum(queue_depth) - sum(queue_depth offset 1d) > 10'}
  ErrorsDoubled: {severity: page, when: 'error_ratio > 2 * error_ratio offset 1w'}
  Shifted: {severity: page, when: 'sum(rate(http_requests_total offset 1h)) > 1 and quantile(0.9, latency_seconds offset 1d) > 0.5'}
  BoomsAnHourAgo: {severity: page, when: 'count(boom offset 1h, 5m) > 3'}
  ErrorsYesterday: {severity: page, when: 'server_errors offset 1d > 5'}
routing:
  receivers:
    oncall: {pagerduty: {routing_key_file: /k}, datadog: "@pagerduty-shop"}
  severities:
    page: {receivers: [oncall], pagerduty: critical, datadog: 1}
"""


def _spec(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "obsctl.yaml"
    path.write_text(text)
    return path


def _line(fragment: str) -> int:
    """The spec line (1-based) holding `fragment`."""
    return next(i for i, line in enumerate(SPEC.splitlines(), 1) if fragment in line)


def _exprs(rules: str) -> dict[str, str]:
    import yaml

    return {
        r.get("alert") or r["record"]: r["expr"] for g in yaml.safe_load(rules)["groups"] for r in g["rules"]
    }


def test_offset_parses_after_the_selector_and_its_range():
    node = parse('x{a="b"}[5m] offset 1h')
    assert (node.name, node.window, node.offset) == ("x", "5m", "1h")
    assert parse("rate(x offset 1w)").args[0].offset == "1w"
    diff = parse("a - a offset 24h")
    assert isinstance(diff, ast.BinOp) and diff.left.offset is None and diff.right.offset == "24h"
    # `offset` is a keyword only after a selector: metrics may still be named offset_seconds
    assert parse("rate(x) / offset_seconds").right.name == "offset_seconds"


@pytest.mark.parametrize("text, column", [("x offset", 9), ("x offset 5", 10), ("x offset 1d offset 1h", 13)])
def test_offset_without_a_duration_is_a_syntax_error_at_its_column(text, column):
    with pytest.raises(ExprSyntaxError) as e:
        parse(text)
    assert e.value.column == column


def test_a_bad_offset_duration_fails_validate_at_its_position(tmp_path):
    spec = _spec(tmp_path, SPEC.replace("queue_depth offset 1d", "queue_depth offset 1x"))
    proc = subprocess.run(
        [sys.executable, "-m", "obsctl.cli", "validate", str(spec)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert f"obsctl.yaml:{_line('QueueGrew')}:" in proc.stderr and "OBS20" in proc.stderr, proc.stderr


def test_promql_puts_the_offset_after_each_selector_and_promtool_accepts_it(tmp_path, build, promtool):
    out = build(_spec(tmp_path), ["prometheus"])
    exprs = _exprs(out["prometheus/shop.rules.yml"])
    assert exprs["QueueGrew"] == 'sum(queue_depth{job="shop"}) - sum(queue_depth{job="shop"} offset 1d) > 10'
    # a recorded derived metric is shifted as a whole
    assert exprs["ErrorsDoubled"] == (
        'service:error_ratio:ratio_rate5m{job="shop"} > '
        '2 * service:error_ratio:ratio_rate5m{job="shop"} offset 1w'
    )
    assert exprs["Shifted"] == (
        'sum(rate(http_requests_total{job="shop"}[5m] offset 1h)) > 1 and histogram_quantile('
        '0.9, sum by (le) (rate(latency_seconds_bucket{job="shop"}[5m] offset 1d))) > 0.5'
    )
    rules = tmp_path / "rules.yml"
    rules.write_text(out["prometheus/shop.rules.yml"])
    subprocess.run([promtool, "check", "rules", str(rules)], check=True, capture_output=True)


def test_an_inline_derived_metric_shifts_every_selector_inside_it(tmp_path, build):
    spec = _spec(
        tmp_path,
        SPEC.replace("service: shop\n", "service: shop\ntargets:\n  prometheus: {recording_rules: false}\n"),
    )
    exprs = _exprs(build(spec, ["prometheus"])["prometheus/shop.rules.yml"])
    assert exprs["ErrorsDoubled"] == (
        '(sum(rate(http_requests_total{job="shop", code=~"5.."}[5m])) / sum(rate(http_requests_total{job="shop"}[5m])))'
        ' > 2 * (sum(rate(http_requests_total{job="shop", code=~"5.."}[5m] offset 1w)) / '
        'sum(rate(http_requests_total{job="shop"}[5m] offset 1w)))'
    )


def test_logql_puts_the_offset_after_the_range(tmp_path, build, require_tool):
    require_tool("logql-check")
    exprs = _exprs(build(_spec(tmp_path), ["loki"])["loki/shop.rules.yml"])
    assert (
        exprs["BoomsAnHourAgo"]
        == '(sum(count_over_time({app="shop"} |= "boom" | json | msg="boom" [5m] offset 1h)) or vector(0)) > 3'
    )


def test_datadog_refuses_an_offset_naming_it(tmp_path):
    from obsctl.build import render

    _, diags, _ = render(_spec(tmp_path), ["datadog"], None, None, {})
    refused = {d.message.split("'")[1]: d for d in diags if d.code == "OBS701"}
    # a metric, a log count (log monitor) and a derived metric (the count form) all say so instead of dropping it
    for alert in ("QueueGrew", "BoomsAnHourAgo", "ErrorsYesterday"):
        assert alert in refused and " offset 1" in refused[alert].message, (alert, sorted(refused))
    assert "change()" in refused["QueueGrew"].message
    assert refused["QueueGrew"].location.line == _line("QueueGrew")


@pytest.mark.parametrize(
    "where, text, code",
    [
        ("slo", "      bad: 'http_requests_total{code=\"500\"} offset 1d'\n", "OBS403"),
        ("panel", "      - {title: Booms, type: logs, expr: boom offset 1h}\n", "OBS503"),
    ],
)
def test_an_offset_where_it_means_nothing_is_a_validate_error(tmp_path, where, text, code):
    extra = {
        "slo": "slos:\n  availability:\n    objective: 99.9\n    sli:\n"
        + text
        + "      total: http_requests_total\n",
        "panel": "dashboards:\n  main:\n    title: Main\n    panels:\n" + text,
    }[where]
    spec = _spec(tmp_path, SPEC + extra)
    proc = subprocess.run(
        [sys.executable, "-m", "obsctl.cli", "validate", str(spec)], capture_output=True, text=True
    )
    assert proc.returncode == 1 and code in proc.stderr, proc.stderr


def test_promtool_evaluates_the_offset_as_a_day_ago(tmp_path, promtool, amtool):
    """The spec's own test on promtool's clock: the queue grows by 20 overnight, the alert fires only once a whole
    day of history shows it."""
    spec = _spec(
        tmp_path,
        SPEC
        + """
tests:
  - name: the queue grew by 20 on yesterday
    interval: 1h
    series:
      'queue_depth{job="shop"}': '5x23 25x30'
    expect:
      - {at: 12h, quiet: [QueueGrew]}
      - {at: 30h, firing: [QueueGrew]}
""",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "obsctl.cli", "test", str(spec)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "the queue grew by 20 on yesterday" in proc.stdout and " 0 failed" in proc.stdout, proc.stdout
