import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from referencing.exceptions import Unresolvable

from obsctl.verify import grafana
from obsctl.verify.grafana import lint_dashboard, substitute_macros, validate_dashboard
from obsctl.verify.grafana_units import GRAFANA_UNITS, is_grafana_unit
from obsctl.verify.promtool import promql_errors
from obsctl.verify.tools import ToolMissing

DATA = Path(__file__).parent / "data"


@pytest.fixture
def realistic() -> dict:
    """target-formats §3.1's realistic dashboard (Prometheus + Loki, an expanded and a collapsed row)."""
    return json.loads((DATA / "dashboard_realistic.json").read_text())


@pytest.fixture
def prom_only(realistic) -> dict:
    """The realistic dashboard without its Loki row: validating it needs no node."""
    d = copy.deepcopy(realistic)
    del d["panels"][4]
    return d


def test_realistic_dashboard_passes(require_tool, realistic):
    require_tool("logql-check")
    assert validate_dashboard(realistic, "asset-worker.json") == []


def test_prometheus_only_dashboard_needs_no_node(prom_only, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert validate_dashboard(prom_only) == []


def test_loki_queries_without_node_raise_tool_missing(realistic, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolMissing, match="npm ci --prefix tools/logql-check"):
        validate_dashboard(realistic)


def _set(path: str, value):
    """Mutation setting a dotted/indexed path such as "panels[1].gridPos.w"."""

    def mutate(d):
        keys = [int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "").split(".")]
        target = d
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value

    return mutate


def _dup_id_in_collapsed_row(d):
    child = copy.deepcopy(d["panels"][2])  # the stat panel, id 3
    child["gridPos"]["y"] = 15
    d["panels"].append(
        {"type": "row", "id": 9, "title": "More", "collapsed": True, "gridPos": {"h": 1, "w": 24, "x": 0, "y": 14},
         "panels": [child]}
    )  # fmt: skip


def _dup_ref_id(d):
    d["panels"][1]["targets"].append(copy.deepcopy(d["panels"][1]["targets"][0]))


def _no_datasource_variable(d):
    d["templating"]["list"] = [v for v in d["templating"]["list"] if v["type"] != "datasource"]


