"""`obsctl import grafana`: dashboard JSON (a file, a directory of them, or a ConfigMap list such as
kube-prometheus' grafana-dashboardDefinitions.yaml) into a spec's `dashboards:`.

Rows, panels, queries, units, thresholds, sizes and variables carry over. A PromQL query is written in obsctl's
language when `promql.faithful()` allows it and kept verbatim as `overrides: {promql: ...}` otherwise (Grafana's
`$__rate_interval` and `$variable` make most dashboard queries verbatim); the spec is then built as `obsctl build`
would and every query compared with its source, so no query changes. What the spec cannot hold is reported.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import promql as pq
from .prometheus import write_files
from .report import CHANGED, DROPPED, VERBATIM, ImportFailure, ImportReport
from .specfile import SpecDoc, split_files
from .yamlin import load_documents, read_text

# Grafana's dashboard schema versions whose panel model (top-level `panels`, rows as panels) this reads.
SCHEMA_VERSIONS = range(16, 42)
PANEL_TYPES = {
    "timeseries": "timeseries",
    "graph": "timeseries",
    "stat": "stat",
    "singlestat": "stat",
    "gauge": "gauge",
    "bargauge": "bar",
    "table": "table",
    "table-old": "table",
    "text": "text",
    "logs": "logs",
}
KEPT_TARGET_KEYS = {
    "expr",
    "legendFormat",
    "refId",
    "datasource",
    "editorMode",
    "range",
    "instant",
    "exemplar",
}
INSTANT_TYPES = {"gauge", "bar", "table"}  # obsctl queries these instant (obsctl.backends.grafana._INSTANT)
KEY = re.compile(r"[^a-z0-9]+")


@dataclass
class Source:
    file: str
    model: dict
    queries: list[tuple[str, str]] = field(default_factory=list)  # (panel title, expr) in build order


def _dashboards_in(doc: object, file: str, where: str = "") -> list[tuple[str, dict]]:
    if isinstance(doc, dict):
        if isinstance(doc.get("dashboard"), dict) and "panels" not in doc:  # the HTTP API's export
            return [(where or file, doc["dashboard"])]
        if "panels" in doc or "schemaVersion" in doc or "rows" in doc:
            return [(where or file, doc)]
        if doc.get("kind") == "ConfigMap" or "data" in doc and isinstance(doc.get("data"), dict):
            out = []
            for name, text in (doc.get("data") or {}).items():
                try:
                    inner = json.loads(text)
                except (TypeError, ValueError) as e:
                    raise ImportFailure(
                        "OBS820",
                        f"the ConfigMap entry '{name}' is not dashboard JSON: {e}",
                        file,
                        getattr(doc, "line", 1) or 1,
                    ) from None
                out += _dashboards_in(inner, file, f"{file}[{name}]")
            return out
        if isinstance(doc.get("items"), list):
            return [d for item in doc["items"] for d in _dashboards_in(item, file)]
    raise ImportFailure(
        "OBS821",
        "not a Grafana dashboard: expected dashboard JSON (panels, schemaVersion), a "
        "ConfigMap holding some, or a list of ConfigMaps",
        file,
        getattr(doc, "line", 1) or 1,
    )


def read_dashboards(paths: list[Path]) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if path.is_dir() and not files:
            raise ImportFailure("OBS821", "the directory holds no *.json dashboards", str(path))
        for f in files:
            text = read_text(f)
            if f.suffix == ".json":
                try:
                    docs = [json.loads(text)]
                except ValueError as e:
                    raise ImportFailure("OBS820", f"not JSON: {e.msg}", str(f), e.lineno, e.colno) from None
            else:
                docs = load_documents(f, text)
            if not docs:
                raise ImportFailure("OBS821", "the file is empty", str(f))
            for d in docs:
                out += _dashboards_in(d, str(f))
    for where, model in out:
        version = model.get("schemaVersion")
        if not isinstance(version, int) or version not in SCHEMA_VERSIONS:
            raise ImportFailure(
                "OBS822",
                f"dashboard '{model.get('title', '?')}' has schemaVersion {version!r}, "
                f"which obsctl does not read (it reads {SCHEMA_VERSIONS.start} to "
                f"{SCHEMA_VERSIONS.stop - 1})",
                where,
                hint="open and save the dashboard in a current Grafana to migrate it",
            )
    return out


# -- translating --------------------------------------------------------------------------------------------------


def _usage(dashboards: list[tuple[str, dict]]) -> dict[str, dict]:
    usage: dict[str, pq.Usage] = {}
    for _, model in dashboards:
        for p in _all_panels(model.get("panels") or []):
            for t in p.get("targets") or []:
                try:
                    pq.collect_usage(pq.parse(str(t.get("expr", ""))), usage)
                except pq.PromQLError:
                    continue
    return pq.catalog(usage, set())


def _all_panels(panels: list) -> list[dict]:
    out = []
    for p in panels:
        if isinstance(p, dict):
            out.append(p)
            out += _all_panels(p.get("panels") or [])
    return out


class _Translator:
    def __init__(
        self,
        ctx: pq.Context,
        report: ImportReport,
        forced: set[tuple[str, int]],
        written: dict[tuple[str, int], str],
    ) -> None:
        self.ctx = ctx
        self.report = report
        self.forced = forced  # (dashboard key, query index) kept verbatim after the check
        self.index = 0
        self.written = written  # (dashboard key, query index) -> the translation written

    def query(self, file: str, item: str, key: str, expr: str) -> tuple[dict, bool]:
        """({expr} or {overrides: {promql}}, translated?) for one Grafana query."""
        i = self.index
        self.index += 1
        why = "obsctl would compile its translation differently" if (key, i) in self.forced else None
        node = None
        if why is None:
            try:
                node = pq.parse(expr)
            except pq.PromQLError:
                why = "not plain PromQL (Grafana variables such as $__rate_interval)"
        if why is None:
            why = pq.faithful(node, self.ctx)
        if why is None:
            import dataclasses

            text = pq.to_obsctl(node, dataclasses.replace(self.ctx, spelling=pq.spellings(expr)))
            self.written[(key, i)] = text
            return {"expr": text}, True
        self.report.add(file, item, VERBATIM, f"query kept as overrides.promql: {why}")
        return {"overrides": {"promql": expr}}, False


_WHAT = {"decimals": "number of decimal places (0 to 20)", "min": "finite number", "max": "finite number"}


def _panel(p: dict, file: str, dash: str, key: str, tr: _Translator, report: ImportReport) -> dict | None:
    title = str(p.get("title") or "")
    item = f"panel '{title}' of dashboard '{dash}'"
    kind = PANEL_TYPES.get(str(p.get("type")))
    if kind is None:
        report.add(file, item, DROPPED, f"the panel type '{p.get('type')}' has no counterpart in the spec")
        return None
    out: dict = {"title": title, "type": kind}
    if p.get("description"):
        out["description"] = str(p["description"])
    if kind == "text":
        out["text"] = str((p.get("options") or {}).get("content") or p.get("content") or "")
    counts = report.count(file)
    queries = []
    dropped: set[str] = set()
    for t in p.get("targets") or []:
        if not isinstance(t, dict):
            continue
        if "expr" not in t:
            report.add(file, item, DROPPED, "a query without a PromQL expr (another datasource's query)")
            continue
        if t.get("hide"):
            report.add(file, item, DROPPED, "a hidden query")
            continue
        counts.items += 1
        q, said = tr.query(file, item, key, str(t["expr"]))
        counts.translated += said
        counts.verbatim += not said
        if t.get("legendFormat"):
            q["legend"] = str(t["legendFormat"])
        dropped |= set(t) - KEPT_TARGET_KEYS
        if "instant" in t and bool(t["instant"]) != (kind in INSTANT_TYPES):
            dropped.add("instant")
        queries.append(q)
    if dropped:
        report.add(
            file,
            item,
            CHANGED,
            f"query settings not carried over: {', '.join(sorted(dropped))} (obsctl "
            "decides instant by panel type)",
        )
    if len(queries) == 1:
        out.update(queries[0])
    elif queries:
        out["queries"] = queries
    elif kind not in ("text", "logs"):
        out["type"], out["text"] = "text", ""
        report.add(file, item, CHANGED, "a panel without PromQL queries becomes an empty text panel")
    defaults = (p.get("fieldConfig") or {}).get("defaults") or {}
    if defaults.get("unit"):
        from ..verify.grafana_units import is_grafana_unit

        if is_grafana_unit(str(defaults["unit"])):
            out["unit"] = str(defaults["unit"])
        else:
            report.add(
                file, item, DROPPED, f"the unit '{defaults['unit']}', which is not one of Grafana's unit ids"
            )
    for k in ("decimals", "min", "max"):
        value = defaults.get(k)
        if value is None:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if number and (k != "decimals" or isinstance(value, int) and 0 <= value <= 20):
            out[k] = value
        else:
            report.add(file, item, DROPPED, f"{k}: {str(value)[:40]}, which is not a {_WHAT[k]}")
    steps = (defaults.get("thresholds") or {}).get("steps") or []
    if not isinstance(steps, list):
        report.add(file, item, DROPPED, "threshold steps that are not a list")
        steps = []
    thresholds = [
        {"value": s.get("value"), "color": str(s.get("color", "green"))}
        for s in steps
        if isinstance(s, dict) and (s.get("value") is None or isinstance(s.get("value"), int | float))
    ]
    if len(thresholds) < len(steps):
        report.add(file, item, DROPPED, "threshold steps without a number value")
    if thresholds and thresholds != [{"value": None, "color": "green"}]:
        out["thresholds"] = thresholds
    grid = p.get("gridPos") or {}
    if isinstance(grid.get("w"), int) and 1 <= grid["w"] <= 24:
        out["width"] = grid["w"]
    if isinstance(grid.get("h"), int) and 1 <= grid["h"] <= 50:
        out["height"] = grid["h"]
    legend = (p.get("options") or {}).get("legend") or {}
    if legend.get("showLegend") is False or legend.get("displayMode") == "hidden":
        out["legend_mode"] = "hidden"
    elif legend.get("displayMode") == "table":
        out["legend_mode"] = "table"
    if ((defaults.get("custom") or {}).get("stacking") or {}).get(
        "mode"
    ) == "normal" and kind == "timeseries":
        out["stack"] = True
    return out


def _variables(model: dict, file: str, dash: str, report: ImportReport) -> list[dict]:
    out = []
    for v in (model.get("templating") or {}).get("list") or []:
        name, vtype = str(v.get("name", "")), v.get("type")
        if vtype == "datasource" and name in ("datasource", "loki"):
            continue  # obsctl writes its own datasource variables
        item = f"variable '{name}' of dashboard '{dash}'"
        if (
            vtype not in ("query", "custom", "interval")
            or not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name)
            or name.startswith("__")
            or name in ("datasource", "loki")
        ):
            report.add(
                file, item, DROPPED, f"a {vtype} variable named '{name}' has no counterpart in the spec"
            )
            continue
        entry: dict = {"name": name, "type": vtype}
        if v.get("label"):
            entry["label"] = str(v["label"])
        if vtype == "query":
            q = v.get("query")
            entry["query"] = str(
                q.get("query", "") if isinstance(q, dict) else q or v.get("definition") or ""
            )
        else:
            values = [str(o.get("value")) for o in v.get("options") or [] if isinstance(o, dict)]
            entry["values"] = values or [x for x in str(v.get("query", "")).split(",") if x]
        if v.get("multi"):
            entry["multi"] = True
        if v.get("includeAll"):
            entry["include_all"] = True
        if v.get("regex") or v.get("hide"):
            report.add(file, item, CHANGED, "its regex and hide settings are not carried over")
        out.append(entry)
    return out


def _layout(model: dict, file: str, dash: str, key: str, tr: _Translator, report: ImportReport) -> list[dict]:
    """Spec panels and rows in Grafana's order (top to bottom, left to right)."""

    def pos(p: dict) -> tuple:
        g = p.get("gridPos") or {}
        return (g.get("y", 0), g.get("x", 0))

    items: list[dict] = []
    row: dict | None = None
    for p in sorted((p for p in model.get("panels") or [] if isinstance(p, dict)), key=pos):
        if p.get("type") == "row":
            row = {"row": str(p.get("title") or ""), "collapsed": bool(p.get("collapsed")), "panels": []}
            items.append(row)
            for inner in sorted((x for x in p.get("panels") or [] if isinstance(x, dict)), key=pos):
                if (sp := _panel(inner, file, dash, key, tr, report)) is not None:
                    row["panels"].append(sp)
            continue
        sp = _panel(p, file, dash, key, tr, report)
        if sp is None:
            continue
        (row["panels"] if row is not None and not row["collapsed"] else items).append(sp)
    for it in items:
        if "row" in it and not it["collapsed"]:
            it.pop("collapsed")
    return items


