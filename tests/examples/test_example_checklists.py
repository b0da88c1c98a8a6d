"""The sigiq-websocket, asset-forge and sessions-service designs on the built output: what each design
specifies that obsctl covers."""

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
    expanded,
    for_seconds,
    integrations,
    le_values,
    panels,
    rules,
    walk_routes,
)

SIGIQ = EXAMPLES / "sigiq-websocket" / "obsctl.yaml"
FORGE = EXAMPLES / "asset-forge" / "obsctl.yaml"
SESSIONS = EXAMPLES / "sessions-service" / "obsctl.yaml"


def _probe_jobs(files: dict[str, str]) -> dict[str, dict]:
    """Blackbox scrape jobs by probed URL."""
    doc = yaml.safe_load(next(t for p, t in files.items() if p.endswith(".blackbox-scrape.yml")))
    return {t: job for job in doc["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}


def _datadog(files: dict[str, str], folder: str) -> dict[str, dict]:
    return {p: json.loads(t) for p, t in files.items() if p.startswith(f"datadog/{folder}/")}


def _reach(files: dict[str, str], labels: dict[str, str]) -> dict[str, set[str]]:
    config = alertmanager(files)
    return integrations(config, walk_routes(config, labels))


# -- sigiq-websocket ---------------------------------------------------------------------------------------------------


def test_sigiq_dashboard_refresh_range_and_panels() -> None:
    files = built(SIGIQ)
    (board,) = (d for uid, d in dashboards(files).items() if not uid.endswith("-slos"))
    assert board["refresh"] == "5s"
    assert board["time"] == {"from": "now-1h", "to": "now"}
    by_title = {p["title"]: p for p in panels(board)}
    assert {"Active Connections", "Total Messages", "Error Count", "Connection Timeline"} <= set(by_title)
    assert by_title["Active Connections"]["type"] == "gauge"
    assert by_title["Connection Timeline"]["type"] == "timeseries"


def test_sigiq_alert_as_in_alerts_yml() -> None:
    rule = rules(built(SIGIQ), "prometheus")["NoActiveWebSocketConnections"]
    assert re.fullmatch(r'sum\(websocket_active_connections\{job="sigiq-websocket"\}\) == 0', rule["expr"])
    assert for_seconds(rule) == 60
    assert rule["labels"]["severity"] == "warning"


def test_sigiq_blue_and_green_health_checks() -> None:
    jobs = _probe_jobs(built(SIGIQ))
    for color in ("blue", "green"):
        for path in ("healthz", "readyz"):
            job = jobs[f"http://app_{color}:8000/{path}"]
            assert (job["scrape_interval"], job["scrape_timeout"]) == ("30s", "10s")


# -- asset-forge ---------------------------------------------------------------------------------------------------

FORGE_ALERTS = {  # name: (severity, for, regexes in the expression)
    "HighErrorRate": ("critical", 300, [r'status_code=~"5\.\."', r">\s*0\.05\b"]),
    "ServiceDown": ("critical", 60, [r'up\{job="asset-forge"\}', r"==\s*0\b"]),
    "DatabaseDown": ("critical", 60, [r"probe_success\{[^}]*/api/health/ready"]),
    "HighLatency": ("critical", 300, [r"histogram_quantile\(0\.95", r">\s*5\b"]),
    "IncreasedErrorRate": ("warning", 600, [r"asset_generation_errors_total", r">\s*0\.1\b"]),
    "LowDiskSpace": ("warning", 900, [r"storage_total_bytes", r">\s*0\.8\b"]),
    "HighMemoryUsage": ("warning", 300, [r"system_memory_total_bytes", r">\s*0\.9\b"]),
    "DatabasePoolExhaustionRisk": ("warning", 300, [r">\s*18\b"]),
}


def test_forge_alerts() -> None:
    files = built(FORGE)
    prom = rules(files, "prometheus")
    for name, (severity, seconds, patterns) in FORGE_ALERTS.items():
        assert prom[name]["labels"]["severity"] == severity, name
        assert for_seconds(prom[name]) == seconds, name
        text = expanded(files, prom[name]["expr"])
        for pattern in patterns:
            assert re.search(pattern, text), f"{name}: no {pattern!r} in {text}"


def test_forge_routing_pagerduty_team_and_ops_channels() -> None:
    files = built(FORGE)
    prom = rules(files, "prometheus")
    for name in FORGE_ALERTS:
        reached = _reach(files, {**prom[name]["labels"], "alertname": name})
        if prom[name]["labels"]["severity"] == "critical":
            assert reached["pagerduty"] and not reached["slack"], name
        elif name in ("LowDiskSpace", "HighMemoryUsage", "DatabasePoolExhaustionRisk"):
            assert reached["slack"] == {"#ops"} and not reached["pagerduty"], name
        else:
            assert reached["slack"] == {"#asset-forge"} and not reached["pagerduty"], name


@pytest.mark.parametrize(("slo", "objective", "budget"),
                         [("availability", 99.9, "0.001"), ("latency", 95.0, "0.05"), ("asset-generation", 90.0, "0.1")])
def test_forge_slos(slo: str, objective: float, budget: str) -> None:
    files = built(FORGE)
    burn = [r for r in rules(files, "prometheus").values() if r["labels"].get("slo") == slo]
    assert burn, f"no burn-rate alerts for {slo}"
    for rule in burn:
        assert re.search(rf"\*\s*{re.escape(budget)}\)", rule["expr"]), rule["expr"]
    (dd,) = [d for d in _datadog(files, "slos").values() if d["name"].endswith(slo)]
    assert [t["target"] for t in dd["thresholds"]] == [objective]


def test_forge_latency_sli_counts_requests_under_one_second() -> None:
    text = built(FORGE)["prometheus/asset-forge.slo.rules.yml"]
    assert "api_response_time_by_endpoint_seconds_bucket" in text
    assert le_values(text) == {1.0}


def test_forge_generation_slo_does_not_keep_a_tier_that_cannot_fire() -> None:
    # At 90%, 14.4x the budget is 144% failures: the fast page tier is off, the three others stay.
    burn = [r for r in rules(built(FORGE), "prometheus").values() if r["labels"].get("slo") == "asset-generation"]
    assert len(burn) == 3
    assert all("(14.4 *" not in r["expr"] for r in burn)


def test_forge_dashboards_and_health_probes() -> None:
    files = built(FORGE)
    titles = {d["title"] for d in dashboards(files).values()}
    assert {"Asset-Forge Overview", "Asset Generation Performance", "Infrastructure Health"} <= titles
    overview = next(d for d in dashboards(files).values() if d["title"] == "Asset-Forge Overview")
    assert [p["title"] for p in panels(overview)] == ["Request Rate", "Error Rate", "P95 Latency", "Active Sessions",
                                                       "Asset Generations", "Database Health"]
    jobs = _probe_jobs(files)
    seed = {"live": ("10s", "5s"), "ready": ("5s", "3s"), "deep": ("30s", "10s")}
    for path, timing in seed.items():
        job = jobs[f"http://asset-forge:3004/api/health/{path}"]
        assert (job["scrape_interval"], job["scrape_timeout"]) == timing


# -- sessions-service ---------------------------------------------------------------------------------------------------


def test_sessions_alerts_and_receivers() -> None:
    files = built(SESSIONS)
    prom = rules(files, "prometheus")
    critical = {"PatchApplicationFailureRate", "ModelProviderAuthFailures", "PatchValidationDryRunFailed",
                "SessionsServiceDown"}
    warning = {"QuestionnaireElevated4xx", "PlanRejectionRateIncreased"}
    assert set(prom) == critical | warning
    for name in critical | warning:
        severity = prom[name]["labels"]["severity"]
        assert severity == ("critical" if name in critical else "warning"), name
        reached = _reach(files, {**prom[name]["labels"], "alertname": name})
        assert reached["email"] == {"operator@example.org"}, name
        assert bool(reached["pagerduty"]) == (name in critical), name
    assert 'error_type="auth"' in prom["ModelProviderAuthFailures"]["expr"]
    assert 'status="4xx"' in expanded(files, prom["QuestionnaireElevated4xx"]["expr"])
    assert "probe_success" in prom["SessionsServiceDown"]["expr"]


def test_sessions_health_check_and_dashboards() -> None:
    files = built(SESSIONS)
    assert "http://sessions-service:8000/health" in _probe_jobs(files)
    titles = {d["title"] for d in dashboards(files).values()}
    assert {"Sessions service – system health", "Sessions service – business funnel",
            "Sessions service – workspaces"} <= titles
