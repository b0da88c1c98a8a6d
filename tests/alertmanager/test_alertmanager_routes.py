"""Route cases: every label set the spec's alerts carry reaches exactly the receivers the spec names, proven by
`amtool config routes test` on the built alertmanager.yml; a broken tree is caught."""

from __future__ import annotations

import pytest
import yaml
from amhelpers import ASSET_WS, FULL, context, write_config

from obsctl.plan.routing import BLACKHOLE, RouteCase, expected_receivers, route_cases
from obsctl.verify.amtool import verify_route


def _failures(config, cases: list[RouteCase]) -> list[str]:
    return [f"{c.why}: {p}" for c in cases if (p := verify_route(config, c.labels, c.receivers)) is not None]


def test_asset_ws_route_cases_follow_its_design():
    """The asset-ws design: P1 pages, P2 reaches on-call and the incident channel, P3 only the incident channel."""
    cases = route_cases(context(ASSET_WS).spec)
    by_sev = {c.labels["severity"]: c.receivers for c in cases}
    assert by_sev == {"P1": ["pager"], "P2": ["oncall", "incidents"], "P3": ["incidents"]}
    alerts = {c.labels["alertname"]: c for c in cases}
    assert set(alerts) >= {
        "APIUnavailable",
        "APIHighErrorRate",
        "APILatencyRegression",
        "WebSocketAuthFailuresSpike",
        "WebSocketSessionInitFailures",
        "WorkerStalled",
        "WorkerPersistentRefreshFailures",
    }
    # the labels the Prometheus rule gives the alert, plus its alertname
    assert alerts["APIHighErrorRate"].labels == {
        "alertname": "APIHighErrorRate",
        "severity": "P1",
        "service": "asset-ws",
        "team": "asset-platform",
    }
    assert alerts["APIHighErrorRate"].receivers == ["pager"]
    assert alerts["WebSocketAuthFailuresSpike"].receivers == ["oncall", "incidents"]
    assert all(c.why for c in cases)


@pytest.mark.parametrize("spec", [ASSET_WS, FULL], ids=["asset-ws", "full"])
def test_amtool_routes_every_case_as_the_spec_says(spec, amtool, tmp_path):
    config, _ = write_config(spec, tmp_path)
    cases = route_cases(context(spec).spec)
    assert len(cases) >= 4
    assert _failures(config, cases) == []


def test_full_cases_cover_alerts_slos_severities_and_routes():
    cases = route_cases(context(FULL).spec)
    whys = [c.why for c in cases]
    for alert in ("HighErrors", "QueueBacklog", "QueueStuck", "Nightly"):
        assert any(w.startswith(f"alert {alert} ") for w in whys), alert
    slo = {c.labels["slo_tier"]: c for c in cases if c.why.startswith("SLO availability ")}
    assert set(slo) == {"page-fast", "page-slow", "ticket-fast", "ticket-slow"}
    assert slo["page-fast"].labels["severity"] == "critical" and slo["page-fast"].labels["action"] == "page"
    assert slo["page-fast"].receivers == ["pager", "chat", "audit"]
    assert slo["ticket-slow"].labels["severity"] == "warning"
    assert slo["ticket-slow"].receivers == ["chat", "genie"]
    for sev in ("critical", "warning", "info"):
        assert f"any alert with severity {sev}" in whys
    assert sum(w.startswith("routing.routes[0]") for w in whys) == 2  # one per listed component value
    assert any(w.startswith("routing.routes[1]") for w in whys)
    expected = {c.why: c.receivers for c in cases}
    assert expected["alert HighErrors (severity critical)"] == ["pager", "chat", "audit"]
    # continue: true on the dba route, so the severity's receivers follow
    assert expected["alert QueueStuck (severity warning)"] == ["dba", "chat", "genie"]
    assert expected["alert QueueBacklog (severity warning)"] == ["chat", "genie"]
    # the Nightly route does not continue: only its (silent) receiver
    assert expected["alert Nightly (severity info)"] == ["quiet"]
    assert expected["an alert with no severity goes to the default receiver"] == ["catchall"]
    # spec labels ride along, quotes and all
    stuck = next(c for c in cases if c.why.startswith("alert QueueStuck"))
    assert stuck.labels == {
        "alertname": "QueueStuck",
        "severity": "warning",
        "service": "payments-api",
        "team": "payments",
        "tier": 'backend "core"',
        "component": "db.primary",
    }


