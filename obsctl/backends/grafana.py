"""Grafana backend: a dashboard JSON per spec dashboard, an SLO dashboard, and the file-provisioning YAML.

Output (paths relative to the build directory):
    grafana/dashboards/<uid>.json        bare dashboard models, as file provisioning reads them
    grafana/provisioning/<service>.yml   the dashboard provider pointing Grafana at those files (one per service)

Choices that matter to users:
- Datasources are template variables (`datasource` of type prometheus, `loki` of type loki when a dashboard
  queries logs), never `${DS_...}` import placeholders, which file provisioning does not substitute.
  `targets.grafana.prometheus_datasource` / `loki_datasource` name the instance selected by default.
- Panels on derived metrics query the recording rule when `targets.grafana.use_recording_rules` and
  `targets.prometheus.recording_rules` are both true (deploy the Prometheus rules with the dashboards);
  otherwise they carry the derived metric's whole expression inline. The SLO dashboard queries the SLO
  recordings of the Prometheus SLO rules (named by obsctl.plan.slos, always part of the Prometheus rules) when
  `use_recording_rules` is true, else the same error ratios inline.
- `schemaVersion` 39: the JSON model version of Grafana 10.x, whose migrations newer Grafanas apply as no-ops
  to the modern field set emitted here (React panels, {type, uid} datasource references).
- Layout: panels flow left to right on the 24-column grid and wrap; rows span the width.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..compile.promql import CompileError, matchers_text, number
from ..diagnostics import did_you_mean
from ..durations import parse_duration
from ..expr import ast
from ..naming import dashboard_uid, slug
from ..plan import Plan
from ..plan.sli import error_ratio
from ..plan.slos import alert_name, window_name
from ..verify import Finding, Problem, Skipped, read_yaml
from . import Artifact, BackendError, Renderer

if TYPE_CHECKING:
    from ..model import SLO, Panel, Spec

SCHEMA_VERSION = 39
GRID_WIDTH = 24
DASHBOARD_DIR = "grafana/dashboards"
SLO_DASHBOARD_KEY = "slos"
ALERTS_TITLE = "Alerts firing"

PROM_DS = {"type": "prometheus", "uid": "${datasource}"}
LOKI_DS = {"type": "loki", "uid": "${loki}"}
MIXED_DS = {"type": "datasource", "uid": "-- Mixed --"}
_DATASOURCES = {"prometheus": PROM_DS, "loki": LOKI_DS}

GRAFANA_TYPE = {
    "timeseries": "timeseries",
    "stat": "stat",
    "gauge": "gauge",
    "bar": "bargauge",
    "table": "table",
    "logs": "logs",
    "text": "text",
}
DEFAULT_WIDTH = {"timeseries": 12, "stat": 6, "gauge": 6, "bar": 12, "table": 24, "logs": 24, "text": 24}
DEFAULT_HEIGHT = {"text": 4}
PANEL_HEIGHT = 8
# Panels showing one value per series query the latest sample only.
_INSTANT = {"gauge", "bar", "table"}

# Unit names metric catalogs commonly use, mapped to Grafana unit ids.
_UNIT_ALIASES = {
    "seconds": "s",
    "second": "s",
    "milliseconds": "ms",
    "millisecond": "ms",
    "microseconds": "µs",
    "ratio": "percentunit",
    "bytes_per_second": "Bps",
    "requests_per_second": "reqps",
}
# Functions whose result keeps the unit of their argument (a gauge's average is still in its unit).
_UNIT_KEEPING = {
    "sum",
    "avg",
    "min",
    "max",
    "topk",
    "bottomk",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "abs",
    "ceil",
    "floor",
    "round",
    "clamp_min",
    "clamp_max",
    "quantile",
    "histogram_quantile",
}

BUILTIN_ANNOTATION = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


# --- the backend interface ---------------------------------------------------------------------------------


def build(plan: Plan, renderer: Renderer) -> list[Artifact]:
    """Every dashboard of the spec (plus the SLO dashboard when it has SLOs) and the provider YAML."""
    errors = []
    artifacts = []
    for uid, model in dashboards(plan, errors):
        text = renderer.render("grafana/dashboard.json.j2", dashboard=model)
        artifacts.append(
            Artifact(f"{DASHBOARD_DIR}/{uid}.json", text if text.endswith("\n") else text + "\n")
        )
    if errors:
        raise BackendError(errors)
    artifacts.append(Artifact(provisioning_file(plan), provisioning(plan, renderer)))
    return artifacts


VERIFY_READS_FILES = False  # verify() reads Artifact.text only


def verify(artifacts: list[Artifact], staging: Path) -> list[Finding]:
    """Parse every file back: dashboards through Grafana's schemas and the lint, the provider YAML by hand."""
    import yaml

    from ..verify.grafana import schema_problems, validate_dashboard
    from ..verify.tools import ToolMissing

    problems: list[Finding] = []
    uids: dict[str, str] = {}
    for a in artifacts:
        text = a.text
        if a.path.endswith(".json"):
            try:
                model = json.loads(text)
            except ValueError as e:
                problems.append(Problem(a.path, f"not JSON: {e}"))
                continue
            try:
                problems += validate_dashboard(model, a.path)
            except ToolMissing as e:  # LogQL targets are parsed by Grafana's own parser, run with node
                problems += schema_problems(model, a.path)
                problems.append(Skipped(e.tool, e.hint))
            uid = model.get("uid") if isinstance(model, dict) else None
            if uid in uids:
                problems.append(Problem(a.path, f"uid {uid!r} is also used by {uids[uid]}", "uid"))
            elif isinstance(uid, str):
                uids[uid] = a.path
                if Path(a.path).stem != uid:
                    problems.append(Problem(a.path, f"file name does not match uid {uid!r}", "uid"))
        elif a.path.startswith("grafana/provisioning/"):
            try:
                doc = read_yaml(text)
            except yaml.YAMLError as e:
                problems.append(Problem(a.path, f"not YAML: {e}"))
                continue
            problems += [Problem(a.path, msg) for msg in provisioning_problems(doc)]
        else:
            problems.append(Problem(a.path, "unexpected Grafana artifact"))
    return problems


