"""Regex values in routing: `routes[].match` and `inhibit[].source/target` take {regex: ..., example: ...} besides a
value or a list (the relay-ai design: `target_match_re: {alertname: 'HighErrorRate|HighLatency'}`) -> `name=~"..."`, anchored
by Alertmanager. amtool routes the generated cases exactly as the spec reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from amhelpers import context, write_config

from obsctl.backends.alertmanager import matcher
from obsctl.model import RegexMatch
from obsctl.pipeline import check
from obsctl.plan.routing import expected_receivers, route_cases, untested_route
from obsctl.verify.amtool import routes_test, verify_route

SPEC = """\
service: web
runbook: https://runbooks.example.org/web
metrics:
  latency_seconds: {kind: gauge}
  errors_total: {kind: counter}
alerts:
  HighLatencyP95: {severity: high, when: latency_seconds > 0.2}
  HighLatencyP99: {severity: high, when: latency_seconds > 1}
  HighErrorRate: {severity: high, when: rate(errors_total) > 1}
routing:
  receivers:
    oncall: {webhook: {url: "http://127.0.0.1:9/oncall"}, datadog: "@oncall"}
    perf: {webhook: {url: "http://127.0.0.1:9/perf"}, datadog: "@perf"}
  severities:
    high: [oncall]
  routes:
    - match: {alertname: {regex: "HighLatency.*", example: HighLatencyP50}}
      receivers: [perf]
  inhibit:
    - source: {alertname: Deployment}
      target: {alertname: {regex: "HighErrorRate|HighLatency.*"}}
      equal: [service]
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "obsctl.yaml"
    path.write_text(SPEC)
    return path


def test_matcher_writes_the_regex_as_given():
    assert matcher("alertname", RegexMatch(regex="HighLatency.*")) == 'alertname=~"HighLatency.*"'
    assert matcher("path", RegexMatch(regex='/api/"v1"\\..*')) == 'path=~"/api/\\"v1\\"\\\\..*"'
    assert matcher("alertname", ["a.b", "c"]) == 'alertname=~"a\\\\.b|c"'  # lists stay literal


def test_route_and_inhibit_matchers(spec, tmp_path, amtool):
    config, data = write_config(spec, tmp_path)
    service = data["route"]["routes"][0]
    assert service["routes"][0]["matchers"] == ['alertname=~"HighLatency.*"']
    assert data["inhibit_rules"][0]["target_matchers"] == ['alertname=~"HighErrorRate|HighLatency.*"']
    # anchored: the regex reaches HighLatencyP95 but not a name that only contains it
    base = {"service": "web", "severity": "high"}
    assert routes_test(config, {**base, "alertname": "HighLatencyP95"}) == ["perf"]
    assert routes_test(config, {**base, "alertname": "NotHighLatency"}) == ["oncall"]


def test_route_cases_use_the_example_and_amtool_agrees(spec, tmp_path, amtool):
    config, _ = write_config(spec, tmp_path)
    cases = route_cases(context(spec).spec)
    by_why = {c.why: c for c in cases}
    assert by_why["routing.routes[0] (alertname=HighLatencyP50)"].receivers == ["perf"]
    assert by_why["alert HighLatencyP99 (severity high)"].receivers == ["perf"]
    assert by_why["alert HighErrorRate (severity high)"].receivers == ["oncall"]
    assert [f"{c.why}: {p}" for c in cases if (p := verify_route(config, c.labels, c.receivers))] == []


def test_a_regex_without_example_gets_no_route_case_but_a_note(spec, tmp_path, monkeypatch):
    spec.write_text(SPEC.replace(", example: HighLatencyP50", ""))
    ctx = context(spec)
    assert not [c for c in route_cases(ctx.spec) if c.why.startswith("routing.routes[0]")]
    assert "regex without an example" in untested_route(ctx.spec.routing.routes[0])
    # alerts whose names match it are still routed through it
    assert expected_receivers(ctx.spec, {"service": "web", "severity": "high", "alertname": "HighLatencyP95"}) == \
        ["perf"]


def test_obsctl_test_reports_the_untested_route(spec, require_tool, capsys):
    from obsctl.testing import run_tests

    require_tool("promtool")
    require_tool("amtool")
    spec.write_text(SPEC.replace(", example: HighLatencyP50", ""))
    assert run_tests(spec, None, None) == 0
    out = capsys.readouterr().out
    assert "NOT GENERATED routing.routes[0]  its own route case" in out
    assert "alertname matches a regex without an example" in out


def test_datadog_handles_follow_regex_routes(build, spec):
    files = build(spec, ["datadog"])
    messages = {json.loads(t)["name"].split()[-1]: json.loads(t)["message"] for p, t in files.items()
                if p.startswith("datadog/monitors/")}
    assert "Notify: @perf" in messages["HighLatencyP95"]
    assert "Notify: @oncall" in messages["HighErrorRate"]


@pytest.mark.parametrize("value,code,field", [
    ('{regex: "HighLatency(.*"}', "OBS205", "routing.routes.0.match.alertname.regex"),
    ('{regex: "(?!Low).*"}', "OBS205", "routing.routes.0.match.alertname.regex"),
    ('{regex: "HighLatency.*", example: XHighLatency}', "OBS324", "routing.routes.0.match.alertname.example"),
    ('{regex: ""}', "OBS100", "routing.routes.0.match.alertname.regex"),
])
def test_bad_regexes_are_spec_errors(spec, value, code, field):
    spec.write_text(SPEC.replace('{regex: "HighLatency.*", example: HighLatencyP50}', value))
    errors = [(d.code, d.field) for d in check(spec).diagnostics if d.level == "error"]
    assert (code, field) in errors, errors


def test_inhibit_regex_is_checked_and_severity_regex_warns_when_it_matches_none(spec):
    spec.write_text(SPEC.replace('{regex: "HighErrorRate|HighLatency.*"}', '{regex: "High[Error"}'))
    assert [d.field for d in check(spec).diagnostics if d.code == "OBS205"] == \
        ["routing.inhibit.0.target.alertname.regex"]
    spec.write_text(SPEC.replace("target: {alertname:", "target: {severity: {regex: 'crit.*'}, alertname:"))
    assert [d.field for d in check(spec).diagnostics if d.code == "OBS315"] == \
        ["routing.inhibit.0.target.severity.regex"]