def test_expected_receivers_reads_the_spec():
    spec = context(FULL).spec
    base = {"service": "payments-api", "alertname": "X"}
    assert expected_receivers(spec, {**base, "severity": "info"}) == ["mail"]
    assert expected_receivers(spec, {**base, "severity": "info", "component": "db|replica"}) == [
        "dba",
        "mail",
    ]
    assert expected_receivers(spec, {**base, "severity": "unknown"}) == ["catchall"]
    assert expected_receivers(spec, {"service": "other", "severity": "critical"}) == ["catchall"]
    asset = context(ASSET_WS).spec
    assert expected_receivers(asset, {"service": "asset-ws", "severity": "P9"}) == [BLACKHOLE]


def test_a_dropped_receiver_route_fails(amtool, tmp_path):
    """Remove the route that sends P2 to on-call: every P2 case must now fail, naming what it got instead."""
    config, data = write_config(ASSET_WS, tmp_path)
    children = data["route"]["routes"][0]["routes"]
    children[:] = [r for r in children if r["receiver"] != "oncall"]
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    cases = route_cases(context(ASSET_WS).spec)
    failures = _failures(config, cases)
    p2 = [c for c in cases if c.labels["severity"] == "P2"]
    assert len(failures) == len(p2) >= 2
    assert all("alert routed to [incidents], expected [oncall, incidents]" in f for f in failures)
    assert any(f.startswith("alert WebSocketAuthFailuresSpike") for f in failures)


def test_a_dropped_continue_fails(amtool, tmp_path):
    """Without `continue` the first P2 receiver swallows the alert and the incident channel never hears of it."""
    config, data = write_config(ASSET_WS, tmp_path)
    for r in data["route"]["routes"][0]["routes"]:
        r.pop("continue", None)
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    failures = _failures(config, route_cases(context(ASSET_WS).spec))
    assert failures and all("alert routed to [oncall], expected [oncall, incidents]" in f for f in failures)


def test_a_dropped_receiver_definition_fails(amtool, tmp_path):
    config, data = write_config(ASSET_WS, tmp_path)
    data["receivers"] = [r for r in data["receivers"] if r["name"] != "pager"]
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    failures = _failures(config, route_cases(context(ASSET_WS).spec))
    assert len(failures) == len(route_cases(context(ASSET_WS).spec))  # the config no longer loads at all
    assert all("cannot test routing" in f and 'undefined receiver "pager"' in f for f in failures)


AWKWARD = r"""
service: demo
runbook: https://runbooks.example.org/demo
metrics:
  queue_depth: {kind: gauge}
alerts:
  Backlog: {severity: "P3 \"low\" \\ x", when: queue_depth > 10}
routing:
  receivers:
    pager: {pagerduty: {routing_key_file: /etc/am/pd}}
    tickets: {webhook: {url: "https://tickets.example.org/hook"}}
  severities:
    P1: {receivers: [pager], pagerduty: critical}
    "P3 \"low\" \\ x": {receivers: [tickets], pagerduty: warning}
  inhibit:
    - {source: {severity: P1}, target: {severity: ["P3 \"low\" \\ x", P4]}}
"""


def test_awkward_severity_names_survive(amtool, tmp_path):
    """Quotes, spaces and backslashes in the spec's vocabulary: escaped in matchers and in the Go templates."""
    weird = 'P3 "low" \\ x'
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(AWKWARD)
    config, data = write_config(spec, tmp_path)
    assert data["route"]["routes"][0]["routes"][-1]["matchers"] == ['severity="P3 \\"low\\" \\\\ x"']
    assert data["inhibit_rules"][0]["target_matchers"] == ['severity=~"P3 \\"low\\" \\\\\\\\ x|P4"']
    assert (
        'eq .CommonLabels.severity "P3 \\"low\\" \\\\ x" }}warning'
        in data["receivers"][0]["pagerduty_configs"][0]["severity"]
    )
    cases = route_cases(context(spec).spec)
    assert any(c.labels["severity"] == weird and c.receivers == ["tickets"] for c in cases)
    assert _failures(config, cases) == []
