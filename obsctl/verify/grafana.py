"""Grafana dashboard validation, layered as in target-formats §3.4.

1. the whole dashboard against Grafana's `dashboard.jsonschema.json` and obsctl's stricter
   `specs/obsctl-grafana-dashboard.schema.json`;
2. each panel's `options` / `fieldConfig.defaults.custom` against its panel kind's schema
   (`required` errors ignored: Grafana fills defaulted options);
3. each target against the Prometheus / Loki `Dataquery` schema;
4. the dashboard lint (`lint_dashboard`): ids, grid, datasource references, PromQL/LogQL syntax,
   units, thresholds, refIds.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft7Validator, ValidationError
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

from obsctl.resources import resource_dir
from obsctl.verify import Problem
from obsctl.verify.grafana_units import is_grafana_unit

SPECS_DIR = resource_dir("specs")
SCHEMA_DIR = SPECS_DIR / "grafana"
OBSCTL_SCHEMA = SPECS_DIR / "obsctl-grafana-dashboard.schema.json"
# Grafana's files carry no $id: each is registered under this base + its file name, so local
# "#/definitions/..." refs resolve inside it and a cross-file ref would resolve in SCHEMA_DIR.
SCHEMA_BASE = "https://obsctl.invalid/grafana/"

GRID_COLUMNS = 24
# Datasource uids that are not variables but Grafana built-ins.
_BUILTIN_DS_UIDS = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana"}
# Loki queries must be metric queries in these panels (they plot numbers), log queries in `logs`.
_METRIC_PANELS = {"timeseries", "stat", "gauge", "bargauge", "heatmap", "barchart", "piechart"}


# --- schemas -----------------------------------------------------------------------------------


def _no_network(uri: str) -> Resource:
    # Validation is offline: a $ref to anything not shipped in specs/ is an error, never a download.
    raise NoSuchResource(ref=uri)


@functools.cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.jsonschema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((SCHEMA_BASE + path.name, DRAFT7.create_resource(contents)))
    own = json.loads(OBSCTL_SCHEMA.read_text(encoding="utf-8"))
    resources.append((own["$id"], DRAFT7.create_resource(own)))
    return Registry(retrieve=_no_network).with_resources(resources)


@functools.cache
def _validator(ref: str) -> Draft7Validator:
    """Validator for `ref`: "<file>#<json pointer>" in SCHEMA_DIR, or an absolute URI."""
    uri = ref if "://" in ref else SCHEMA_BASE + ref
    return Draft7Validator({"$ref": uri}, registry=_registry())


@functools.cache
def _has_definition(file: str, name: str) -> bool:
    path = SCHEMA_DIR / file
    if not path.is_file():
        return False
    return name in json.loads(path.read_text(encoding="utf-8")).get("definitions", {})


def _path(base: str, parts: Any) -> str:
    out = base
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# oneOf unions Grafana discriminates by "type": validate against the one branch that applies, so the
# errors name the real mistake instead of "is not valid under any of the given schemas".
_UNIONS: dict[frozenset[str], Any] = {
    frozenset({"#/definitions/Panel", "#/definitions/RowPanel"}): lambda t: (
        "#/definitions/RowPanel" if t == "row" else "#/definitions/Panel"
    ),
    frozenset(
        {
            "#/definitions/ValueMap",
            "#/definitions/RangeMap",
            "#/definitions/RegexMap",
            "#/definitions/SpecialValueMap",
        }
    ): lambda t: {
        "value": "#/definitions/ValueMap",
        "range": "#/definitions/RangeMap",
        "regex": "#/definitions/RegexMap",
        "special": "#/definitions/SpecialValueMap",
    }.get(t),
}


def _leaf_errors(err: ValidationError, schema_file: str) -> Iterator[ValidationError]:
    if err.validator == "oneOf" and isinstance(err.instance, dict):
        refs = frozenset(b.get("$ref", "") for b in err.validator_value if isinstance(b, dict))
        pick = _UNIONS.get(refs)
        branch = pick(err.instance.get("type")) if pick else None
        if branch:
            for sub in _validator(schema_file + branch).iter_errors(err.instance):
                sub.path.extendleft(reversed(err.absolute_path))  # make paths absolute again
                yield from _leaf_errors(sub, schema_file)
            return
    yield err


def _message(err: ValidationError, explain: bool) -> str:
    msg = err.message
    if len(msg) > 240:  # messages quote the instance; a whole panel is noise
        msg = msg[:200] + " ... " + msg[-35:]
    if err.validator == "not" and err.validator_value == {}:
        msg = "not allowed here"
    elif err.validator == "contains":
        msg = "no entry matches"
    if err.validator in ("oneOf", "anyOf") and err.context:
        reasons = sorted({e.message for e in err.context if not e.path})
        if reasons:
            msg += ": " + "; ".join(reasons)
    if explain:  # obsctl's schema says why in its descriptions
        desc = err.schema.get("description") if isinstance(err.schema, dict) else None
        if err.validator == "contains" and isinstance(err.validator_value, dict):
            desc = err.validator_value.get("description", desc)
        if desc:
            msg += f" ({desc})"
    return msg


def _schema_problems(
    file: str, ref: str, instance: Any, where: str = "", ignore_required: bool = False, explain: bool = False
) -> list[Problem]:
    schema_file = ref.split("#", 1)[0]
    problems = []
    for top in sorted(_validator(ref).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        for err in _leaf_errors(top, schema_file):
            if ignore_required and err.validator == "required":
                continue
            problems.append(Problem(file, _message(err, explain), _path(where, err.absolute_path)))
    return problems


# --- walking the dashboard ---------------------------------------------------------------------


def _panels(d: dict) -> Iterator[tuple[str, dict, str]]:
    """(json path, panel, layout group) for every panel, rows' nested panels included.

    Top-level panels share one grid; the children of a collapsed row form their own grid.
    """
    for i, p in enumerate(d.get("panels") or []):
        if not isinstance(p, dict):
            continue
        yield f"panels[{i}]", p, "top"
        for j, child in enumerate(p.get("panels") or []):
            if isinstance(child, dict):
                yield f"panels[{i}].panels[{j}]", child, f"row{i}"


def _ds_variables(d: dict) -> dict[str, str]:
    """Datasource variables: name -> plugin type id (`query`)."""
    out = {}
    for v in (d.get("templating") or {}).get("list") or []:
        if isinstance(v, dict) and v.get("type") == "datasource" and isinstance(v.get("name"), str):
            out[v["name"]] = v.get("query") if isinstance(v.get("query"), str) else ""
    return out


_VAR_REF = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)\]\]")  # fullmatch


def _ds_type(ref: Any, ds_vars: dict[str, str]) -> str:
    """Plugin type of a datasource reference, resolving `${var}` through the datasource variables."""
    if not isinstance(ref, dict):
        return ""
    if isinstance(ref.get("type"), str) and ref["type"]:
        return ref["type"]
    m = _VAR_REF.fullmatch(ref.get("uid") or "") if isinstance(ref.get("uid"), str) else None
    return ds_vars.get(next(g for g in m.groups() if g), "") if m else ""


def _target_ds_type(panel: dict, target: dict, ds_vars: dict[str, str]) -> str:
    return _ds_type(target.get("datasource"), ds_vars) or _ds_type(panel.get("datasource"), ds_vars)


# --- Grafana macros ------------------------------------------------------------------------------

_QUOTED = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_GRAFANA_VAR = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)")
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*$")


def _substitute(code: str, rest: str) -> str:
    """Replace variables in `code` (text outside quotes); `rest` is what follows, for context."""
    out: list[str] = []
    pos = 0
    for m in _GRAFANA_VAR.finditer(code):
        name = m.group(1) or m.group(2)
        before = "".join(out) + code[pos : m.start()]
        after = (code[m.end() :] + rest).lstrip()
        if name.endswith("_ms"):
            value = "60000"
        elif name.endswith("_s") and name.startswith("__"):
            value = "60"
        elif name in ("__rate_interval", "__interval", "__range", "__auto") or (
            before.rstrip().endswith(("[", ":"))
            or after.startswith("]")
            or before.rstrip().endswith("offset")
        ):
            value = "5m"  # a duration: range selector, subquery step, offset
        elif _LABEL_LIST.search(before) or after.startswith("{"):
            value = name  # a label or metric name
        else:
            value = "1"  # a scalar (threshold, topk's k, ...)
        out.append(code[pos : m.start()] + value)
        pos = m.end()
    out.append(code[pos:])
    return "".join(out)


def substitute_macros(expr: str) -> str:
    """`expr` with Grafana's `$__rate_interval`, `$__interval`, `$__range`, `$var`, `${var:fmt}` replaced
    by parseable stand-ins (durations in ranges, label names in `by (...)`, numbers elsewhere).

    Variables inside quoted strings (label matchers) are left alone: they parse as they are.
    """
    out = []
    pos = 0
    for m in _QUOTED.finditer(expr):
        out.append(_substitute(expr[pos : m.start()], expr[m.start() :]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_substitute(expr[pos:], ""))
    return "".join(out)


# --- public API ----------------------------------------------------------------------------------


def schema_problems(d: dict, file: str = "<dashboard>") -> list[Problem]:
    """Layers 1-3: Grafana's dashboard, panel and query schemas plus obsctl's own dashboard schema."""
    problems = _schema_problems(file, "dashboard.jsonschema.json#", d)
    own_id = json.loads(OBSCTL_SCHEMA.read_text(encoding="utf-8"))["$id"]
    grafana_said = {(p.where, p.message) for p in problems}
    problems += [
        Problem(p.file, f"obsctl schema: {p.message}", p.where)
        for p in _schema_problems(file, own_id, d, explain=True)
        if (p.where, p.message) not in grafana_said  # the same error once is enough
    ]
    if not isinstance(d, dict):
        return problems
    ds_vars = _ds_variables(d)
    for where, panel, _ in _panels(d):
        kind = f"{panel.get('type')}.jsonschema.json"
        if isinstance(panel.get("options"), dict) and _has_definition(kind, "Options"):
            problems += _schema_problems(
                file,
                kind + "#/definitions/Options",
                panel["options"],
                f"{where}.options",
                ignore_required=True,
            )
        custom = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("custom")
        if isinstance(custom, dict) and _has_definition(kind, "FieldConfig"):
            problems += _schema_problems(
                file,
                kind + "#/definitions/FieldConfig",
                custom,
                f"{where}.fieldConfig.defaults.custom",
                ignore_required=True,
            )
        for k, target in enumerate(panel.get("targets") or []):
            if not isinstance(target, dict):
                continue
            ds = _target_ds_type(panel, target, ds_vars)
            query_ref = {
                "prometheus": "prometheus.jsonschema.json#/definitions/Dataquery",
                "loki": "loki.jsonschema.json#/definitions/dataquery",
            }.get(ds)
            if query_ref:
                problems += _schema_problems(file, query_ref, target, f"{where}.targets[{k}]")
    return problems


def validate_dashboard(d: dict, file: str = "<dashboard>") -> list[Problem]:
    """All layers: schemas (Grafana's and obsctl's), panel options, queries, then the lint.

    Raises ToolMissing when the dashboard has Loki queries and the LogQL checker (node) is absent.
    """
    problems = schema_problems(d, file)
    if isinstance(d, dict):
        # A field a schema already rejected is not reported again by the lint.
        flagged = {p.where for p in problems}
        problems += [p for p in lint_dashboard(d, file) if p.where not in flagged]
    return problems


def lint_dashboard(d: dict, file: str = "<dashboard>") -> list[Problem]:
    """Semantic checks no schema expresses: unique panel ids, 24-column grid without overlaps,
    datasource references, PromQL/LogQL syntax, unit ids, threshold order, unique refIds.

    Raises ToolMissing when the dashboard has Loki queries and the LogQL checker (node) is absent.
    """
    problems: list[Problem] = []
    ds_vars = _ds_variables(d)
    panels = list(_panels(d))

    seen_ids: dict[Any, str] = {}
    for where, p, _ in panels:
        pid = p.get("id")
        if pid is None:
            continue
        if pid in seen_ids:
            problems.append(
                Problem(file, f"duplicate panel id {pid} (also used by {seen_ids[pid]})", f"{where}.id")
            )
        else:
            seen_ids[pid] = where

    problems += _lint_grid(file, panels)
    problems += _lint_datasources(file, d, panels, ds_vars)

    logql: list[tuple[str, str, str]] = []  # (where, original expr, substituted expr)
    for where, p, _ in panels:
        ref_ids: set[str] = set()
        for k, t in enumerate(p.get("targets") or []):
            if not isinstance(t, dict):
                continue
            twhere = f"{where}.targets[{k}]"
            ref = t.get("refId")
            if isinstance(ref, str):
                if ref in ref_ids:
                    problems.append(Problem(file, f"duplicate refId {ref!r} in panel", f"{twhere}.refId"))
                ref_ids.add(ref)
            expr = t.get("expr")
            if not isinstance(expr, str):
                continue
            ds = _target_ds_type(p, t, ds_vars)
            if ds == "prometheus":
                from obsctl.verify.promtool import promql_errors

                err = promql_errors(substitute_macros(expr))
                if err:
                    problems.append(Problem(file, f"PromQL does not parse: {err}", f"{twhere}.expr"))
            elif ds == "loki":
                logql.append((f"{twhere}.expr", p.get("type", ""), expr))
        problems += _lint_field_config(file, where, p)

    if logql:
        from obsctl.verify.logql import check_logql, describe_error

        exprs = [substitute_macros(e) for _, _, e in logql]
        for (where, ptype, _), sub, res in zip(logql, exprs, check_logql(exprs), strict=True):
            if not res.ok:
                msg = describe_error(sub, res.error_positions[0] if res.error_positions else 0)
                problems.append(Problem(file, msg, where))
            elif ptype == "logs" and res.is_metric:
                problems.append(Problem(file, "logs panel needs a log query, not a metric query", where))
            elif ptype in _METRIC_PANELS and not res.is_metric:
                problems.append(
                    Problem(
                        file,
                        f"{ptype} panel needs a LogQL metric query (e.g. count_over_time(...[5m]))",
                        where,
                    )
                )
    return problems


def _lint_grid(file: str, panels: list[tuple[str, dict, str]]) -> list[Problem]:
    problems = []
    placed: dict[str, list[tuple[str, int, int, int, int]]] = {}
    for where, p, group in panels:
        g = p.get("gridPos")
        if not isinstance(g, dict) or not all(isinstance(g.get(k), int) for k in "xywh"):
            continue
        x, y, w, h = g["x"], g["y"], g["w"], g["h"]
        if x < 0 or w < 1 or h < 1 or y < 0 or x + w > GRID_COLUMNS:
            problems.append(
                Problem(
                    file,
                    f"panel outside the {GRID_COLUMNS}-column grid (x={x}, w={w}, y={y}, h={h}; "
                    f"need x>=0, w>=1, h>=1, y>=0, x+w<={GRID_COLUMNS})",
                    f"{where}.gridPos",
                )
            )
            continue
        for owhere, ox, oy, ow, oh in placed.get(group, []):
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                problems.append(Problem(file, f"panel overlaps {owhere}", f"{where}.gridPos"))
        placed.setdefault(group, []).append((where, x, y, w, h))
    return problems


def _lint_datasources(
    file: str, d: dict, panels: list[tuple[str, dict, str]], ds_vars: dict[str, str]
) -> list[Problem]:
    refs: list[tuple[str, Any]] = []
    for where, p, _ in panels:
        if "datasource" in p:
            refs.append((f"{where}.datasource", p["datasource"]))
        for k, t in enumerate(p.get("targets") or []):
            if isinstance(t, dict) and "datasource" in t:
                refs.append((f"{where}.targets[{k}].datasource", t["datasource"]))
    for i, v in enumerate((d.get("templating") or {}).get("list") or []):
        if isinstance(v, dict) and "datasource" in v:
            refs.append((f"templating.list[{i}].datasource", v["datasource"]))
    for i, a in enumerate((d.get("annotations") or {}).get("list") or []):
        if isinstance(a, dict) and "datasource" in a:
            refs.append((f"annotations.list[{i}].datasource", a["datasource"]))

    problems = []
    for where, ref in refs:
        if ref is None:
            continue
        uid = ref.get("uid") if isinstance(ref, dict) else ref  # a bare string is the legacy name form
        if not isinstance(uid, str) or uid in _BUILTIN_DS_UIDS or "$" not in uid and "[[" not in uid:
            continue  # a fixed uid (set by datasource provisioning) cannot be checked offline
        m = _VAR_REF.fullmatch(uid)
        name = next(g for g in m.groups() if g) if m else None
        if name is None:
            problems.append(
                Problem(file, f"datasource uid {uid!r} is neither a fixed uid nor a ${{variable}}", where)
            )
        elif name not in ds_vars:
            hint = (
                " (an import placeholder: file provisioning does not substitute it)"
                if name.startswith("DS_")
                else ""
            )
            problems.append(
                Problem(
                    file, f"datasource {uid!r} names no datasource variable in templating.list{hint}", where
                )
            )
        elif isinstance(ref, dict) and ref.get("type") and ds_vars[name] and ref["type"] != ds_vars[name]:
            problems.append(
                Problem(
                    file,
                    f"datasource type {ref['type']!r} but variable {name!r} selects {ds_vars[name]!r} datasources",
                    where,
                )
            )
    return problems


def _lint_field_config(file: str, where: str, panel: dict) -> list[Problem]:
    fc = panel.get("fieldConfig")
    if not isinstance(fc, dict):
        return []
    problems = []
    settings: list[tuple[str, str, Any]] = []  # (where, property id, value)
    defaults = fc.get("defaults") if isinstance(fc.get("defaults"), dict) else {}
    for key in ("unit", "thresholds"):
        if key in defaults:
            settings.append((f"{where}.fieldConfig.defaults.{key}", key, defaults[key]))
    for i, o in enumerate(fc.get("overrides") or []):
        for j, prop in enumerate((o or {}).get("properties") or [] if isinstance(o, dict) else []):
            if isinstance(prop, dict) and prop.get("id") in ("unit", "thresholds"):
                settings.append(
                    (
                        f"{where}.fieldConfig.overrides[{i}].properties[{j}].value",
                        prop["id"],
                        prop.get("value"),
                    )
                )

    for swhere, key, value in settings:
        if key == "unit":
            if isinstance(value, str) and value and not is_grafana_unit(value):
                problems.append(Problem(file, f"unknown Grafana unit {value!r}", swhere))
            continue
        steps = value.get("steps") if isinstance(value, dict) else None
        if not isinstance(steps, list) or not steps:
            continue
        values = [s.get("value") if isinstance(s, dict) else None for s in steps]
        if values[0] is not None:
            problems.append(
                Problem(
                    file,
                    "first threshold step must have value null (the base, -Infinity)",
                    f"{swhere}.steps[0].value",
                )
            )
        prev = None
        for k, v in enumerate(values[1:], start=1):
            if v is None:
                problems.append(
                    Problem(
                        file,
                        "only the first threshold step may have value null",
                        f"{swhere}.steps[{k}].value",
                    )
                )
            elif isinstance(v, int | float):
                if prev is not None and v <= prev:
                    problems.append(
                        Problem(
                            file,
                            f"threshold steps must ascend: {v} after {prev}",
                            f"{swhere}.steps[{k}].value",
                        )
                    )
                prev = v
    return problems
