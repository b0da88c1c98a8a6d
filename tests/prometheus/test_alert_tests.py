"""Generated alert tests: the scenarios exist for common alert shapes, promtool passes them, what cannot be generated
is listed, and the expected annotations obsctl renders are what Prometheus renders."""

from __future__ import annotations

import json
import math
import re
import textwrap
from pathlib import Path

import pytest
import yaml

from obsctl.testgen.alerts import not_generated, read_not_generated
from obsctl.testgen.gotemplate import Unsupported, go_float, humanize, render
from obsctl.testgen.promsim import STALE, parse_values
from obsctl.verify.promtool import test_rules

SHAPES = textwrap.dedent("""\
    service: shapes
    runbook: https://runbooks.example.org/shapes
    sources:
      metrics: {selector: {job: shapes}}
      probes:
        home: {url: "https://shapes.example.org/", module: http_2xx}
    metrics:
      http_requests_total: {kind: counter, labels: [code, route]}
      queue_depth: {kind: gauge}
      temperature_celsius: {kind: gauge}
      request_duration_seconds: {kind: histogram, buckets: [0.1, 0.25, 0.5, 1, 2.5]}
    derived:
      error_ratio: sum(delta(http_requests_total{code=~"5.."})) / max(sum(delta(http_requests_total)), 1)
    alerts:
      ErrorRatio:
        severity: page
        when: error_ratio >= 0.1
        only_if: sum(delta(http_requests_total)) >= 50
        for: 5m
        summary: "{{ $value | humanizePercentage }} of requests fail"
      ErrorsByCode:
        severity: ticket
        when: sum by (code) (rate(http_requests_total{code=~"5.."})) > 1
        summary: "{{ $labels.code }} responses at {{ printf \\"%.2f\\" $value }}/s"
      QueueDeep:
        severity: ticket
        when: queue_depth > 100
        for: 2m
        summary: "queue depth {{ $value }}"
      QueueStalled: {severity: ticket, when: max(queue_depth) == 0, for: 1m}
      HotAverage:
        severity: ticket
        when: avg_over_time(temperature_celsius, 10m) >= 30.5
        summary: "{{ $value | humanize }}°C"
      SlowP99:
        severity: page
        when: quantile(0.99, request_duration_seconds) > 0.5
        for: 5m
        summary: "p99 is {{ $value | humanizeDuration }}"
      HomeDown: {severity: page, probe: home, for: 2m}
      Subquery:
        severity: ticket
        overrides: {promql: 'max_over_time(rate(http_requests_total[5m])[30m:1m]) > 1'}
    routing:
      receivers:
        hook: {webhook: {url: "http://127.0.0.1:9/hook"}}
      severities:
        page: [hook]
        ticket: [hook]
    """)


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    spec = tmp_path / "spec" / "obsctl.yaml"
    spec.parent.mkdir()
    spec.write_text(SHAPES)
    return spec


def _tests_doc(files: dict[str, str], service: str) -> dict:
    return yaml.safe_load(files[f"prometheus/{service}.tests.yml"])


def test_scenarios_for_common_shapes(build, shapes):
    files = build(shapes, ["prometheus"])
    doc = _tests_doc(files, "shapes")
    names = {t["name"] for t in doc["tests"]}
    for alert in ("ErrorRatio", "ErrorsByCode", "QueueDeep", "QueueStalled", "HotAverage", "SlowP99"):
        assert any(n.startswith(f"{alert}: fires above the threshold") for n in names), alert
        assert f"{alert}: quiet below the threshold" in names
    assert "ErrorRatio: quiet under the volume guard" in names
    assert "HomeDown: fires when the probe fails for longer than 2m" in names
    assert "HomeDown: quiet while the probe succeeds" in names
    assert doc["rule_files"] == ["shapes.rules.yml"]
    assert doc["group_eval_order"] == ["shapes.recording", "shapes.alerts"]
    assert all("interval" in t for t in doc["tests"])


