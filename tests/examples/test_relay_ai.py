"""The relay-ai design on the built output: beta and prod differ where the design says, its four severity levels,
and its Alertmanager grouping and inhibit rules."""

from __future__ import annotations

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
    le_values,
    panels,
    rules,
    walk_routes,
)

from obsctl.durations import parse_duration
from obsctl.verify.amtool import routes_test

SPEC = EXAMPLES / "relay-ai" / "obsctl.yaml"
ENVS = ("beta", "prod")

# What the design sets apart: (alert, beta threshold, prod threshold).
THRESHOLDS = [
    ("HighLatencyP95", "0.3", "0.2"),  # SLO table: p95 < 200ms (beta 300ms)
    ("DatabaseConnectionsHigh", "40", "400"),  # "> 40 for Beta, > 400 for Prod"
]
# SLO -> (beta objective, prod objective), in percent.
OBJECTIVES = {"availability": (99.5, 99.9), "latency": (95.0, 95.0), "database-reliability": (99.95, 99.95),
              "deployment-success": (95.0, 95.0)}
# Part 3.3: severity -> (receiver, group_wait, repeat_interval); None = inherited from the root.
SEVERITIES = {
    "critical": ("critical", "0s", "5m"),
    "high": ("ops-team", "5s", "1h"),
    "medium": ("dev-team", "1m", "4h"),
    "low": ("log-only", None, "24h"),
}


@pytest.fixture(scope="module", params=ENVS)
def env(request: pytest.FixtureRequest) -> str:
    return request.param


def _files(env: str) -> dict[str, str]:
    return built(SPEC, env)


def _threshold_in(expr: str, value: str) -> bool:
    return re.search(rf">\s*{re.escape(value)}(?![0-9.])", expr) is not None


# -- beta and prod ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alert", "beta", "prod"), THRESHOLDS)
def test_thresholds_differ_per_environment(alert: str, beta: str, prod: str) -> None:
    exprs = {e: rules(_files(e), "prometheus")[alert]["expr"] for e in ENVS}
    assert _threshold_in(exprs["beta"], beta), exprs["beta"]
    assert _threshold_in(exprs["prod"], prod), exprs["prod"]
    assert not _threshold_in(exprs["beta"], prod), exprs["beta"]


def test_each_environment_selects_its_own_series(env: str) -> None:
    other = next(e for e in ENVS if e != env)
    for name, rule in rules(_files(env), "prometheus").items():
        if "slo" in rule["labels"]:
            continue  # burn-rate alerts: see test_slo_alerts_select_their_environment
        assert rule["labels"].get("environment") == env, name
        if "probe_success" not in rule["expr"]:
            assert f'environment="{env}"' in rule["expr"], f"{name}: {rule['expr']}"
        assert f'environment="{other}"' not in rule["expr"], name


def test_slo_alerts_select_their_environment(env: str) -> None:
    # beta's and prod's SLO records share one Prometheus: each environment's burn-rate alerts read only its own
    for name, rule in rules(_files(env), "prometheus").items():
        if "slo" in rule["labels"]:
            # every recorded series the alert reads must be this environment's
            for selector in re.findall(r"[a-z_]*:[a-z_0-9:]+\{([^}]*)\}", rule["expr"]):
                assert f'environment="{env}"' in selector, f"{name}: {rule['expr']}"


def test_probe_targets_the_environment_api(env: str) -> None:
    rule = rules(_files(env), "prometheus")["APIUnreachable"]
    assert f"https://relay-{env}-api.railway.app/_stcore/health" in rule["expr"]


def test_scrape_job_as_in_the_seed_labels_the_environment(env: str) -> None:
    """The design, 1.2: job relay-<env>-api, https, /metrics, 15s; the static label is what the selector selects."""
    (job,) = yaml.safe_load(_files(env)["prometheus/relay-ai.scrape.yml"])["scrape_configs"]
    assert (job["job_name"], job["scheme"], job["metrics_path"], job["scrape_interval"]) == (
        f"relay-{env}-api", "https", "/metrics", "15s")
    assert job["static_configs"] == [{"targets": [f"relay-{env}-api.railway.app"], "labels": {"environment": env}}]