def provisioning_problems(doc: object) -> list[str]:
    """What Grafana's file provisioning would reject or misread in a dashboard provider document."""
    if not isinstance(doc, dict):
        return ["provider file is not a mapping"]
    problems = []
    if doc.get("apiVersion") != 1:
        problems.append("apiVersion must be 1")
    providers = doc.get("providers")
    if not isinstance(providers, list) or not providers:
        return problems + ["providers must be a non-empty list"]
    names = set()
    for i, p in enumerate(providers):
        where = f"providers[{i}]"
        if not isinstance(p, dict):
            problems.append(f"{where} is not a mapping")
            continue
        if not isinstance(p.get("name"), str) or not p["name"]:
            problems.append(f"{where}.name is required")
        elif p["name"] in names:
            problems.append(f"{where}.name {p['name']!r} is not unique")
        names.add(p.get("name"))
        if p.get("type", "file") != "file":
            problems.append(f"{where}.type must be 'file'")
        if not isinstance(p.get("orgId", 1), int):
            problems.append(f"{where}.orgId must be an integer")
        if not isinstance(p.get("folder", ""), str):
            problems.append(f"{where}.folder must be a string")
        for key in ("disableDeletion", "allowUiUpdates"):
            if not isinstance(p.get(key, False), bool):
                problems.append(f"{where}.{key} must be true or false")
        if not isinstance(p.get("updateIntervalSeconds", 10), int):
            problems.append(f"{where}.updateIntervalSeconds must be an integer")
        options = p.get("options")
        if not isinstance(options, dict) or not isinstance(options.get("path"), str) or not options["path"]:
            problems.append(f"{where}.options.path is required")
            continue
        if not options["path"].startswith("/"):
            problems.append(f"{where}.options.path should be absolute")
        ffs = options.get("foldersFromFilesStructure", False)
        if not isinstance(ffs, bool):
            problems.append(f"{where}.options.foldersFromFilesStructure must be true or false")
        elif ffs and p.get("folder"):
            problems.append(f"{where}: folder must be empty when foldersFromFilesStructure is true")
    return problems


# --- provisioning --------------------------------------------------------------------------------------------


def deployment(plan: Plan) -> str:
    """The service, with the environment when building one: what a provider and the SLO dashboard are named after,
    so the environments of one service can share a Grafana."""
    return f"{plan.spec.service}-{slug(plan.env)}" if plan.env else plan.spec.service


def provisioning_file(plan: Plan) -> str:
    """One provisioning file per service (and environment): Grafana reads every file in provisioning/dashboards/,
    and services share the output directory."""
    return f"grafana/provisioning/{deployment(plan)}.yml"