def test_fires_scenario_checks_for_and_exact_labels(build, shapes):
    doc = _tests_doc(build(shapes, ["prometheus"]), "shapes")
    fires = next(
        t for t in doc["tests"] if t["name"] == "ErrorRatio: fires above the threshold for longer than 5m"
    )
    pending, firing = fires["alert_rule_test"]
    assert pending["exp_alerts"] == []  # one evaluation before `for` has elapsed
    (alert,) = firing["exp_alerts"]
    assert alert["exp_labels"] == {
        "job": "shapes",
        "service": "shapes",
        "severity": "page",
    }  # the record carries the selector
    assert alert["exp_annotations"]["runbook_url"] == "https://runbooks.example.org/shapes"
    assert re.fullmatch(r"\d+(\.\d+)?% of requests fail", alert["exp_annotations"]["summary"])
    by_code = next(t for t in doc["tests"] if t["name"] == "ErrorsByCode: fires above the threshold")
    alert = by_code["alert_rule_test"][-1]["exp_alerts"][0]
    assert alert["exp_labels"]["code"] == "500"  # the label the aggregation keeps
    # two routes (the catalog's label, two values) of 1.67/s each, summed by code
    assert alert["exp_annotations"]["summary"] == "500 responses at 3.33/s"
    probe = next(t for t in doc["tests"] if t["name"].startswith("HomeDown: fires"))
    assert probe["input_series"] == [
        {
            "series": 'probe_success{instance="https://shapes.example.org/", job="blackbox-http_2xx"}',
            "values": probe["input_series"][0]["values"],
        }
    ]
    assert probe["input_series"][0]["values"].startswith("0x")


def test_generated_tests_pass_in_promtool(build, shapes, tmp_path, require_tool):
    require_tool("promtool")
    files = build(shapes, ["prometheus"])
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    ok, output = test_rules(tmp_path / "prometheus/shapes.tests.yml")
    assert ok, output


def test_what_cannot_be_generated_is_listed(build, shapes):
    text = build(shapes, ["prometheus"])["prometheus/shapes.tests.yml"]
    listed = not_generated(text)
    assert listed == [
        "Subquery: fires above the threshold: obsctl's PromQL simulator does not handle subqueries",
        "Subquery: quiet below the threshold: obsctl's PromQL simulator does not handle subqueries",
    ]
    assert not any(t["name"].startswith("Subquery") for t in yaml.safe_load(text)["tests"])


def test_spec_tests_section_becomes_promtool_tests(build, shapes):
    shapes.write_text(
        SHAPES
        + textwrap.dedent("""\
        tests:
          - name: queue backs up
            series:
              'queue_depth{job="shapes"}': '0 50 150x20'
            expect:
              - {at: 2m, quiet: [QueueDeep]}
              - {at: 10m, firing: [QueueDeep]}
        """)
    )
    doc = _tests_doc(build(shapes, ["prometheus"]), "shapes")
    spec_test = doc["tests"][0]
    assert spec_test["name"] == "spec test: queue backs up"
    assert spec_test["input_series"] == [{"series": 'queue_depth{job="shapes"}', "values": "0 50 150x20"}]
    quiet, firing = spec_test["alert_rule_test"]
    assert quiet == {"eval_time": "2m", "alertname": "QueueDeep", "exp_alerts": []}
    # `queue_depth > 100` is per series, as in PromQL: the alert keeps the series' labels
    assert firing["exp_alerts"] == [
        {
            "exp_labels": {"job": "shapes", "service": "shapes", "severity": "ticket"},
            "exp_annotations": {
                "runbook_url": "https://runbooks.example.org/shapes",
                "summary": "queue depth 150",
            },
        }
    ]


def test_spec_tests_that_cannot_be_generated_stop_the_build(shapes):
    """An expectation the spec wrote is never dropped: the build fails (OBS602) naming each test, alert and reason."""
    from obsctl.build import render

    shapes.write_text(
        SHAPES
        + textwrap.dedent("""\
        tests:
          - name: 'typo: the letter O'
            series:
              'queue_depth{job="shapes"}': '0+10x2O'
            expect:
              - {at: 2m, quiet: [QueueDeep]}
              - {at: 10m, firing: [QueueDeep, QueueStalled]}
          - name: bad "series"
            series:
              'bad{{': '1x10'
            expect:
              - {at: 2m, quiet: [QueueDeep]}
        """)
    )
    artifacts, diags, _ = render(shapes, ["prometheus"], None)
    assert artifacts == []
    errors = [(d.code, d.field, d.message) for d in diags if d.level == "error"]
    assert errors == [
        (
            "OBS602",
            "tests.0.expect",
            "test 'typo: the letter O' expects QueueDeep, which cannot become a promtool "
            "test: cannot read series values '0+10x2O'",
        ),
        (
            "OBS602",
            "tests.0.expect",
            "test 'typo: the letter O' expects QueueStalled, which cannot become a promtool "
            "test: cannot read series values '0+10x2O'",
        ),
        (
            "OBS602",
            "tests.1.expect",
            "test 'bad \"series\"' expects QueueDeep, which cannot become a promtool test: "
            "cannot read series 'bad{{': unexpected left brace '{' inside braces",
        ),
    ]
    generated = read_not_generated("Subquery: quiet below the threshold: the simulator: no subqueries")
    assert generated == ("Subquery", None, "quiet below the threshold", "the simulator: no subqueries")