def _datadog_slos(files: dict[str, str]) -> dict[str, dict]:
    import json

    out = {}
    for path, text in files.items():
        if path.startswith("datadog/slos/"):
            d = json.loads(text)
            out[d["name"]] = d
    return out


@pytest.mark.parametrize("slo", sorted(OBJECTIVES))
def test_slo_objectives_per_environment(slo: str) -> None:
    from obsctl.pipeline import check

    for i, env in enumerate(ENVS):
        want = OBJECTIVES[slo][i]
        spec = check(SPEC, env).checked[0].spec
        assert spec.slos[slo].objective == want
        # Datadog SLO objects carry the objective as their target.
        found = [d for name, d in _datadog_slos(_files(env)).items() if slo in name]
        assert found, f"{env}: no Datadog SLO for {slo}"
        assert {t["target"] for d in found for t in d["thresholds"]} == {want}, (env, slo)


def test_burn_rate_alerts_follow_the_error_budget() -> None:
    # The availability tiers compare error ratios with factor x budget: 0.1% for prod's 99.9%, 0.5% for beta's.
    for env, budget in (("prod", "0.001"), ("beta", "0.005")):
        burn = {n: r for n, r in rules(_files(env), "prometheus").items() if r["labels"].get("slo") == "availability"}
        assert sorted(r["labels"]["severity"] for r in burn.values()) == ["critical", "critical", "medium", "medium"]
        for name, rule in burn.items():
            assert re.search(rf"\*\s*{re.escape(budget)}\)", rule["expr"]), (env, name, rule["expr"])


def test_latency_sli_threshold_per_environment() -> None:
    # prod counts requests under 0.2s; beta under 0.5s (0.3s is no bucket boundary).
    for env, le in (("prod", 0.2), ("beta", 0.5)):
        assert le_values(_files(env)["prometheus/relay-ai.slo.rules.yml"]) == {le}, env


def test_beta_dashboards_do_not_collide_with_prod() -> None:
    uids = {e: set(dashboards(_files(e))) for e in ENVS}
    assert "system-health" in uids["prod"] and "system-health-beta" in uids["beta"]
    seed = {"system-health", "api-performance", "user-activity", "cost-metrics", "deployment-health"}
    assert seed <= uids["prod"]
    assert {f"{u}-beta" for u in seed} <= uids["beta"]


def test_dashboards_refresh_as_the_seed_says() -> None:
    boards = dashboards(_files("prod"))
    refresh = {"system-health": "10s", "api-performance": "30s", "user-activity": "1m", "cost-metrics": "5m",
               "deployment-health": "1m"}
    for uid, want in refresh.items():
        assert boards[uid]["refresh"] == want, uid
    titles = {p["title"] for p in panels(boards["system-health"])}
    assert {"API Status", "Error Rate", "P95 Latency", "Request Rate (RPS)", "Latency Percentiles",
            "Memory Usage", "CPU Usage", "Query Duration p95", "Slow Queries (1h)"} <= titles


# -- severity levels, grouping, inhibit rules -----------------------------------------------------------------------


def test_rule_alerts_carry_the_seed_severities_and_durations() -> None:
    prom = rules(_files("prod"), "prometheus")
    seed = {"APIDown": ("critical", "1m"), "HighErrorRate": ("high", "5m"), "HighLatencyP95": ("high", "10m"),
            "HighLatencyP99": ("medium", "5m"), "HighMemoryUsage": ("high", "5m"), "HighCPUUsage": ("medium", "10m"),
            "DatabaseConnectionPoolFull": ("high", "5m"), "DatabaseConnectionDown": ("critical", "1m"),
            "SlowQueries": ("medium", "5m"), "DeploymentFailure": ("high", "0s"), "SmokeTestFailure": ("critical", "0s"),
            "DailyCostSpike": ("medium", "5m"), "TokenBudgetExceeded": ("medium", "1m")}
    for name, (severity, duration) in seed.items():
        assert prom[name]["labels"]["severity"] == severity, name
        assert for_seconds(prom[name]) == parse_duration(duration), name
    assert {r["labels"]["severity"] for r in prom.values()} == set(SEVERITIES)
    assert len([n for n in prom if "[" not in n]) >= 15, "the design asks for 15 alert rules"