def provider_path(plan: Plan) -> str:
    return f"/var/lib/grafana/dashboards/{deployment(plan)}"


def provisioning(plan: Plan, renderer: Renderer) -> str:
    return renderer.render(
        "grafana/provisioning.yml.j2",
        service=deployment(plan),
        name=f"obsctl-{deployment(plan)}",
        folder=plan.spec.targets.grafana.folder,
        path=provider_path(plan),
    )


# --- dashboards ----------------------------------------------------------------------------------------------


def dashboards(plan: Plan, errors: list | None = None) -> list[tuple[str, dict]]:
    """(uid, dashboard model) for every spec dashboard, then the SLO dashboard. Collects diagnostics in
    `errors` when given, else raises BackendError."""
    own = errors if errors is not None else []
    out: list[tuple[str, dict]] = []
    seen: dict[str, str] = {}
    for key, d in plan.spec.dashboards.items():
        b = _Builder(plan, ("dashboards", key))
        model = b.dashboard(key, d)
        own += b.errors
        uid = model["uid"]
        if uid in seen:
            own.append(
                plan.error(
                    "OBS512",
                    f"dashboard uid '{uid}' is also the uid of dashboard '{seen[uid]}'",
                    ("dashboards", key),
                    "give one of them an explicit uid:",
                )
            )
        seen[uid] = key
        out.append((uid, model))
    if plan.spec.slos:
        b = _Builder(plan, ("slos",))
        model = b.slo_dashboard()
        own += b.errors
        uid = model["uid"]
        if uid in seen:
            own.append(
                plan.error(
                    "OBS512",
                    f"the SLO dashboard's uid '{uid}' is also the uid of dashboard '{seen[uid]}'",
                    ("dashboards", seen[uid]),
                    "give that dashboard another uid:",
                )
            )
        out.append((uid, model))
    if errors is None and own:
        raise BackendError(own)
    return out


# --- building one dashboard ---------------------------------------------------------------------------------


@dataclass
class Target:
    """One compiled query of a panel."""

    datasource: str  # prometheus | loki
    expr: str
    legend: str = ""