# -- the pieces ----------------------------------------------------------------------------------------------


def test_values_notation():
    assert parse_values("0+10x3") == [0, 10, 20, 30]
    assert parse_values("1x2 _ stale 5-1x2") == [1, 1, 1, None, STALE, 5, 4, 3]
    assert parse_values("_x2 1e3") == [None, None, 1000]
    vals = parse_values("0+0.1x3")
    assert vals[3] == 0.1 + 0.1 + 0.1  # accumulated like promtool, not 3 * 0.1


def test_go_float_formatting():
    cases = {
        0.1: "0.1",
        7.0: "7",
        1e6: "1e+06",
        123456.0: "123456",
        1234567.0: "1.234567e+06",
        1e-05: "1e-05",
        0.0001: "0.0001",
        -2.5: "-2.5",
        math.inf: "+Inf",
        math.nan: "NaN",
    }
    for v, want in cases.items():
        assert go_float(v) == want, v
    assert humanize(1234.5678) == "1.235k"
    assert humanize(0.0123) == "12.3m"


def test_templates_obsctl_cannot_prerender_are_refused():
    with pytest.raises(Unsupported):
        render("{{ if gt $value 1.0 }}high{{ end }}", 2.0, {})
    with pytest.raises(Unsupported):
        render('{{ with query "up" }}{{ . | first | value }}{{ end }}', 2.0, {})


def test_template_strings_unquote_like_go():
    assert render(r'{{ "café\t\u00e9\xc3\xa9" }}', 1.0, {}) == "café\téé"  # not mojibake
    for bad in (r'{{ "a\x" }}', r'{{ "\8" }}'):  # Go rejects these; so does obsctl, without a traceback
        with pytest.raises(Unsupported):
            render(bad, 1.0, {})


TEMPLATES = {
    "plain": "{{ $value }}",
    "humanize": "{{ $value | humanize }}",
    "percent": "{{ humanizePercentage $value }}",
    "duration": "{{ $value | humanizeDuration }}",
    "bytes": "{{ $value | humanize1024 }}",
    "printf": '{{ printf "%.2f" $value }} and {{ printf "%g" .Value }}',
    "labels": "{{ $labels.instance }} {{ .Labels.job }} [{{ $labels.missing }}] {{ $labels.instance | toUpper }}",
    "trim": "a  {{- $value -}}  b",
    "strings": r'{{ "café\t\u00e9\x41\101" }}',
}
VALUES = [0.1, 7, 1e6, 1234567, 1 / 3, 0.00001, 150000, 0.5, 3725.25, 86400 * 2 + 61, 2048, 0.0123, -4.5]


def test_rendered_annotations_match_prometheus(tmp_path, require_tool):
    """Each value is a series; promtool renders the templates, obsctl's expectations must match exactly."""
    require_tool("promtool")
    rules = {"groups": [{"name": "g", "rules": [{"alert": "Value", "expr": "v", "annotations": TEMPLATES}]}]}
    (tmp_path / "r.yml").write_text(yaml.safe_dump(rules))
    alerts, series = [], []
    for i, v in enumerate(VALUES):
        labels = {"instance": f"host-{i}:9100", "job": "node", "__name__": "v"}
        series.append({"series": f'v{{instance="host-{i}:9100", job="node"}}', "values": f"{v!r}x3"})
        alerts.append(
            {
                "exp_labels": {"instance": labels["instance"], "job": "node"},
                "exp_annotations": {k: render(t, float(v), labels) for k, t in TEMPLATES.items()},
            }
        )
    tests = {
        "rule_files": ["r.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [{"eval_time": "2m", "alertname": "Value", "exp_alerts": alerts}],
            }
        ],
    }
    (tmp_path / "t.yml").write_text(yaml.safe_dump(tests, allow_unicode=True))
    ok, output = test_rules(tmp_path / "t.yml")
    assert ok, output


def test_spec_test_with_keep_firing_for_passes_in_promtool(build, shapes, tmp_path, require_tool):
    shapes.write_text(
        SHAPES.replace(
            '    for: 2m\n    summary: "queue depth',
            '    for: 2m\n    keep_firing_for: 5m\n    summary: "queue depth',
        )
        + textwrap.dedent("""\
        tests:
          - name: queue drains but the alert holds on
            series:
              'queue_depth{job="shapes"}': '150x5 0x20'
            expect:
              - {at: 8m, firing: [QueueDeep]}
              - {at: 12m, quiet: [QueueDeep]}
        """)
    )
    files = build(shapes, ["prometheus"])
    spec_test = _tests_doc(files, "shapes")["tests"][0]
    firing = spec_test["alert_rule_test"][0]
    assert firing["exp_alerts"][0]["exp_annotations"]["summary"] == "queue depth 150"  # the last value it had
    require_tool("promtool")
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    ok, output = test_rules(tmp_path / "prometheus/shapes.tests.yml")
    assert ok, output


