"""The asset-ws design's acceptance checklist, checked on what `obsctl build examples/asset-ws/obsctl.yaml` emits.

1. the dashboard has all eight panels; 2. all seven alerts exist with the listed thresholds and durations;
3. alerts route to on-call and incident channels (P1 pages, P2 on-call + incident channel, P3 incident channel
only); 4. docs/ops-runbook.md is linked from every alert.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from built_example import (
    EXAMPLES,
    alertmanager,
    built,
    dashboards,
    for_seconds,
    integrations,
    panels,
    rules,
    walk_routes,
)

from obsctl.verify.amtool import routes_test

SPEC = EXAMPLES / "asset-ws" / "obsctl.yaml"
RUNBOOK = "docs/ops-runbook.md"

# Seed panel title -> what its queries must read (the seed's "Source:").
PANELS = {
    "API request volume (5m rate)": [r"rate\(api_requests_total\{[^}]*\}\[5m\]\)"],
    "API error rate (%)": ["api_error_rate_5m"],
    "API average latency (ms)": ["api_avg_latency_ms_5m"],
    "API route error breakdown": [r"by \(route\)", "api_request_errors_by_route"],
    "WebSocket active connections": ["ws_connections_active"],
    "WebSocket auth failures (5m)": ["ws_auth_failures_5m"],
    "WebSocket session init failures (5m)": ["ws_session_init_failures_5m"],
    "Worker refresh success/error log counts (5m)": [
        r'msg="refresh cycle completed"', r'msg="refresh cycle completed with errors"', r"\[5m\]"],
}

# Seed alert -> (rule file target, severity, regexes the expression must contain, `for` in seconds).
ALERTS = {
    "APIUnavailable": ("prometheus", "P1", [r"probe_success\{[^}]*/health"], 180),
    "APIHighErrorRate": ("prometheus", "P1", [r">=\s*0\.05\b", r">=\s*100\b", r"\[5m\]"], 600),
    "APILatencyRegression": ("prometheus", "P2", [r">=\s*750\b", r">=\s*100\b", r"\[5m\]"], 900),
    "WebSocketAuthFailuresSpike": ("prometheus", "P2", [r">=\s*50\b"], 600),
    "WebSocketSessionInitFailures": ("prometheus", "P2", [r">=\s*10\b"], 600),
    "WorkerStalled": ("loki", "P1", [r'msg="refresh cycle completed"', r"\[10m\]", r"==\s*0\b"], 0),
    "WorkerPersistentRefreshFailures": ("loki", "P2", [r'msg="refresh cycle completed with errors"', r"\[10m\]",
                                                       r">=\s*5\b"], 0),
}


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return built(SPEC)


def _queries(panel: dict) -> str:
    return "\n".join(t.get("expr", "") for t in panel.get("targets", []))


# -- 1. eight panels ---------------------------------------------------------------------------------------------


def test_dashboard_has_all_eight_panels_with_their_sources(files: dict[str, str]) -> None:
    boards = dashboards(files)
    assert list(boards) == ["asset-ws-ops"]
    found = {p["title"]: p for p in panels(boards["asset-ws-ops"])}
    assert set(PANELS) <= set(found), f"missing panels: {sorted(set(PANELS) - set(found))}"
    for title, sources in PANELS.items():
        text = _queries(found[title])
        for pattern in sources:
            assert re.search(pattern, text), f"panel {title!r}: no {pattern!r} in {text!r}"


def test_worker_panel_counts_success_without_the_error_lines(files: dict[str, str]) -> None:
    # "refresh cycle completed" is a prefix of "refresh cycle completed with errors": the success count
    # must compare the whole message, never a substring.
    panel = next(p for p in panels(dashboards(files)["asset-ws-ops"]) if p["title"].startswith("Worker refresh"))
    success = next(t["expr"] for t in panel["targets"] if "with errors" not in t["expr"])
    assert 'msg="refresh cycle completed"' in success
    assert "|~" not in success and "=~" not in success


# -- 2. seven alerts, thresholds and durations -------------------------------------------------------------------


def test_seven_alerts_with_the_listed_thresholds_and_durations(files: dict[str, str]) -> None:
    prom, loki = rules(files, "prometheus"), rules(files, "loki")
    assert set(prom) | set(loki) == set(ALERTS)
    for name, (target, severity, patterns, seconds) in ALERTS.items():
        rule = (prom if target == "prometheus" else loki).get(name)
        assert rule is not None, f"{name} is not in the {target} rules"
        assert rule["labels"]["severity"] == severity, name
        for pattern in patterns:
            assert re.search(pattern, rule["expr"]), f"{name}: no {pattern!r} in {rule['expr']!r}"
        assert for_seconds(rule) == seconds, f"{name}: for {rule.get('for')}, the seed says {seconds}s"


def test_worker_stalled_fires_on_no_lines_at_all(files: dict[str, str]) -> None:
    # count_over_time of nothing is no series, not 0: without a fallback "no events for 10m" never fires.
    expr = rules(files, "loki")["WorkerStalled"]["expr"]
    assert "or vector(0)" in expr or "absent_over_time" in expr, expr


def test_probe_alert_checks_health_every_interval_of_three_minutes(files: dict[str, str]) -> None:
    rule = rules(files, "prometheus")["APIUnavailable"]
    assert "https://asset-ws.example.org/health" in rule["expr"]
    assert re.search(r"(==\s*0|<\s*1)\b", rule["expr"]), rule["expr"]


# -- 3. routing ---------------------------------------------------------------------------------------------------


def _labels(files: dict[str, str], severity: str) -> list[dict[str, str]]:
    """The label sets the built rules give alerts of `severity` (a made-up alert for a severity with none)."""
    found = []
    for target in ("prometheus", "loki"):
        for name, rule in rules(files, target).items():
            if rule["labels"]["severity"] == severity:
                found.append({**rule["labels"], "alertname": name})
    return found or [{"alertname": f"Synthetic{severity}", "service": "asset-ws", "severity": severity}]


def _expect(severity: str, reached: dict[str, set[str]]) -> None:
    if severity == "P1":  # paging channel immediately
        assert reached["pagerduty"], f"P1 does not page: {reached}"
    elif severity == "P2":  # on-call notification + engineering incident channel, no page
        assert not reached["pagerduty"], reached
        assert {"#asset-ws-oncall", "#eng-incidents"} <= reached["slack"], reached
    else:  # non-paging notification in the engineering incident channel only
        assert not reached["pagerduty"] and not reached["opsgenie"], reached
        assert reached["slack"] == {"#eng-incidents"}, reached


@pytest.mark.parametrize("severity", ["P1", "P2", "P3"])
def test_routing_walked_in_python(files: dict[str, str], severity: str) -> None:
    config = alertmanager(files)
    for labels in _labels(files, severity):
        _expect(severity, integrations(config, walk_routes(config, labels)))


@pytest.mark.parametrize("severity", ["P1", "P2", "P3"])
def test_routing_with_amtool(files: dict[str, str], severity: str, tmp_path, amtool) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(files["alertmanager/alertmanager.yml"], encoding="utf-8")
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    for labels in _labels(files, severity):
        receivers = routes_test(path, labels)
        assert receivers == walk_routes(config, labels), labels
        _expect(severity, integrations(config, receivers))


def test_every_seed_alert_is_routed(files: dict[str, str]) -> None:
    config = alertmanager(files)
    for target in ("prometheus", "loki"):
        for name, rule in rules(files, target).items():
            reached = integrations(config, walk_routes(config, {**rule["labels"], "alertname": name}))
            assert any(reached.values()), f"{name} reaches no notification"


# -- 4. runbook ---------------------------------------------------------------------------------------------------


def test_every_alert_links_the_runbook(files: dict[str, str]) -> None:
    for target in ("prometheus", "loki"):
        for name, rule in rules(files, target).items():
            ann = rule.get("annotations", {})
            assert ann.get("runbook_url") == RUNBOOK, f"{name}: runbook_url {ann.get('runbook_url')!r}"
            assert RUNBOOK in ann.get("description", "") or RUNBOOK in ann.get("runbook_url", ""), name


def test_notifications_carry_the_runbook(files: dict[str, str]) -> None:
    # Responders read the notification, not the rule file: every receiver's message shows runbook_url.
    config = alertmanager(files)
    for rec in config["receivers"]:
        for kind, configs in rec.items():
            if kind == "name":
                continue
            for c in configs:
                text = json.dumps(c)
                assert "runbook_url" in text, f"receiver {rec['name']} ({kind}) does not show the runbook"


def test_datadog_monitors_link_the_runbook(files: dict[str, str]) -> None:
    monitors = {p: json.loads(t) for p, t in files.items() if p.startswith("datadog/") and "monitor" in p}
    assert monitors, "no Datadog monitors built"
    names = [m.get("name", "") for m in monitors.values()]
    assert len(monitors) >= len(ALERTS), names
    for path, m in monitors.items():
        assert RUNBOOK in m["message"], f"{path}: no runbook in the message"