def build_spec(
    dashboards: list[tuple[str, dict]],
    service: str,
    report: ImportReport,
    forced: set[tuple[str, int]],
    written: dict[tuple[str, int], str] | None = None,
) -> tuple[dict, dict[str, list[str]]]:
    """The spec for `dashboards`; `forced` queries stay verbatim, `written` receives each translation."""
    written = {} if written is None else written
    metrics = _usage(dashboards)
    kinds = {n: m["kind"] for n, m in metrics.items() if m["kind"] != "histogram"}
    for n, m in metrics.items():
        if m["kind"] == "histogram":
            kinds.update({f"{n}_bucket": "part", f"{n}_count": "part", f"{n}_sum": "part"})
    ctx = pq.Context(kinds=kinds)
    out: dict = {}
    sources: dict[str, list[str]] = {}
    for where, model in dashboards:
        file = where.split("[", 1)[0]
        title = str(model.get("title") or "dashboard")
        key = KEY.sub("-", str(model.get("uid") or title).lower()).strip("-") or "dashboard"
        base, n = key, 2
        while key in out:
            key, n = f"{base}-{n}", n + 1
        tr = _Translator(ctx, report, forced, written)
        entry: dict = {"title": title}
        uid = model.get("uid")
        if isinstance(uid, str) and re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid):
            entry["uid"] = uid
        elif uid:
            report.add(
                file,
                f"dashboard '{title}'",
                CHANGED,
                f"its uid '{uid}' is not one the spec takes; obsctl derives one from the service and key",
            )
        if model.get("description"):
            entry["description"] = str(model["description"])
        tags = [str(t) for t in model.get("tags") or []]
        if tags:
            entry["tags"] = tags
        refresh = model.get("refresh")
        if isinstance(refresh, str) and re.fullmatch(r"([0-9]+(ms|s|m|h|d|w|y))+", refresh):
            entry["refresh"] = refresh
        t = model.get("time") or {}
        if t.get("from", "now-6h") != "now-6h" or t.get("to", "now") != "now":
            entry["time"] = {"from": str(t.get("from", "now-6h")), "to": str(t.get("to", "now"))}
        variables = _variables(model, file, title, report)
        if variables:
            entry["variables"] = variables
        entry["panels"] = _layout(model, file, title, key, tr, report)
        out[key] = entry
        sources[key] = [str(tg["expr"]) for p in _flat(entry["panels"]) for tg in _spec_queries(p)]
    spec: dict = {"version": 1, "service": service}
    if metrics:
        spec["metrics"] = metrics
    spec["dashboards"] = out
    return spec, sources