class _Builder:
    """Builds one dashboard: panel ids in order, grid positions, datasource variables as needed."""

    def __init__(self, plan: Plan, base: tuple) -> None:
        self.plan = plan
        self.base = base
        self.errors: list = []
        self.next_id = 1
        self.uses: set[str] = set()
        grafana = plan.spec.targets.grafana
        self.promql = plan.promql(use_records=grafana.use_recording_rules)

    # -- the dashboard ------------------------------------------------------------------------------------
    def dashboard(self, key: str, d: object) -> dict:
        plan = self.plan
        panels = self.layout(d.panels)
        variables = [self.variable(v, i) for i, v in enumerate(d.variables)]
        return self.wrap(
            uid=dashboard_uid(plan.spec.service, key, d.uid),
            title=d.title,
            description=d.description,
            tags=d.tags,
            refresh=d.refresh,
            time=(d.time.from_, d.time.to),
            variables=variables,
            panels=panels,
        )

    def wrap(
        self,
        uid: str,
        title: str,
        description: str,
        tags: list[str],
        refresh: str | None,
        time: tuple[str, str],
        variables: list[dict],
        panels: list[dict],
    ) -> dict:
        spec = self.plan.spec
        for i, v in enumerate(variables):
            if v["name"] in ("datasource", "loki"):
                self.fail(
                    "OBS513",
                    f"the variable name '{v['name']}' is reserved for the {v['name']} datasource variable",
                    ("variables", i, "name"),
                    "choose another name",
                )
        grafana = spec.targets.grafana
        ds_vars = [
            _datasource_variable("datasource", "Prometheus", "prometheus", grafana.prometheus_datasource)
        ]
        if "loki" in self.uses:
            ds_vars.append(_datasource_variable("loki", "Loki", "loki", grafana.loki_datasource))
        model: dict = {
            "uid": uid,
            "title": title,
            "description": f"{description.rstrip()}\n\n{self.plan.header}"
            if description
            else self.plan.header,
            "tags": list(dict.fromkeys([*tags, "obsctl", spec.service])),
            "timezone": "browser",
            # Provisioned from the spec: edits belong there, not in the UI.
            "editable": False,
            "graphTooltip": 1,
        }
        if (
            refresh and parse_duration(refresh) > 0
        ):  # `refresh: 0` means no auto-refresh, as Grafana's empty value
            model["refresh"] = refresh
        model.update(
            {
                "time": {"from": time[0], "to": time[1]},
                "timepicker": {},
                "fiscalYearStartMonth": 0,
                "schemaVersion": SCHEMA_VERSION,
                "links": _links(spec),
                "annotations": {"list": [dict(BUILTIN_ANNOTATION)]},
                "templating": {"list": ds_vars + variables},
                "panels": panels,
            }
        )
        return model

    def fail(self, code: str, message: str, rel: tuple, hint: str = "") -> None:
        self.errors.append(self.plan.error(code, message, self.base + rel, hint))

    # -- variables -----------------------------------------------------------------------------------------
    def variable(self, v: object, i: int) -> dict:
        common = {"name": v.name, "label": v.label or v.name, "hide": 0, "skipUrlSync": False}
        if v.type == "query":
            if not v.query:
                self.fail(
                    "OBS514",
                    f"query variable '{v.name}' needs a query",
                    ("variables", i),
                    "e.g. query: label_values(api_requests_total, route)",
                )
            return {
                "type": "query",
                **common,
                "datasource": dict(PROM_DS),
                "query": v.query,
                "definition": v.query,
                "refresh": 2,
                "sort": 1,
                "includeAll": v.include_all,
                "multi": v.multi,
                "options": [],
                "regex": "",
            }
        if not v.values:
            self.fail("OBS514", f"{v.type} variable '{v.name}' needs values", ("variables", i))
            return {"type": v.type, **common}
        options = [{"selected": k == 0, "text": val, "value": val} for k, val in enumerate(v.values)]
        current = {"selected": True, "text": v.values[0], "value": v.values[0]}
        if v.type == "interval":
            for k, val in enumerate(v.values):
                try:
                    parse_duration(val)
                except ValueError:
                    self.fail(
                        "OBS514",
                        f"interval variable '{v.name}': '{val}' is not a duration",
                        ("variables", i, "values", k),
                        "e.g. 1m, 5m, 1h",
                    )
            return {
                "type": "interval",
                **common,
                "query": ",".join(v.values),
                "current": current,
                "options": options,
                "auto": False,
                "refresh": 2,
            }
        # Grafana splits a custom variable's query on commas; a literal comma is written `\,`.
        query = ",".join(val.replace(",", "\\,") for val in v.values)
        return {
            "type": "custom",
            **common,
            "query": query,
            "current": current,
            "options": options,
            "includeAll": v.include_all,
            "multi": v.multi,
        }

    # -- layout ---------------------------------------------------------------------------------------------
    def layout(self, items: list) -> list[dict]:
        """Grafana panels from spec panels and rows, with ids 1..n in order and grid positions."""
        out: list[dict] = []
        grid = _Grid()
        for i, item in enumerate(items):
            if hasattr(item, "row"):
                grid.newline()
                row = {
                    "type": "row",
                    "id": self.take_id(),
                    "title": item.row,
                    "collapsed": item.collapsed,
                    "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": grid.y},
                    "panels": [],
                }
                grid.y += 1
                out.append(row)
                if item.collapsed:
                    # A collapsed row carries its panels, positioned as if expanded; the grid below the row
                    # continues right after it.
                    inner = _Grid(grid.y)
                    row["panels"] = [
                        self.panel(p, (i, "panels", j), inner) for j, p in enumerate(item.panels)
                    ]
                else:
                    out += [self.panel(p, (i, "panels", j), grid) for j, p in enumerate(item.panels)]
                    grid.newline()
            else:
                out.append(self.panel(item, (i,), grid))
        return out

    def take_id(self) -> int:
        pid = self.next_id
        self.next_id += 1
        return pid

    # -- panels -------------------------------------------------------------------------------------------
    def panel(self, p: Panel, rel: tuple, grid: _Grid) -> dict:
        path = ("panels",) + rel
        kind = GRAFANA_TYPE[p.type]
        w = p.width or DEFAULT_WIDTH[p.type]
        h = p.height or DEFAULT_HEIGHT.get(p.type, PANEL_HEIGHT)
        out: dict = {"type": kind, "id": self.take_id(), "title": p.title}
        if p.description:
            out["description"] = p.description
        if p.type == "text":
            out["gridPos"] = grid.place(w, h)
            out["options"] = {
                "mode": "markdown",
                "content": p.text,
                "code": {"language": "plaintext", "showLineNumbers": False, "showMiniMap": False},
            }
            return out
        targets = self.targets(p, path)
        kinds = {t.datasource for t in targets}
        self.uses |= kinds
        out["datasource"] = dict(_DATASOURCES[kinds.pop()]) if len(kinds) == 1 else dict(MIXED_DS)
        out["gridPos"] = grid.place(w, h)
        out["targets"] = [self.target(p, t, k) for k, t in enumerate(targets)]
        if p.type == "logs":
            out["options"] = {
                "showTime": True,
                "showLabels": False,
                "showCommonLabels": False,
                "wrapLogMessage": True,
                "prettifyLogMessage": False,
                "enableLogDetails": True,
                "sortOrder": "Descending",
                "dedupStrategy": "none",
            }
            return out
        out["fieldConfig"] = {"defaults": self.field_defaults(p, path), "overrides": []}
        out["options"] = self.options(p)
        if p.type == "table" and len(targets) > 1:
            out["transformations"] = [{"id": "merge", "options": {}}]
        return out

    def targets(self, p: Panel, path: tuple) -> list[Target]:
        if p.queries and (p.overrides.promql or p.overrides.logql):
            self.fail(
                "OBS511",
                f"panel '{p.title}' has queries: give overrides per query, not on the panel",
                path + ("overrides",),
            )
        items = [(q.expr, q.legend, q.overrides, path + ("queries", k)) for k, q in enumerate(p.queries)] or [
            (p.expr, p.legend, p.overrides, path)
        ]
        out = []
        for expr, legend, ov, qpath in items:
            node = self.plan.panel_expr(self.base + qpath + ("expr",)) if expr else None
            t = self.compile(p, node, ov, qpath)
            if t is not None:
                t.legend = legend
                out.append(t)
        return out

    def compile(self, p: Panel, node: ast.Node | None, ov: object, qpath: tuple) -> Target | None:
        if node is None:
            # No expression: the override is the query (a logs panel reads logs).
            if p.type == "logs" and ov.logql or not ov.promql and ov.logql:
                return Target("loki", ov.logql)
            if ov.promql:
                return Target("prometheus", ov.promql)
            self.fail("OBS502", f"panel '{p.title}' has no query", qpath, "add expr: or overrides:")
            return None
        try:
            if self.plan.uses_events(node):
                if ov.logql:
                    return Target("loki", ov.logql)
                logql = self.plan.logql()
                if p.type == "logs":
                    return Target("loki", logql.selector(node.name))
                return Target("loki", logql.compile(node))
            if ov.promql:
                return Target("prometheus", ov.promql)
            return Target("prometheus", self.promql.compile(node))
        except CompileError as e:
            lang = "LogQL" if self.plan.uses_events(node) else "PromQL"
            self.fail(
                "OBS510",
                f"panel '{p.title}': {e}",
                qpath + ("expr",),
                f"give overrides.{lang.lower()} with the {lang} query",
            )
            return None

    def target(self, p: Panel, t: Target, k: int) -> dict:
        out: dict = {"refId": _ref_id(k), "datasource": dict(_DATASOURCES[t.datasource]), "expr": t.expr}
        if t.legend:
            out["legendFormat"] = t.legend
        out["editorMode"] = "code"
        instant = p.type in _INSTANT
        if t.datasource == "prometheus":
            out["range"] = not instant
            out["instant"] = instant
            if p.type == "table":
                out["format"] = "table"
        else:
            out["queryType"] = "instant" if instant else "range"
        return out

    # -- field config and options --------------------------------------------------------------------------
    def field_defaults(self, p: Panel, path: tuple) -> dict:
        out: dict = {}
        unit = p.unit if p.unit is not None else self.default_unit(p, path)
        if unit:
            from ..verify.grafana_units import GRAFANA_UNITS, is_grafana_unit

            if is_grafana_unit(unit):
                out["unit"] = unit
            else:
                self.fail(
                    "OBS515",
                    f"'{unit}' is not a Grafana unit",
                    path + ("unit",),
                    did_you_mean(unit, set(GRAFANA_UNITS)) or "e.g. short, percentunit, reqps, ms, s, bytes",
                )
        if p.decimals is not None:
            out["decimals"] = p.decimals
        if p.min is not None:
            out["min"] = _num(p.min)
        if p.max is not None:
            out["max"] = _num(p.max)
        out["color"] = {"mode": "palette-classic" if p.type == "timeseries" else "thresholds"}
        steps = self.thresholds(p, path)
        out["thresholds"] = {"mode": "absolute", "steps": steps}
        if p.type == "timeseries":
            custom: dict = {
                "drawStyle": "line",
                "lineWidth": 1,
                "fillOpacity": 30 if p.stack else 10,
                "showPoints": "never",
                "spanNulls": False,
                "stacking": {"mode": "normal" if p.stack else "none", "group": "A"},
            }
            if len(steps) > 1:
                custom["thresholdsStyle"] = {"mode": "line"}
            out["custom"] = custom
        elif p.stack:
            self.fail(
                "OBS516", f"stack applies to timeseries panels, not to a {p.type} panel", path + ("stack",)
            )
        return out

    def thresholds(self, p: Panel, path: tuple) -> list[dict]:
        """Grafana's steps: the base (value null) first, then ascending values."""
        base = [t for t in p.thresholds if t.value is None]
        rest = sorted((t for t in p.thresholds if t.value is not None), key=lambda t: t.value)
        if len(base) > 1:
            self.fail(
                "OBS517", "only one threshold may have value null (the base colour)", path + ("thresholds",)
            )
        values = [t.value for t in rest]
        if len(set(values)) != len(values):
            self.fail("OBS517", "two thresholds have the same value", path + ("thresholds",))
        steps = [{"color": base[0].color if base else "green", "value": None}]
        return steps + [{"color": t.color, "value": _num(t.value)} for t in rest]

    def options(self, p: Panel) -> dict:
        reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
        if p.type == "timeseries":
            return {
                "legend": {
                    "displayMode": p.legend_mode,
                    "placement": "bottom",
                    "showLegend": p.legend_mode != "hidden",
                    "calcs": [],
                },
                "tooltip": {"mode": "multi", "sort": "desc"},
            }
        if p.type == "stat":
            return {
                "reduceOptions": reduce,
                "colorMode": "value",
                "graphMode": "area",
                "justifyMode": "auto",
                "textMode": "auto",
                "orientation": "auto",
            }
        if p.type == "gauge":
            return {
                "reduceOptions": reduce,
                "showThresholdLabels": False,
                "showThresholdMarkers": True,
                "orientation": "auto",
            }
        if p.type == "bar":
            return {
                "reduceOptions": reduce,
                "displayMode": "gradient",
                "valueMode": "color",
                "namePlacement": "auto",
                "showUnfilled": True,
                "orientation": "horizontal",
            }
        return {"showHeader": True, "cellHeight": "sm", "frameIndex": 0}  # table

    def default_unit(self, p: Panel, path: tuple) -> str:
        """The unit of what the panel plots, when every query shows a quantity in the same known unit."""
        nodes = (
            [self.plan.panel_expr(self.base + path + ("expr",))]
            if p.expr
            else [
                self.plan.panel_expr(self.base + path + ("queries", k, "expr")) for k in range(len(p.queries))
            ]
        )
        units = {self.unit_of(n) for n in nodes} if nodes else {""}
        unit = units.pop() if len(units) == 1 else ""
        unit = _UNIT_ALIASES.get(unit, unit)
        from ..verify.grafana_units import is_grafana_unit

        return unit if unit and is_grafana_unit(unit) else ""

    def unit_of(self, node: ast.Node | None) -> str:
        if isinstance(node, ast.Ref):
            info = self.plan.ref(node.name)
            if info is None or info.kind == "counter" or info.series in ("bucket", "count"):
                return ""  # a counter's running total is not in the unit of its increments
            spec = self.plan.spec
            if info.kind == "derived":
                return spec.derived[node.name].unit
            m = spec.metrics.get(info.target)
            return m.unit if m else ""
        if isinstance(node, ast.Call) and node.func in _UNIT_KEEPING and node.args:
            return self.unit_of(node.args[-1])
        return ""

    # -- the SLO dashboard ------------------------------------------------------------------------------------
    def slo_dashboard(self) -> dict:
        """Per SLO, a row: the SLI and the error budget left over the period, the state of its burn-rate
        alerts, and the burn rate over each alerting window."""
        from ..model import Row

        spec = self.plan.spec
        rows = [
            Row(row=_slo_title(name, slo), panels=slo_panels(self.plan, name, slo))
            for name, slo in spec.slos.items()
        ]
        panels = self.layout(rows)
        for panel in panels:
            if panel.get("title") == ALERTS_TITLE:
                panel["fieldConfig"]["defaults"]["mappings"] = [
                    {"type": "value", "options": {"0": {"text": "OK", "color": "green", "index": 0}}}
                ]
        key = f"{SLO_DASHBOARD_KEY}-{self.plan.env}" if self.plan.env else SLO_DASHBOARD_KEY
        title = f"{spec.service} ({self.plan.env}) SLOs" if self.plan.env else f"{spec.service} SLOs"
        return self.wrap(
            uid=dashboard_uid(spec.service, key),
            title=title,
            description=f"Service level objectives of {spec.service}: SLI, error budget left, "
            "burn rate per alerting window and alert state.",
            tags=["slo"],
            refresh="5m",
            time=("now-7d", "now"),
            variables=[],
            panels=panels,
        )