def test_grouping_and_timing(env: str) -> None:
    config = alertmanager(_files(env))
    assert config["global"]["resolve_timeout"] == "5m"
    root = config["route"]
    assert root["group_by"] == ["alertname", "environment", "team"]
    assert (root["group_wait"], root["group_interval"], root["repeat_interval"]) == ("10s", "10s", "12h")


def _severity_route(config: dict, severity: str) -> dict:
    labels = {"alertname": "X", "service": "relay-ai", "severity": severity, "environment": "prod", "team": "t"}
    path: list[dict] = []

    def find(route: dict) -> bool:
        from built_example import route_matches

        for child in route.get("routes", []):
            if route_matches(child, labels):
                path.append(child)
                find(child)
                return True
        return False

    find(config["route"])
    assert path, f"no route for severity {severity}"
    return path[-1]


@pytest.mark.parametrize("severity", sorted(SEVERITIES))
def test_severity_routes(env: str, severity: str) -> None:
    config = alertmanager(_files(env))
    receiver, wait, repeat = SEVERITIES[severity]
    route = _severity_route(config, severity)
    assert route["receiver"] == receiver
    assert route.get("group_wait") == wait
    assert route.get("repeat_interval") == repeat


def test_severity_receivers_notify_what_the_seed_lists(env: str) -> None:
    config = alertmanager(_files(env))
    got = {s: integrations(config, walk_routes(config, {"alertname": "X", "service": "relay-ai", "severity": s}))
           for s in SEVERITIES}
    assert got["critical"]["pagerduty"] and got["critical"]["opsgenie"]
    assert got["critical"]["slack"] == {"#critical-alerts"}
    assert got["high"]["slack"] == {"#ops-alerts"} and not got["high"]["pagerduty"]
    assert got["medium"]["slack"] == {"#dev-alerts"} and not got["medium"]["pagerduty"]
    assert not any(got["low"].values()), "low is log-only: no integration"


@pytest.mark.parametrize("severity", sorted(SEVERITIES))
def test_severity_routes_with_amtool(severity: str, tmp_path, amtool) -> None:
    files = _files("prod")
    path = tmp_path / "alertmanager.yml"
    path.write_text(files["alertmanager/alertmanager.yml"], encoding="utf-8")
    config = yaml.safe_load(files["alertmanager/alertmanager.yml"])
    for name, rule in rules(files, "prometheus").items():
        if rule["labels"]["severity"] != severity:
            continue
        labels = {**rule["labels"], "alertname": name}
        assert routes_test(path, labels) == walk_routes(config, labels) == [SEVERITIES[severity][0]], name


def test_inhibit_rules(env: str) -> None:
    inhibit = alertmanager(_files(env))["inhibit_rules"]
    assert len(inhibit) == 2
    deploy, maintenance = inhibit
    assert deploy["source_matchers"] == ['alertname="Deployment"']
    target = deploy["target_matchers"]
    assert target == ['alertname=~"HighErrorRate|HighLatency.*"']  # the design's regex, reaching HighLatencyP95
    for name in ("HighErrorRate", "HighLatencyP95", "HighLatencyP99"):
        assert re.fullmatch(target[0].split("=~", 1)[1].strip('"'), name), name
    assert deploy["equal"] == ["environment"]
    assert maintenance["source_matchers"] == ['alertname="DatabaseMaintenance"']
    assert maintenance["target_matchers"] == ['alertname="DatabaseConnectionDown"']


def test_inhibited_alerts_exist() -> None:
    names = set(rules(_files("prod"), "prometheus"))
    assert {"HighErrorRate", "HighLatencyP95", "HighLatencyP99", "DatabaseConnectionDown"} <= names