def test_spec_test_at_the_pending_check_time_keeps_the_generated_check_quiet(
    build, shapes, tmp_path, require_tool
):
    """A spec test checking QueueDeep at the time of the generated "quiet before `for`" check (1m) used to push that
    check to 2m, when the alert already fires, while still expecting quiet: `obsctl test` failed a correct spec.
    The check now moves earlier, where the alert is still pending."""
    from obsctl.durations import parse_duration

    def fires_checks(files: dict[str, str]) -> list[tuple[float, bool]]:
        group = next(
            t for t in _tests_doc(files, "shapes")["tests"] if t["name"].startswith("QueueDeep: fires")
        )
        return [(parse_duration(c["eval_time"]), bool(c["exp_alerts"])) for c in group["alert_rule_test"]]

    alone = fires_checks(build(shapes, ["prometheus"]))
    assert alone == [(60, False), (120, True)]  # pending at 1m, firing from 2m
    shapes.write_text(
        SHAPES
        + textwrap.dedent("""\
        tests:
          - name: a shallow queue is fine
            series:
              'queue_depth{job="shapes"}': '10x20'
            expect:
              - {at: 1m, quiet: [QueueDeep]}
        """)
    )
    files = build(shapes, ["prometheus"])
    quiet, firing = fires_checks(files)
    assert quiet == (0, False) and firing[1]
    require_tool("promtool")
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    ok, output = test_rules(tmp_path / "prometheus/shapes.tests.yml")
    assert ok, output


def test_spec_test_names_with_line_breaks_reach_the_error_exactly(shapes):
    """A spec test's name, U+2028, U+0085 and doubled spaces included, is named exactly when the test cannot run."""
    from obsctl.build import render

    name = "line\u2028sep  and\x85next\ttab"
    shapes.write_text(
        SHAPES
        + textwrap.dedent(f"""\
        tests:
          - name: {json.dumps(name)}
            series:
              'queue_depth{{job="shapes"}}': '0+10x2O'
            expect:
              - {{at: 2m, quiet: [QueueDeep]}}
        """)
    )
    _, diags, _ = render(shapes, ["prometheus"], None)
    [d] = [d for d in diags if d.code == "OBS602"]
    assert f"test '{name}' expects QueueDeep" in d.message


OFF_GRID = """\
service: grid
sources:
  metrics: {type: prometheus, selector: {job: g}}
metrics:
  req_total: {kind: counter, labels: [route]}
alerts:
  Busy:
    severity: warning
    when: rate(req_total[5m]) > 1
    summary: busy
targets:
  prometheus: {evaluation_interval: 2m}
routing:
  receivers: {team: {webhook: {url: "https://hooks.example.org/t"}}}
  severities: {warning: [team]}
"""
PAST_HORIZON = """\
tests:
  - name: quiet at idle
    interval: 1m
    series:
      'req_total{job="g", route="a"}': '0x30'
    expect:
      - {at: 7m, quiet: [Busy]}
      - {at: 9m, quiet: [Busy]}
      - {at: 11m, quiet: [Busy]}
      - {at: 13m, quiet: [Busy]}
"""


@pytest.mark.parametrize("extra", ["", PAST_HORIZON], ids=["window-off-grid", "past-the-horizon"])
def test_check_times_between_evaluation_steps(build, tmp_path, require_tool, extra):
    """A 5m window read every 2m puts the firing check at 7m, between two evaluation steps; spec tests that take
    the times after it push the check past the generated horizon. Both ended in a KeyError; the check now expects
    what the last step at or before it fired, as promtool does."""
    require_tool("promtool")
    spec = tmp_path / "spec.yaml"
    spec.write_text(OFF_GRID + extra)
    files = build(spec, ["prometheus"])
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    doc = yaml.safe_load(files["prometheus/grid.tests.yml"])
    fires = next(t for t in doc["tests"] if t["name"].startswith("Busy: fires"))
    firing = [c for c in fires["alert_rule_test"] if c["exp_alerts"]]
    assert firing, "the fires scenario has no firing check"
    ok, output = test_rules(tmp_path / "prometheus/grid.tests.yml")
    assert ok, output