class _Grid:
    """Left-to-right placement on Grafana's 24-column grid, wrapping to a new line when a panel does not fit."""

    def __init__(self, y: int = 0) -> None:
        self.x = 0
        self.y = y
        self.line_height = 0

    def newline(self) -> None:
        if self.x:
            self.y += self.line_height
        self.x = 0
        self.line_height = 0

    def place(self, w: int, h: int) -> dict:
        if self.x + w > GRID_WIDTH:
            self.newline()
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.line_height = max(self.line_height, h)
        return pos


def _datasource_variable(name: str, label: str, plugin: str, default: str) -> dict:
    # `current` names the instance picked by default; Grafana falls back to the default datasource of the
    # plugin type when no instance has that name.
    return {
        "type": "datasource",
        "name": name,
        "label": label,
        "query": plugin,
        "current": {"selected": False, "text": default, "value": default},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
    }


def _links(spec: Spec) -> list[dict]:
    if not spec.runbook or not spec.runbook.startswith(("https://", "http://")):
        return []
    return [
        {
            "title": "Runbook",
            "type": "link",
            "url": spec.runbook,
            "icon": "doc",
            "tooltip": "",
            "tags": [],
            "asDropdown": False,
            "targetBlank": True,
            "includeVars": False,
            "keepTime": False,
        }
    ]


