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
    assert expected_receivers(
        ctx.spec, {"service": "web", "severity": "high", "alertname": "HighLatencyP95"}
    ) == ["perf"]


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
    messages = {
        json.loads(t)["name"].split()[-1]: json.loads(t)["message"]
        for p, t in files.items()
        if p.startswith("datadog/monitors/")
    }
    assert "Notify: @perf" in messages["HighLatencyP95"]
    assert "Notify: @oncall" in messages["HighErrorRate"]


@pytest.mark.parametrize(
    "value,code,field",
    [
        ('{regex: "HighLatency(.*"}', "OBS205", "routing.routes.0.match.alertname.regex"),
        ('{regex: "(?!Low).*"}', "OBS205", "routing.routes.0.match.alertname.regex"),
        (
            '{regex: "HighLatency.*", example: XHighLatency}',
            "OBS324",
            "routing.routes.0.match.alertname.example",
        ),
        ('{regex: ""}', "OBS100", "routing.routes.0.match.alertname.regex"),
    ],
)
def test_bad_regexes_are_spec_errors(spec, value, code, field):
    spec.write_text(SPEC.replace('{regex: "HighLatency.*", example: HighLatencyP50}', value))
    errors = [(d.code, d.field) for d in check(spec).diagnostics if d.level == "error"]
    assert (code, field) in errors, errors


def test_inhibit_regex_is_checked_and_severity_regex_warns_when_it_matches_none(spec):
    spec.write_text(SPEC.replace('{regex: "HighErrorRate|HighLatency.*"}', '{regex: "High[Error"}'))
    assert [d.field for d in check(spec).diagnostics if d.code == "OBS205"] == [
        "routing.inhibit.0.target.alertname.regex"
    ]
    spec.write_text(SPEC.replace("target: {alertname:", "target: {severity: {regex: 'crit.*'}, alertname:"))
    assert [d.field for d in check(spec).diagnostics if d.code == "OBS315"] == [
        "routing.inhibit.0.target.severity.regex"
    ]


@pytest.mark.parametrize(
    "value",
    [
        '{regex: "(a)\\\\1"}',  # a backreference
        '{regex: "(?<=x)a"}',  # a lookbehind
        '{regex: "(?>a)"}',  # an atomic group
        '{regex: "a++"}',  # a possessive repeat (Python 3.11 takes it)
        '{regex: "\\\\Z"}',  # Python's end of text; Go has \\z
    ],
)
def test_routing_regexes_are_held_to_re2_syntax(spec, value):
    """Before: Python's `re` plus a hand-written list of what RE2 lacks; `a++` and `\\Z` slipped through and amtool
    refused the built config. After: compiled by RE2, the engine Go's regexp (Alertmanager's) follows."""
    spec.write_text(SPEC.replace('{regex: "HighLatency.*", example: HighLatencyP50}', value))
    assert [d.field for d in check(spec).diagnostics if d.code == "OBS205"] == [
        "routing.routes.0.match.alertname.regex"
    ]


def test_example_check_is_linear_time(spec, tmp_path):
    """`(a+)+b` against 32 a's: minutes of backtracking with Python's `re`; instant with RE2 (OBS324: the example
    does not match). Run in a child process with a deadline, so old code fails rather than hangs the suite."""
    import subprocess
    import sys
    import time

    spec.write_text(
        SPEC.replace(
            '{regex: "HighLatency.*", example: HighLatencyP50}',
            '{regex: "(a+)+b", example: ' + "a" * 32 + "}",
        )
    )
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from obsctl.cli import main; main()",
            "validate",
            "--format",
            "json",
            str(spec),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - started < 30
    assert [d["code"] for d in json.loads(proc.stdout) if d["level"] == "error"] == ["OBS324"]


def test_re2_loads_only_for_specs_with_routing_regexes(tmp_path):
    """validate's cold start does not pay for RE2 when the spec has no regex."""
    import subprocess
    import sys

    from amhelpers import ASSET_WS

    code = (
        "import sys; from pathlib import Path; from obsctl.pipeline import check; "
        "r = check(Path(sys.argv[1])); assert r.ok; print('re2' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ASSET_WS)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