def _flat(items: list[dict]) -> list[dict]:
    out = []
    for it in items:
        out += it["panels"] if "row" in it else [it]
    return out


def _spec_queries(p: dict) -> list[dict]:
    qs = p.get("queries") or ([p] if "expr" in p or "overrides" in p else [])
    return [{"expr": q.get("overrides", {}).get("promql") or q.get("expr")} for q in qs]


def built_queries(spec_path: Path) -> tuple[list, dict[str, list[str]]]:
    """(errors, dashboard key -> every query's PromQL in panel order) as `obsctl build --target grafana` makes them."""
    from ..backends.grafana import dashboards
    from ..pipeline import check
    from ..plan import build_plan

    result = check(spec_path)
    errors = [d for d in result.diagnostics if d.level == "error"]
    if errors or not result.checked:
        return errors, {}
    c = result.checked[0]
    plan = build_plan(c.spec, c.analysis, c.smap, spec_path)
    errs: list = []
    models = dashboards(plan, errs)
    if errs:
        return errs, {}
    out = {}
    for key, (_, model) in zip(c.spec.dashboards, models, strict=False):
        out[key] = [t["expr"] for p in _all_panels(model["panels"]) for t in p.get("targets") or []]
    return [], out


def import_files(paths: list[Path], service: str | None) -> tuple[SpecDoc, ImportReport]:
    import tempfile

    dashboards = read_dashboards(paths)
    if not dashboards:
        raise ImportFailure("OBS821", "no dashboards to import", str(paths[0]))
    if len(dashboards) >= 20:
        print(f"obsctl import: {len(dashboards)} dashboards read", file=sys.stderr)
    service = service or (KEY.sub("-", paths[0].name.split(".")[0].lower()).strip("-") or "dashboards")
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", service):
        service = "dashboards"
    forced: set[tuple[str, int]] = set()
    for _ in range(4):
        report = ImportReport("grafana")
        written: dict[tuple[str, int], str] = {}
        spec, sources = build_spec(dashboards, service, report, forced, written)
        doc = SpecDoc(
            spec,
            header=f"Imported by `obsctl import grafana` from {', '.join(p.name for p in paths)}.",
            source=str(paths[0]),
            items=len(dashboards),
        )
        with tempfile.TemporaryDirectory(prefix="obsctl-import-") as tmp:
            spec_path = write_files(Path(tmp), split_files(doc))
            errors, built = built_queries(spec_path)
        refused = _refused(spec, errors, written)
        if refused and not refused & forced:
            forced |= refused  # obsctl refuses these translations (a join it finds many-to-many): verbatim
            continue
        if errors:
            d = errors[0]
            raise ImportFailure(
                "OBS824",
                f"the imported spec does not build: {d.code} {d.message} [{d.field}]",
                str(paths[0]),
                hint="this is a bug in the importer: please report it with the input",
            )
        again = False
        for key, want in sources.items():
            got = built.get(key, [])
            if len(got) != len(want):
                raise ImportFailure(
                    "OBS824",
                    f"dashboard '{key}': {len(got)} queries built, {len(want)} in the source",
                    str(paths[0]),
                    hint="this is a bug in the importer",
                )
            for i, (w, g) in enumerate(zip(want, got, strict=True)):
                if w != g and not _same(w, g):
                    forced.add((key, i))
                    again = True
        if not again:
            return doc, report
    raise ImportFailure("OBS824", "the import did not settle", str(paths[0]))  # pragma: no cover


def _refused(spec: dict, errors: list, written: dict[tuple[str, int], str]) -> set[tuple[str, int]]:
    """(dashboard key, query index) of the translated queries the errors are about; empty when an error is about
    anything else (then the importer itself is wrong)."""
    out: set[tuple[str, int]] = set()
    for d in errors:
        node: object = spec
        parts = d.field.split(".")
        for part in parts:
            node = (
                node[int(part)]
                if isinstance(node, list) and part.isdigit() and int(part) < len(node)
                else node.get(part)
                if isinstance(node, dict)
                else None
            )
        hits = {
            k for k, text in written.items() if parts[0] == "dashboards" and k[0] == parts[1] and text == node
        }
        if not hits:
            return set()
        out |= hits
    return out


def _same(a: str, b: str) -> bool:
    try:
        return pq.normalise(a) == pq.normalise(b)
    except pq.PromQLError:
        return False