def _ref_id(k: int) -> str:
    """A, B, ..., Z, AA, AB, ..."""
    out = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def _num(value: float) -> int | float:
    """1.0 -> 1 in JSON, as people write it."""
    return int(value) if float(value).is_integer() and abs(value) < 1e15 else value


# --- SLO panels -------------------------------------------------------------------------------------------------


def slo_panels(plan: Plan, name: str, slo: SLO) -> list:
    """The spec panels (queries given as overrides) showing one SLO."""
    from ..model import Panel, Threshold
    from ..slo import effective_tiers

    q = SloQueries(plan, name, slo)
    target = round(slo.objective / 100, 10)
    decimals = len(f"{slo.objective:g}".partition(".")[2]) + 1
    panels = [
        Panel(
            title=f"SLI over {slo.period}",
            type="stat",
            queries=[q.query(q.sli(), "SLI")],
            unit="percentunit",
            decimals=decimals,
            thresholds=[Threshold(value=None, color="red"), Threshold(value=target, color="green")],
            description=f"Share of good events over the SLO period; the objective is {slo.objective:g}%.",
        ),
        Panel(
            title=f"Error budget remaining ({slo.period})",
            type="gauge",
            queries=[q.query(q.budget_remaining(), "remaining")],
            unit="percentunit",
            decimals=1,
            min=0,
            max=1,
            thresholds=[
                Threshold(value=None, color="red"),
                Threshold(value=0.25, color="orange"),
                Threshold(value=0.5, color="green"),
            ],
            description="1 - (error ratio over the period / error budget). Below 0 the budget is spent.",
        ),
    ]
    tiers = [t for t in effective_tiers(slo) if t.enabled]
    actions = [a for a in ("page", "ticket") if any(t.action == a for t in tiers)]
    if slo.alerting.enabled and actions and q.alerts_query(actions[0]):
        panels.append(
            Panel(
                title=ALERTS_TITLE,
                type="stat",
                width=12,
                queries=[q.query(q.alerts_query(a), a) for a in actions],
                unit="none",
                thresholds=[Threshold(value=None, color="green"), Threshold(value=1, color="red")],
                description="Burn-rate alerts of this SLO firing now, by action.",
            )
        )
    windows = q.windows()
    factors: dict[float, str] = {}
    for t in sorted(tiers, key=lambda t: t.factor):
        factors[t.factor] = "red" if t.action == "page" or factors.get(t.factor) == "red" else "orange"
    panels.append(
        Panel(
            title="Burn rate by window",
            type="timeseries",
            width=GRID_WIDTH,
            unit="none",
            decimals=2,
            queries=[q.query(q.burn_rate(w), w) for w in windows],
            thresholds=[Threshold(value=None, color="green")]
            + [Threshold(value=f, color=c) for f, c in factors.items()],
            description="Error ratio over each alerting window divided by the error budget. A burn rate of 1 spends "
            "the budget exactly over the period; the lines mark the tiers' factors (orange tickets, red pages).",
        )
    )
    return panels