# (mutation, where, expected message fragment)
BAD = {
    "removed field style": (_set("style", "dark"), "", "'style' was unexpected"),
    "HTTP API envelope": (lambda d: d.update(dashboard={}, overwrite=True), "", "'dashboard', 'overwrite' were unexpected"),
    "string schemaVersion": (_set("schemaVersion", "39"), "schemaVersion", "'39' is not of type 'integer'"),
    "refresh false": (_set("refresh", False), "refresh", "False is not of type 'string'"),
    "w 25": (_set("panels[1].gridPos.w", 25), "panels[1].gridPos.w", "25 is greater than the maximum of 24"),
    "x + w > 24": (_set("panels[2].gridPos.x", 20), "panels[2].gridPos", "outside the 24-column grid"),
    "overlapping panels": (_set("panels[2].gridPos.x", 10), "panels[2].gridPos", "overlaps panels[1]"),
    "row narrower than grid": (_set("panels[0].gridPos.w", 12), "panels[0].gridPos.w", "obsctl schema: 24 was expected"),
    "row without collapsed": (lambda d: d["panels"][0].pop("collapsed"), "panels[0]", "'collapsed' is a required property"),
    "duplicate panel id": (_set("panels[2].id", 2), "panels[2].id", "duplicate panel id 2 (also used by panels[1])"),
    "duplicate id inside collapsed row": (_dup_id_in_collapsed_row, "panels[5].panels[0].id", "duplicate panel id 3"),
    "legendFormat not a string": (_set("panels[1].targets[0].legendFormat", 5), "panels[1].targets[0].legendFormat", "5 is not of type 'string'"),
    "unknown target key": (_set("panels[1].targets[0].query", "up"), "panels[1].targets[0]", "'query' was unexpected"),
    "PromQL syntax": (_set("panels[1].targets[0].expr", "rate(x[$__rate_interval)"), "panels[1].targets[0].expr", "PromQL does not parse: unexpected character inside brackets"),
    "unit typo": (_set("panels[1].fieldConfig.defaults.unit", "precent"), "panels[1].fieldConfig.defaults.unit", "unknown Grafana unit 'precent'"),
    "first threshold not null": (_set("panels[2].fieldConfig.defaults.thresholds.steps[0].value", 0), "panels[2].fieldConfig.defaults.thresholds.steps[0].value", "is not of type 'null'"),
    "thresholds descending": (_set("panels[2].fieldConfig.defaults.thresholds.steps[2].value", 0.01), "panels[2].fieldConfig.defaults.thresholds.steps[2].value", "threshold steps must ascend: 0.01 after 0.02"),
    "null threshold after the first": (_set("panels[2].fieldConfig.defaults.thresholds.steps[1].value", None), "panels[2].fieldConfig.defaults.thresholds.steps[1].value", "is not of type 'number'"),
    "duplicate refId": (_dup_ref_id, "panels[1].targets[1].refId", "duplicate refId 'A'"),
    "import placeholder": (_set("panels[1].datasource", {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}), "panels[1].datasource", "import placeholder"),
    "datasource type mismatch": (_set("panels[1].datasource", {"type": "loki", "uid": "${datasource}"}), "panels[1].datasource", "variable 'datasource' selects 'prometheus'"),
    "legacy string datasource": (_set("panels[1].datasource", "Prometheus"), "panels[1].datasource", "'Prometheus' is not of type 'object'"),
    "no datasource variable": (_no_datasource_variable, "templating.list", "needs a datasource variable"),
    "stat option enum": (_set("panels[2].options.colorMode", "rainbow"), "panels[2].options.colorMode", "'rainbow' is not one of"),
    "timeseries option typo": (_set("panels[1].options.legendd", {}), "panels[1].options", "'legendd' was unexpected"),
    "timeseries custom enum": (_set("panels[1].fieldConfig.defaults.custom.drawStyle", "dots"), "panels[1].fieldConfig.defaults.custom.drawStyle", "'dots' is not one of ['line', 'bars', 'points']"),
    "text panel with a query": (_set("panels[4].targets", [{"refId": "A", "expr": "up"}]), "panels[4].targets", "text panels query nothing"),
    "instance id": (_set("id", 5), "id", "omit or null in provisioned files"),
    "uid too long": (_set("uid", "x" * 41), "uid", "does not match"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_broken_dashboards_are_caught(prom_only, case):
    mutate, where, fragment = BAD[case]
    mutate(prom_only)
    problems = validate_dashboard(prom_only, "d.json")
    assert any(p.where == where and fragment in p.message for p in problems), "\n".join(map(str, problems))
    assert all(p.file == "d.json" for p in problems)


def test_optional_fields_missing_from_panel_options_are_fine(prom_only):
    # Grafana's panel schemas list defaulted options as required; the validator ignores that.
    prom_only["panels"][2]["options"] = {"colorMode": "value"}
    assert validate_dashboard(prom_only) == []


def test_value_mappings_are_checked_against_their_own_kind(prom_only):
    defaults = prom_only["panels"][2]["fieldConfig"]["defaults"]
    defaults["mappings"] = [{"type": "value", "options": {"1": {"text": "up", "color": "green"}}}]
    assert validate_dashboard(prom_only) == []
    defaults["mappings"] = [{"type": "range", "options": {"from": "a", "to": 1, "result": {"text": "x"}}}]
    [problem] = validate_dashboard(prom_only)
    assert problem.where == "panels[2].fieldConfig.defaults.mappings[0].options.from"


def test_collapsed_row_children_live_on_their_own_grid(prom_only):
    child = copy.deepcopy(prom_only["panels"][1])
    child["id"] = 10
    child["gridPos"] = {"h": 8, "w": 12, "x": 0, "y": 15}  # would overlap the text panel if expanded
    prom_only["panels"][4]["gridPos"]["y"] = 15
    prom_only["panels"].insert(
        4, {"type": "row", "id": 9, "title": "More", "collapsed": True, "gridPos": {"h": 1, "w": 24, "x": 0, "y": 14},
            "panels": [child]}
    )  # fmt: skip
    assert validate_dashboard(prom_only) == []


def test_loki_targets(require_tool, realistic):
    require_tool("logql-check")
    rows = realistic["panels"][4]["panels"]
    rows[0]["targets"][0]["expr"] = "count_over_time({app=x} [5m])"
    rows[1]["targets"][0]["expr"] = 'sum(count_over_time({service="a"} [$__auto]))'
    problems = {p.where: p.message for p in validate_dashboard(realistic)}
    assert problems == {
        "panels[4].panels[0].targets[0].expr": "LogQL syntax error at 1:22 near 'x} [5m])'",
        "panels[4].panels[1].targets[0].expr": "logs panel needs a log query, not a metric query",
    }
    rows[0]["targets"][0]["expr"] = '{service="a"} |= "x"'
    rows[1]["targets"][0]["expr"] = '{service="a"} |= "$search"'
    [problem] = validate_dashboard(realistic)
    assert problem.where == "panels[4].panels[0].targets[0].expr"
    assert "timeseries panel needs a LogQL metric query" in problem.message


def test_lint_alone_skips_the_schemas(prom_only):
    prom_only["style"] = "dark"  # a schema error the lint does not look at
    prom_only["panels"][2]["id"] = 2
    assert [p.message for p in lint_dashboard(prom_only)] == ["duplicate panel id 2 (also used by panels[1])"]


def test_minimal_dashboard_is_grafana_valid_but_not_what_obsctl_emits():
    minimal = {"uid": "obsctl-minimal", "title": "Minimal", "schemaVersion": 39, "templating": {"list": []},
               "annotations": {"list": []}, "panels": []}  # fmt: skip
    problems = validate_dashboard(minimal)
    assert problems and all(p.message.startswith("obsctl schema:") for p in problems)
    assert {p.where for p in problems} == {"", "templating.list"}  # no time range, no datasource variable


# --- schemas ---------------------------------------------------------------------------------------


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for v in node.values():
            yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


@pytest.mark.parametrize("path", sorted(grafana.SCHEMA_DIR.glob("*.jsonschema.json")), ids=lambda p: p.name)
def test_every_ref_in_shipped_schemas_resolves_offline(path):
    schema = json.loads(path.read_text())
    Draft7Validator.check_schema(schema)
    resolver = grafana._registry().resolver(base_uri=grafana.SCHEMA_BASE + path.name)
    refs = set(_refs(schema))
    for ref in refs:
        resolver.lookup(ref)  # raises Unresolvable if a ref points outside specs/grafana
    # cross-file refs resolve from the registry, e.g. to common's DataQuery
    resolver.lookup("common.jsonschema.json#/definitions/DataQuery")


def test_unknown_remote_refs_are_not_fetched():
    with pytest.raises(Unresolvable):
        grafana._registry().resolver().lookup("https://example.com/schema.json")


def test_obsctl_schema_is_valid_draft7():
    Draft7Validator.check_schema(json.loads(grafana.OBSCTL_SCHEMA.read_text()))


# --- Grafana macros and units ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('rate(x{env="$env"}[$__rate_interval])', 'rate(x{env="$env"}[5m])'),
        ("rate(x[${__rate_interval}])", "rate(x[5m])"),
        ("increase(x[$__range]) > ${threshold}", "increase(x[5m]) > 1"),
        ("topk($n, sum by ($grp) (rate(x[$window])))", "topk(1, sum by (grp) (rate(x[5m])))"),
        ("max_over_time(x[1h:$step]) offset $shift", "max_over_time(x[1h:5m]) offset 5m"),
        ("x * $__interval_ms / 1000 + $__range_s", "x * 60000 / 1000 + 60"),
        ('sum(count_over_time({a="$v"} |= "$q" [$__auto]))', 'sum(count_over_time({a="$v"} |= "$q" [5m]))'),
    ],
)
def test_grafana_macros_are_substituted_outside_strings(expr, expected):
    assert substitute_macros(expr) == expected


def test_substituted_promql_parses():
    expr = 'sum by (code) (rate(http_requests_total{env=~"${env:regex}"}[$__rate_interval])) > $threshold'
    assert promql_errors(substitute_macros(expr)) is None


def test_units():
    common = "short percent percentunit s ms µs ns bytes decbytes bps reqps ops none".split()
    assert set(common) <= GRAFANA_UNITS
    assert is_grafana_unit("suffix: req") and is_grafana_unit("currency:CHF") and is_grafana_unit("si:ms")
    assert not is_grafana_unit("precent")
    assert not is_grafana_unit("seconds")
    assert not is_grafana_unit("suffix:")
