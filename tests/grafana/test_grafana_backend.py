"""The Grafana backend: every dashboard it builds passes Grafana's schemas and the lint, and says what the spec says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from grafana_helpers import (
    FULL,
    ROOT,
    all_panels,
    build,
    build_ok,
    dashboards_of,
    require_logql_checker,
    require_promtool,
    targets,
)

from obsctl.backends import grafana
from obsctl.naming import dashboard_uid
from obsctl.pipeline import check
from obsctl.verify.grafana import validate_dashboard
from obsctl.verify.tools import ToolMissing

EXAMPLES = sorted(ROOT.glob("examples/*/obsctl.yaml"))
ASSET_WS = ROOT / "examples" / "asset-ws" / "obsctl.yaml"


def _spec_builds() -> list[tuple[Path, str | None]]:
    out: list[tuple[Path, str | None]] = [(FULL, None)]
    for spec in EXAMPLES:
        envs = [c.env for c in check(spec, every_env=True).checked]
        out += [(spec, env) for env in envs]
    return out


BUILDS = _spec_builds()


@pytest.fixture(scope="module")
def full() -> dict[str, dict]:
    return dashboards_of(build_ok(FULL))


# --- every dashboard passes Grafana's schemas and the lint ---------------------------------------------------


@pytest.mark.parametrize(
    "spec,env", BUILDS, ids=[f"{s.parent.name}/{s.name}{'@' + e if e else ''}" for s, e in BUILDS]
)
def test_dashboards_validate(spec, env, tmp_path):
    require_logql_checker()
    artifacts = build_ok(spec, env)
    models = dashboards_of(artifacts)
    assert models
    for a in artifacts:
        if a.path.endswith(".json"):
            model = json.loads(a.text)
            assert validate_dashboard(model, a.path) == []
    assert grafana.verify(artifacts, _staged(artifacts, tmp_path)) == []


def _staged(artifacts, root: Path) -> Path:
    for a in artifacts:
        (root / a.path).parent.mkdir(parents=True, exist_ok=True)
        (root / a.path).write_text(a.text, encoding="utf-8")
    return root


def test_asset_ws_has_its_eight_panels():
    artifacts = build_ok(ASSET_WS)
    assert sorted(a.path for a in artifacts) == [
        "grafana/dashboards/asset-ws-ops.json",
        "grafana/provisioning/asset-ws.yml",
    ]
    d = dashboards_of(artifacts)["asset-ws-ops"]
    assert [p["title"] for p in d["panels"]] == [
        "API request volume (5m rate)",
        "API error rate (%)",
        "API average latency (ms)",
        "API route error breakdown",
        "WebSocket active connections",
        "WebSocket auth failures (5m)",
        "WebSocket session init failures (5m)",
        "Worker refresh success/error log counts (5m)",
    ]
    assert [p["type"] for p in d["panels"]] == ["timeseries"] * 4 + ["stat"] + ["timeseries"] * 2 + [
        "bargauge"
    ]
    assert d["refresh"] == "30s" and d["time"] == {"from": "now-6h", "to": "now"}


# --- identity: uids, ids, datasources ---------------------------------------------------------------------


def test_uids_are_stable_and_follow_naming(full):
    again = dashboards_of(build_ok(FULL))
    assert list(again) == list(full)
    assert set(full) == {
        dashboard_uid("shop-api", "overview"),
        "shop-minimal",
        dashboard_uid("shop-api", "slos"),
    }


def test_file_names_are_uids():
    for a in build_ok(FULL):
        if a.path.endswith(".json"):
            assert a.path == f"grafana/dashboards/{json.loads(a.text)['uid']}.json"


def test_panel_ids_unique_and_in_order(full):
    for d in full.values():
        ids = [p["id"] for p in all_panels(d)]
        assert ids == list(range(1, len(ids) + 1))


def test_no_import_placeholders():
    for spec, env in BUILDS:
        for a in build_ok(spec, env):
            assert "${DS_" not in a.text and "__inputs" not in a.text, a.path


def test_datasource_variables(full):
    overview = full["shop-api-overview"]
    ds = [v for v in overview["templating"]["list"] if v["type"] == "datasource"]
    assert [(v["name"], v["query"]) for v in ds] == [("datasource", "prometheus"), ("loki", "loki")]
    minimal = full["shop-minimal"]
    assert [v["name"] for v in minimal["templating"]["list"]] == ["datasource"]  # no logs, no loki variable
    for p in all_panels(overview):
        for t in p.get("targets", []):
            assert t["datasource"] in (
                {"type": "prometheus", "uid": "${datasource}"},
                {"type": "loki", "uid": "${loki}"},
            )


def test_mixed_panel_uses_the_mixed_datasource(full):
    p = _panel(full["shop-api-overview"], "Orders vs requests")
    assert p["datasource"] == {"type": "datasource", "uid": "-- Mixed --"}
    assert [t["datasource"]["type"] for t in p["targets"]] == ["loki", "prometheus"]


def test_dashboard_fields(full):
    d = full["shop-api-overview"]
    assert d["title"] == "Shop API overview"
    assert d["tags"] == ["team:shop", "obsctl", "shop-api"]
    assert d["timezone"] == "browser" and d["editable"] is False and d["graphTooltip"] == 1
    assert d["refresh"] == "1m" and d["time"] == {"from": "now-24h", "to": "now"}
    assert d["schemaVersion"] == grafana.SCHEMA_VERSION == 39
    assert d["description"].startswith("The golden signals.\n\nGenerated by obsctl from full.yaml")
    assert d["annotations"]["list"][0]["builtIn"] == 1
    assert d["links"][0]["url"] == "https://runbooks.example.org/shop-api"
    assert "refresh" not in full["shop-minimal"]
    assert "id" not in d


# --- variables -------------------------------------------------------------------------------------------


def test_spec_variables(full):
    by_name = {v["name"]: v for v in full["shop-api-overview"]["templating"]["list"]}
    route = by_name["route"]
    assert route["type"] == "query" and route["query"] == "label_values(http_requests_total, route)"
    assert route["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert route["multi"] is True and route["includeAll"] is True and route["label"] == "Route"
    env = by_name["env"]
    assert env["type"] == "custom" and env["query"] == "prod,staging\\,eu"
    assert [o["value"] for o in env["options"]] == ["prod", "staging,eu"]
    assert env["current"]["value"] == "prod"
    step = by_name["step"]
    assert step["type"] == "interval" and step["query"] == "1m,5m,1h"


# --- panels -------------------------------------------------------------------------------------------------


def _panel(d: dict, title: str) -> dict:
    found = [p for p in all_panels(d) if p.get("title") == title]
    assert len(found) == 1, title
    return found[0]


def test_every_panel_type(full):
    types = {p["type"] for p in all_panels(full["shop-api-overview"])}
    assert types == {"row", "timeseries", "stat", "gauge", "bargauge", "table", "logs", "text"}


def test_rows_expanded_and_collapsed(full):
    d = full["shop-api-overview"]
    traffic, logs = (p for p in d["panels"] if p["type"] == "row")
    assert traffic["collapsed"] is False and traffic["panels"] == []
    assert logs["collapsed"] is True
    assert [p["title"] for p in logs["panels"]] == ["Failed orders", "Orders per 5m", "Orders vs requests"]
    top = [p["title"] for p in d["panels"]]
    assert "Failed orders" not in top and "Requests by route" in top
    for row in (traffic, logs):
        assert row["gridPos"]["x"] == 0 and row["gridPos"]["w"] == 24 and row["gridPos"]["h"] == 1


def test_layout(full):
    d = full["shop-api-overview"]
    pos = {p["title"]: p["gridPos"] for p in all_panels(d)}
    assert pos["Traffic"] == {"h": 1, "w": 24, "x": 0, "y": 0}
    assert pos["Requests by route"] == {"h": 8, "w": 12, "x": 0, "y": 1}
    assert pos["Error ratio"] == {"h": 8, "w": 12, "x": 12, "y": 1}
    assert pos["Queue depth"] == {"h": 8, "w": 6, "x": 0, "y": 9}
    assert pos["Memory"] == {"h": 8, "w": 6, "x": 6, "y": 9}
    assert pos["p95 latency by route"] == {"h": 8, "w": 18, "x": 0, "y": 17}  # explicit width, wrapped
    assert pos["Raw override"] == {"h": 8, "w": 24, "x": 0, "y": 25}
    assert pos["Logs"] == {"h": 1, "w": 24, "x": 0, "y": 33}
    # Inside the collapsed row: positions as if expanded, right below it.
    assert pos["Failed orders"] == {"h": 8, "w": 24, "x": 0, "y": 34}
    assert pos["Orders per 5m"] == {"h": 8, "w": 12, "x": 0, "y": 42}
    # After a collapsed row the grid continues right below the row.
    assert pos["Notes"] == {"h": 3, "w": 24, "x": 0, "y": 34}
    assert pos["p95 latency"] == {"h": 6, "w": 24, "x": 0, "y": 37}


def test_units_decimals_min_max(full):
    d = full["shop-api-overview"]
    unit = {p["title"]: p["fieldConfig"]["defaults"].get("unit") for p in all_panels(d) if "fieldConfig" in p}
    assert unit["Requests by route"] == "reqps"  # explicit
    assert unit["Error ratio"] == "percentunit"  # from the derived metric
    assert unit["Queue depth"] == "short" and unit["Memory"] == "bytes"  # from the gauges
    assert unit["p95 latency by route"] == "s"  # a histogram in seconds: its quantile too
    assert unit["Raw override"] is None and unit["Orders per 5m"] is None
    defaults = _panel(d, "Error ratio")["fieldConfig"]["defaults"]
    assert defaults["decimals"] == 2 and defaults["min"] == 0 and defaults["max"] == 1


def test_thresholds_get_a_null_base_and_ascend(full):
    steps = _panel(full["shop-api-overview"], "Error ratio")["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [
        {"color": "green", "value": None},
        {"color": "orange", "value": 0.01},
        {"color": "red", "value": 0.05},
    ]
    asset = dashboards_of(build_ok(ASSET_WS))["asset-ws-ops"]
    steps = _panel(asset, "API average latency (ms)")["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "green", "value": None}, {"color": "red", "value": 750}]


def test_legend_and_stack(full):
    p = _panel(full["shop-api-overview"], "Requests by route")
    assert p["targets"][0]["legendFormat"] == "{{route}}"
    assert p["options"]["legend"]["displayMode"] == "table"
    assert p["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    hidden = _panel(full["shop-api-overview"], "p95 latency")
    assert hidden["options"]["legend"] == {
        "displayMode": "hidden",
        "placement": "bottom",
        "showLegend": False,
        "calcs": [],
    }
    assert (
        _panel(full["shop-api-overview"], "Error ratio")["fieldConfig"]["defaults"]["custom"]["stacking"][
            "mode"
        ]
        == "none"
    )


def test_ref_ids(full):
    for d in full.values():
        for p in all_panels(d):
            refs = [t["refId"] for t in p.get("targets", [])]
            assert refs == ["ABCDEFGHIJ"[k] for k in range(len(refs))]
    assert grafana._ref_id(25) == "Z" and grafana._ref_id(26) == "AA"


def test_text_panel(full):
    p = _panel(full["shop-api-overview"], "Notes")
    assert p["options"]["mode"] == "markdown" and p["options"]["content"].startswith("Owned by **shop**")
    assert "targets" not in p and "datasource" not in p


# --- queries -------------------------------------------------------------------------------------------------


def test_log_panels_use_log_queries_and_counts_metric_queries(full):
    d = full["shop-api-overview"]
    logs = _panel(d, "Failed orders")["targets"][0]
    assert logs["expr"] == '{service="shop-api"} |= "order failed" | logfmt | msg="order failed"'
    assert logs["queryType"] == "range"
    counts = _panel(d, "Orders per 5m")["targets"]
    assert [t["legendFormat"] for t in counts] == ["placed", "failed"]
    assert all(t["expr"].startswith('(sum(count_over_time({service="shop-api"}') for t in counts)
    assert all("[5m]" in t["expr"] for t in counts)


def test_overrides_replace_the_compiled_query(full):
    t = _panel(full["shop-api-overview"], "Raw override")["targets"]
    assert t[1]["expr"] == 'sum by (code) (rate(http_requests_total{job="shop-api"}[$__rate_interval]))'
    assert t[1]["format"] == "table" and t[1]["instant"] is True


def test_recording_rules_on_and_off(variant):
    """Derived metrics are queried by their recording rule only when both settings are on (documented in the
    backend's docstring): targets.grafana.use_recording_rules and targets.prometheus.recording_rules."""

    def expr_of(spec: Path) -> str:
        d = dashboards_of(build_ok(spec))["asset-ws-ops"]
        return _panel(d, "API error rate (%)")["targets"][0]["expr"]

    recorded = expr_of(ASSET_WS)
    assert recorded.startswith("service:api_error_rate_5m:")

    def grafana_off(data: dict) -> None:
        data.setdefault("targets", {}).setdefault("grafana", {})["use_recording_rules"] = False

    def prometheus_off(data: dict) -> None:
        data.setdefault("targets", {}).setdefault("prometheus", {})["recording_rules"] = False

    inline = (
        'sum(increase(api_requests_errors_total{job="asset-ws"}[5m])) / '
        'clamp_min(sum(increase(api_requests_total{job="asset-ws"}[5m])), 1)'
    )
    assert expr_of(variant(ASSET_WS, grafana_off)) == inline
    assert expr_of(variant(ASSET_WS, prometheus_off)) == inline


# --- the SLO dashboard ----------------------------------------------------------------------------------------


def test_slo_dashboard(full):
    d = full["shop-api-slos"]
    rows = [p for p in d["panels"] if p["type"] == "row"]
    assert [r["title"] for r in rows] == [
        "availability: 99.9% over 30d",
        "success: 99.5% over 28d",
        "latency: 99% over 30d",
        "orders: 99.95% over 7d",
    ]
    titles = [p["title"] for p in d["panels"] if p["type"] != "row"]
    assert titles.count("Burn rate by window") == 4
    assert (
        titles.count("Alerts firing") == 3
    )  # not for the SLO over log events: Prometheus has no alerts for it
    sli = _panel_after(d, "availability: 99.9% over 30d", "SLI over 30d")
    assert sli["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "red", "value": None},
        {"color": "green", "value": 0.999},
    ]
    burn = _panel_after(d, "availability: 99.9% over 30d", "Burn rate by window")
    assert [t["legendFormat"] for t in burn["targets"]] == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    assert [s["value"] for s in burn["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [
        None,
        1,
        3,
        6,
        14.4,
    ]
    orders = _panel_after(d, "orders: 99.95% over 7d", "Burn rate by window")
    assert orders["datasource"]["type"] == "loki"
    # Only the enabled tier's windows and factor: the disabled ticket tier is neither recorded nor drawn.
    assert [s["value"] for s in orders["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 16.8]
    assert [t["legendFormat"] for t in orders["targets"]] == ["5m", "1h"]


def test_slo_queries_use_the_prometheus_slo_names(full):
    """The dashboard reads the SLO's record and alert names from the plan, as the Prometheus SLO rules do."""
    from obsctl.plan import slos as prometheus_slo

    spec = check(FULL).checked[0].spec
    names = prometheus_slo.record_names(spec, "availability")
    d = full["shop-api-slos"]
    row = "availability: 99.9% over 30d"
    sel = names["selector"]
    assert (
        _panel_after(d, row, "SLI over 30d")["targets"][0]["expr"]
        == f"1 - {names['error_ratio']['30d']}{sel}"
    )
    assert (
        _panel_after(d, row, "Error budget remaining (30d)")["targets"][0]["expr"]
        == names["budget_remaining"] + sel
    )
    assert (
        _panel_after(d, row, "Burn rate by window")["targets"][2]["expr"]
        == f"{names['error_ratio']['1h']}{sel} / 0.001"
    )
    alertname = prometheus_slo.alert_name(spec, "availability")
    assert (
        _panel_after(d, row, "Alerts firing")["targets"][0]["expr"]
        == f'sum(ALERTS{{alertname="{alertname}", alertstate="firing", action="page"}}) or vector(0)'
    )


def test_slo_queries_inline_without_recording_rules(variant):
    spec = variant(
        FULL, lambda d: d.setdefault("targets", {}).update({"grafana": {"use_recording_rules": False}})
    )
    d = dashboards_of(build_ok(spec))["shop-api-slos"]
    exprs = [t["expr"] for p in all_panels(d) for t in p.get("targets", [])]
    assert not any("slo:" in e for e in exprs)
    burn = _panel_after(d, "availability: 99.9% over 30d", "Burn rate by window")
    assert burn["targets"][0]["expr"] == (
        '((sum(rate(http_requests_total{job="shop-api", code=~"5.."}[5m])) or vector(0)) / '
        'sum(rate(http_requests_total{job="shop-api"}[5m]))) / 0.001'
    )
    latency = _panel_after(d, "latency: 99% over 30d", "SLI over 30d")["targets"][0]["expr"]
    assert latency == (
        '1 - (1 - (sum(rate(http_request_duration_seconds_bucket{job="shop-api", le="0.5"}[30d])) '
        'or vector(0)) / sum(rate(http_request_duration_seconds_count{job="shop-api"}[30d])))'
    )


def test_dashboards_query_what_prometheus_records(variant):
    """Every record a dashboard queries is recorded by the Prometheus rules built from the same spec, and every
    ALERTS selector names an alert those rules define, with the action label it filters on."""
    require_promtool()
    spec = variant(
        FULL, lambda d: d["slos"].pop("orders")
    )  # Prometheus SLO rules count metrics, not log lines
    artifacts = build_ok(spec, targets=("prometheus", "grafana"))
    recorded, alerts = set(), set()
    for a in artifacts:
        if a.path.startswith("prometheus/") and a.path.endswith(".rules.yml"):
            for group in yaml.safe_load(a.text)["groups"]:
                for rule in group["rules"]:
                    if "record" in rule:
                        recorded.add(rule["record"])
                    else:
                        alerts.add((rule["alert"], rule["labels"].get("action")))
    queried, firing = set(), set()
    for d in dashboards_of(artifacts).values():
        for t in targets(d):
            if t["datasource"]["type"] != "prometheus":
                continue
            code = re.sub(r'"(?:\\.|[^"\\])*"', '""', t["expr"])
            queried |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*:[A-Za-z0-9_:]+", code))
            firing |= set(re.findall(r'alertname="([^"]+)", alertstate="firing", action="(\w+)"', t["expr"]))
    assert any(q.startswith("slo:") for q in queried) and any(q.startswith("service:") for q in queried)
    assert queried <= recorded, queried - recorded
    assert firing and firing <= alerts, firing - alerts


def _panel_after(d: dict, row_title: str, title: str) -> dict:
    current = None
    for p in d["panels"]:
        if p["type"] == "row":
            current = p["title"]
        elif current == row_title and p["title"] == title:
            return p
    raise AssertionError(f"{title} not in row {row_title}")


def test_no_slo_dashboard_without_slos():
    assert "asset-ws-slos" not in dashboards_of(build_ok(ASSET_WS))


# --- provisioning --------------------------------------------------------------------------------------------


def test_provisioning_yaml():
    artifacts = build_ok(FULL)
    text = next(a.text for a in artifacts if a.path.startswith("grafana/provisioning/"))
    assert text.startswith("# Generated by obsctl from full.yaml")
    doc = yaml.safe_load(text)
    assert doc["apiVersion"] == 1
    (p,) = doc["providers"]
    assert p["name"] == "obsctl-shop-api" and p["type"] == "file" and p["folder"] == ""
    assert p["options"] == {
        "path": "/var/lib/grafana/dashboards/shop-api",
        "foldersFromFilesStructure": False,
    }
    assert grafana.provisioning_problems(doc) == []


def test_provisioning_folder(variant):
    spec = variant(FULL, lambda d: d.setdefault("targets", {}).update({"grafana": {"folder": "Shop: prod"}}))
    text = next(a.text for a in build_ok(spec) if a.path.endswith(".yml"))
    assert yaml.safe_load(text)["providers"][0]["folder"] == "Shop: prod"


@pytest.mark.parametrize(
    "doc,expected",
    [
        ({"apiVersion": 1, "providers": []}, "providers must be a non-empty list"),
        ({"apiVersion": 2, "providers": [{"name": "a", "options": {"path": "/x"}}]}, "apiVersion must be 1"),
        (
            {"apiVersion": 1, "providers": [{"name": "a", "options": {}}]},
            "providers[0].options.path is required",
        ),
        (
            {
                "apiVersion": 1,
                "providers": [
                    {"name": "a", "folder": "f", "options": {"path": "/x", "foldersFromFilesStructure": True}}
                ],
            },
            "folder must be empty",
        ),
    ],
)
def test_provisioning_problems_catch_mistakes(doc, expected):
    assert any(expected in p for p in grafana.provisioning_problems(doc))


# --- determinism and templates -----------------------------------------------------------------------------


def test_builds_are_byte_identical():
    first = {a.path: a.text for a in build_ok(FULL)}
    second = {a.path: a.text for a in build_ok(FULL)}
    assert first == second
    for path, text in first.items():
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        if path.endswith(".json"):
            assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_user_templates_override(tmp_path):
    (tmp_path / "grafana").mkdir()
    (tmp_path / "grafana" / "dashboard.json.j2").write_text(
        '{"uid": {{ dashboard.uid | tojson }}, "title": {{ dashboard.title | tojson }}, "schemaVersion": 39, '
        '"panels": [], "templating": {"list": []}, "annotations": {"list": []}}\n',
        encoding="utf-8",
    )
    artifacts, errors = build(ASSET_WS, templates=tmp_path)
    # The override was used, and verify() judged what it produced: it lacks the datasource variable.
    dashboard = next(a.text for a in artifacts if a.path.endswith(".json"))
    assert dashboard.startswith('{"uid": "asset-ws-ops", "title": "asset-ws operations", "schemaVersion": 39')
    assert any("datasource variable" in d.message for d in errors)


# --- what the backend refuses, with the spec location --------------------------------------------------------


def _with_panel(panel: dict):
    def change(data: dict) -> None:
        data["dashboards"]["ops"]["panels"].append(panel)

    return change


@pytest.mark.parametrize(
    "change,code,text",
    [
        (
            _with_panel({"title": "x", "expr": "ws_connections_active", "unit": "precent"}),
            "OBS515",
            "'precent' is not a Grafana unit",
        ),
        (
            _with_panel({"title": "x", "type": "stat", "expr": "ws_connections_active", "stack": True}),
            "OBS516",
            "stack applies to timeseries panels",
        ),
        (
            _with_panel(
                {
                    "title": "x",
                    "expr": "ws_connections_active",
                    "thresholds": [{"value": None, "color": "green"}, {"value": None, "color": "red"}],
                }
            ),
            "OBS517",
            "only one threshold may have value null",
        ),
        (
            _with_panel(
                {"title": "x", "queries": [{"expr": "ws_connections_active"}], "overrides": {"promql": "up"}}
            ),
            "OBS511",
            "give overrides per query",
        ),
        (
            lambda d: d["dashboards"]["ops"].update(
                {"variables": [{"name": "datasource", "type": "custom", "values": ["a"]}]}
            ),
            "OBS513",
            "reserved",
        ),
        (
            lambda d: d["dashboards"].update(
                {"copy": {"title": "Copy", "uid": "asset-ws-ops", "panels": []}}
            ),
            "OBS512",
            "also the uid of dashboard 'ops'",
        ),
        (
            lambda d: d["dashboards"]["ops"].update(
                {"variables": [{"name": "step", "type": "interval", "values": ["soon"]}]}
            ),
            "OBS514",
            "not a duration",
        ),
    ],
)
def test_backend_errors(variant, change, code, text):
    artifacts, errors = build(variant(ASSET_WS, change))
    assert not artifacts
    assert [d.code for d in errors] == [code], [d.message for d in errors]
    assert text in errors[0].message
    assert errors[0].location is not None and errors[0].location.line > 1


def test_thresholds_are_prepended_a_base_and_sorted(variant):
    spec = variant(
        ASSET_WS,
        _with_panel(
            {
                "title": "x",
                "expr": "ws_connections_active",
                "thresholds": [{"value": 100, "color": "red"}, {"value": 10, "color": "orange"}],
            }
        ),
    )
    steps = _panel(dashboards_of(build_ok(spec))["asset-ws-ops"], "x")["fieldConfig"]["defaults"][
        "thresholds"
    ]
    assert steps["steps"] == [
        {"color": "green", "value": None},
        {"color": "orange", "value": 10},
        {"color": "red", "value": 100},
    ]


# --- verify() catches what a broken template would produce ----------------------------------------------------


def test_verify_reports_broken_dashboards(tmp_path):
    require_logql_checker()
    artifacts = build_ok(ASSET_WS)
    model = json.loads(artifacts[0].text)
    model["panels"][0]["gridPos"]["w"] = 25
    model["panels"][1]["id"] = model["panels"][2]["id"]
    broken = [grafana.Artifact(artifacts[0].path, json.dumps(model)), artifacts[1]]
    problems = [str(p) for p in grafana.verify(broken, _staged(broken, tmp_path))]
    assert any("duplicate panel id" in p for p in problems)
    assert any("gridPos" in p for p in problems)


def test_every_target_expression_is_checked(full):
    # Guard against a lint that checks nothing: the fixture does carry PromQL and LogQL targets.
    kinds = {t["datasource"]["type"] for d in full.values() for t in targets(d)}
    assert kinds == {"prometheus", "loki"}


def test_verify_names_a_missing_logql_checker(monkeypatch, tmp_path):
    artifacts = build_ok(ASSET_WS)
    staged = _staged(artifacts, tmp_path)

    def missing():
        raise ToolMissing("logql-check")

    monkeypatch.setattr("obsctl.verify.logql.logql_checker", missing)
    problems = grafana.verify(artifacts, staged)
    # the schemas still ran; the LogQL parse is reported as skipped (a warning in `build`), naming the install step
    assert [str(p) for p in problems] == [
        "not checked with logql-check: it is not installed (npm ci --prefix tools/logql-check)"
    ]


@pytest.mark.parametrize(
    "spec", [s for s in EXAMPLES if len(check(s, every_env=True).checked) > 1], ids=lambda s: s.parent.name
)
def test_environments_can_share_a_grafana(spec):
    """Each environment's provider, directory and SLO dashboard are its own, so one Grafana can load them all."""
    envs = [c.env for c in check(spec, every_env=True).checked if c.env]
    uids: dict[str, str] = {}
    providers = set()
    for env in envs:
        artifacts = build_ok(spec, env)
        for uid in dashboards_of(artifacts):
            assert uid not in uids, f"{uid} in both {uids[uid]} and {env}"
            uids[uid] = env
        doc = yaml.safe_load(next(a.text for a in artifacts if a.path.endswith(".yml")))
        (p,) = doc["providers"]
        assert env in p["name"] and p["options"]["path"].endswith(f"-{env}")
        providers.add((p["name"], p["options"]["path"]))
    assert len(providers) == len(envs)


def test_variable_on_a_selector_label_replaces_its_matcher(build, tmp_path):
    """Issue 10: `{env="$env"}` on a label the source selector fixes replaces the selector's matcher; both together
    (`{env="prod", env="$env"}`) could never select another environment."""
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(
        "service: demo\nsources:\n  metrics: {selector: {job: demo, env: prod}}\n"
        "metrics:\n  requests_total: {kind: counter, labels: [route, env]}\n"
        "dashboards:\n  main:\n    title: Main\n"
        "    variables:\n      - {name: env, type: query, query: 'label_values(requests_total, env)'}\n"
        "    panels:\n      - {title: p, expr: 'sum by (route) (rate(requests_total{env=\"$env\"}))'}\n",
        encoding="utf-8",
    )
    text = build(spec, ["grafana"])["grafana/dashboards/demo-main.json"]
    assert 'requests_total{job=\\"demo\\", env=\\"$env\\"}' in text
    assert 'env=\\"prod\\"' not in text


def test_refresh_zero_means_no_auto_refresh(variant):
    """Found by tests/core/test_fuzz_specs.py: `refresh: 0` validated but wrote "refresh": "0", which Grafana's schema
    refuses; zero now leaves auto-refresh off."""
    from obsctl.build import render

    spec = variant(FULL, lambda d: next(iter(d["dashboards"].values())).update({"refresh": "0"}))
    artifacts, diags, _ = render(spec, ["grafana"], None)
    assert not [d for d in diags if d.level == "error"], [d.message for d in diags]
    dashboards = [json.loads(a.text) for a in artifacts if a.path.endswith(".json")]
    assert all("refresh" not in d or d["refresh"] != "0" for d in dashboards)