def _slo_title(name: str, slo: SLO) -> str:
    return f"{name}: {slo.objective:g}% over {slo.period}"


class SloQueries:
    """The queries showing one SLO. Over metrics, PromQL on the series the Prometheus SLO rules record
    (`targets.grafana.use_recording_rules`), else the same error ratio inline; both come from
    the plan (obsctl.plan.slos, obsctl.plan.sli), as the Prometheus SLO rules' do, so dashboard and alerts agree. Over log events, LogQL (Prometheus does not
    record those SLIs)."""

    def __init__(self, plan: Plan, name: str, slo: SLO) -> None:
        from ..plan.sli import sli
        from ..slo import error_budget

        self.plan = plan
        self.name = name
        self.slo = slo
        self.budget = error_budget(slo)
        self.events = plan.slos[name].uses_events
        self.lang = "loki" if self.events else "prometheus"
        self.recorded = not self.events and plan.spec.targets.grafana.use_recording_rules
        self.names = None if self.events else plan.slos[name].records
        self.counters = None if self.events else sli(plan, name)

    def query(self, expr: str, legend: str) -> object:
        from ..model import Overrides, Query

        ov = Overrides(logql=expr) if self.lang == "loki" else Overrides(promql=expr)
        by = self.slo.by
        if by and legend not in ("page", "ticket"):  # one line (or value) per objective of a `by:` SLO
            legend = " ".join(f"{{{{{b}}}}}" for b in by) + f" {legend}"
        return Query(legend=legend, overrides=ov)

    # -- what the panels show --------------------------------------------------------------------------------
    def windows(self) -> list[str]:
        """The windows the burn-rate alerts read (the ones Prometheus records), shortest first."""
        return self.plan.slos[self.name].windows

    def sli(self) -> str:
        return f"1 - {self._error_ratio(self.slo.period)}"

    def budget_remaining(self) -> str:
        if self.recorded:
            return self.names["budget_remaining"] + self.names["selector"]
        return f"1 - {self._error_ratio(self.slo.period)} / {number(self.budget)}"

    def burn_rate(self, window: str) -> str:
        return f"{self._error_ratio(window)} / {number(self.budget)}"

    def alerts_query(self, action: str) -> str | None:
        """How many of the SLO's alerts of this action fire; None when Prometheus does not hold their state."""
        if self.events:
            return None  # no Prometheus alerts for an SLI over log events
        # `action` is the label the plan gives each tier's alerts (page | ticket).
        matchers = [
            ("alertname", "=", alert_name(self.plan.spec, self.name, action)),
            ("alertstate", "=", "firing"),
            ("action", "=", action),
        ]
        return f"sum(ALERTS{{{matchers_text(matchers)}}}) or vector(0)"

    # -- the SLI's error ratio ------------------------------------------------------------------------------
    def _error_ratio(self, window: str) -> str:
        """Bad events / all events over `window`: a recorded series, or the parenthesised expression."""
        if self.recorded:
            return self.names["error_ratio"][window_name(window)] + self.names["selector"]
        if not self.events:
            return f"({error_ratio(self.counters, window, self.plan)})"
        # LogQL, shaped like obsctl.plan.sli.error_ratio(): no good (or bad) line at all counts as zero.
        nodes = self.plan.slos[self.name].sli
        logql = self.plan.logql()
        counts_good = "good" in nodes
        part = logql.compile(_rate(nodes["good" if counts_good else "bad"], window))
        total = logql.compile(_rate(nodes["total"], window))
        ratio = f"({part} or vector(0)) / {total}"
        return f"(1 - {ratio})" if counts_good else f"({ratio})"


def _rate(ref: ast.Ref, window: str) -> ast.Call:
    return ast.Call("rate", [ast.Ref(ref.name, list(ref.matchers), window=window)])
