"""Datadog payload validation, offline (target-formats §4.4, §4.8, §4.10).

1. strict deserialisation with `datadog-api-client`: types, required fields, declared bounds, and -
   which the client itself lets through - unknown keys, unparsed enum values and read-only fields;
2. obsctl's semantic checks the API enforces but no client model does: the query's trailing
   `<op> <number>` equals `options.thresholds.critical`, warning/recovery thresholds on the right
   side of critical, `logs("...")` quoting, `key:value` tags, SLO targets as percentages, metric names in
   metric queries (monitors, SLOs, dashboard widgets) that Datadog would not read as one name.

datadog-api-client is heavy to import: it is imported inside the functions that need it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from obsctl.verify import Problem

# Response-only fields the client models accept without marking them read-only (§4.1, §4.8).
_EXTRA_READ_ONLY = {
    "Monitor": {"matching_downtimes"},
    "SLOThreshold": {"target_display", "warning_display"},
}

# Monitor types whose query ends in "<operator> <number>" that must equal thresholds.critical.
THRESHOLD_TYPES = {
    "metric alert",
    "query alert",
    "log alert",
    "slo alert",
    "event-v2 alert",
    "audit alert",
    "process alert",
    "rum alert",
    "trace-analytics alert",
}

_TRAILING = re.compile(r"(<=|>=|==|!=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_TAG = re.compile(r"[A-Za-z][\w.\-/]*:[^\s,]+")
# Datadog metric names: a letter first, then ASCII letters, digits, '_' and '.', at most 200 characters.
_METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,199}")
# `<space aggregator>:<metric name>` in a metric query; the name runs to its tag filter, `by`, a bracket, a comma,
# an operator after a space, or the end (so `sum:my ns.reqs{*}` reads the name 'my ns.reqs')
_METRIC_REF = re.compile(
    r"(?<![\w.])(?:avg|sum|min|max|count|p\d+(?:\.\d+)?):(.*?)(?=[{}(),]|\s+by\s|\s+[-+*/%]|\s*[<>=!]|\s*$)"
)
_API_PATH = re.compile(r"\s+at (\[.*\])$")
_API_KEY = re.compile(r"\['([^']*)'\]|\[(\d+)\]")


def _client_problems(d: Any, model: str, file: str) -> list[Problem]:
    """Deserialise `d` into the named v1 model and walk the result for what the client tolerates."""
    from datadog_api_client import Configuration
    from datadog_api_client.model_utils import validate_and_convert_types

    if model == "Monitor":
        from datadog_api_client.v1.model.monitor import Monitor as cls
    elif model == "ServiceLevelObjectiveRequest":
        from datadog_api_client.v1.model.service_level_objective_request import (
            ServiceLevelObjectiveRequest as cls,
        )
    else:
        from datadog_api_client.v1.model.dashboard import Dashboard as cls

    try:
        # deepcopy: the client converts nested dicts in place
        obj = validate_and_convert_types(
            copy.deepcopy(d), (cls,), ["root"], True, True, configuration=Configuration()
        )
    except Exception as exc:  # ApiTypeError / ApiValueError / TypeError (missing required argument)
        msg, where = str(exc), ""
        if m := _API_PATH.search(msg):  # "... at ['root']['options']['renotify_interval']"
            keys = [k or f"[{n}]" for k, n in _API_KEY.findall(m.group(1))][1:]  # drop 'root'
            where = ".".join(keys).replace(".[", "[")
            msg = msg[: m.start()]
        return [Problem(file, f"{type(exc).__name__}: {msg}", where)]
    problems: list[Problem] = []
    _walk(obj, "", file, problems)
    return problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _walk(obj: Any, path: str, file: str, problems: list[Problem]) -> None:
    from datadog_api_client.model_utils import ModelComposed, ModelNormal, ModelSimple, UnparsedObject

    if isinstance(obj, UnparsedObject):
        problems.append(Problem(file, "does not match any allowed schema", path))
    elif isinstance(obj, ModelComposed):  # oneOf wrapper, e.g. WidgetDefinition
        if obj._unparsed:
            # a bad enum inside a oneOf branch makes the whole union unparsed: the error is coarse
            problems.append(Problem(file, "does not match any allowed oneOf schema", path))
        elif (inst := obj.get_oneof_instance()) is not None:
            _walk(inst, path, file, problems)
    elif isinstance(obj, ModelSimple):
        if obj._unparsed:
            problems.append(Problem(file, f"{obj.value!r} is not one of {sorted(obj.allowed_values)}", path))
    elif isinstance(obj, ModelNormal):
        known = set(obj.attribute_map)
        for key, value in obj._data_store.items():
            if key not in known:
                problems.append(Problem(file, "unknown field", _join(path, key)))
            _walk(value, _join(path, key), file, problems)
        read_only = set(getattr(type(obj), "read_only_vars", None) or ()) | _EXTRA_READ_ONLY.get(
            type(obj).__name__, set()
        )
        for key in sorted(read_only & set(obj._data_store)):
            problems.append(
                Problem(file, "read-only field (server-assigned); never send it", _join(path, key))
            )
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            _walk(item, f"{path}[{i}]", file, problems)


def _tag_problems(d: dict, file: str) -> list[Problem]:
    tags = d.get("tags")
    if not isinstance(tags, list):
        return []  # absent, or a type error the client reports
    return [
        Problem(file, f"tag {t!r} is not a key:value string", f"tags[{i}]")
        for i, t in enumerate(tags)
        if not (isinstance(t, str) and _TAG.fullmatch(t) and len(t) <= 200)
    ]


def metric_query_problems(query: str, file: str, where: str) -> list[Problem]:
    """Metric names in a metric query that are no Datadog metric names, and unbalanced tag-filter braces."""
    outside, depth, balanced = [], 0, True  # the query with each {...} emptied: tag values may hold 'sum:'
    for c in query:
        if c == "{":
            depth += 1
            if depth == 1:
                outside.append(c)
        elif c == "}":
            balanced = balanced and depth > 0
            depth = max(0, depth - 1)
            if depth == 0:
                outside.append(c)
        elif depth == 0:
            outside.append(c)
    problems = [] if balanced and depth == 0 else [Problem(file, "the query's { } do not balance", where)]
    for m in _METRIC_REF.finditer("".join(outside)):
        if not _METRIC_NAME.fullmatch(m.group(1)):
            problems.append(
                Problem(
                    file,
                    f"'{m.group(1)}' is not a Datadog metric name (a letter, then ASCII "
                    "letters, digits, '_' and '.', at most 200 characters)",
                    where,
                )
            )
    return problems


def _dashboard_queries(node: Any, path: str) -> list[tuple[str, str]]:
    """(where, query) of every metric query in a dashboard's widgets (formula queries and legacy `q`)."""
    out: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if isinstance(node.get("q"), str):
            out.append((_join(path, "q"), node["q"]))
        if node.get("data_source") == "metrics" and isinstance(node.get("query"), str):
            out.append((_join(path, "query"), node["query"]))
        for k, v in node.items():
            if isinstance(v, dict | list):
                out += _dashboard_queries(v, _join(path, k))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            out += _dashboard_queries(item, f"{path}[{i}]")
    return out


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _logs_quoting(query: str) -> str | None:
    """Why the `logs("...")` search string is malformed, or None."""
    if not query.startswith('logs("'):
        return 'log alert query must start with logs("<search>")'
    i = len('logs("')
    while i < len(query):
        c = query[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            break
        i += 1
    else:
        return 'unterminated search string in logs("...")'
    if not query[i + 1 :].startswith(")"):
        return (
            'search string in logs("...") ends early: escape double quotes inside it as \\" '
            '(e.g. logs("service:x \\"exact phrase\\""))'
        )
    return None


def _threshold_problems(d: dict, file: str) -> list[Problem]:
    mtype, query = d.get("type"), d.get("query")
    if mtype not in THRESHOLD_TYPES or not isinstance(query, str):
        return []
    problems = []
    if mtype == "log alert" and (why := _logs_quoting(query.strip())):
        problems.append(Problem(file, why, "query"))

    m = _TRAILING.search(query)
    if not m:
        return [
            *problems,
            Problem(file, "query must end with '<operator> <number>' (e.g. '> 0.05')", "query"),
        ]
    op, q_value = m.group(1), float(m.group(2))
    options = d.get("options") if isinstance(d.get("options"), dict) else {}
    th = options.get("thresholds") if isinstance(options.get("thresholds"), dict) else {}
    critical = _number(th.get("critical"))

    if th.get("critical") is None:
        if _number(th.get("warning")) is not None:
            problems.append(
                Problem(
                    file,
                    "warning threshold set without critical (API: 'Alert status is required.')",
                    "options.thresholds",
                )
            )
        critical = q_value  # the API takes critical from the query
    elif critical is not None and critical != q_value:
        problems.append(
            Problem(
                file,
                f"thresholds.critical ({th['critical']}) does not match the query threshold ({m.group(2)})",
                "options.thresholds.critical",
            )
        )
    if op in ("==", "!=") or critical is None:
        return problems

    above = op in (">", ">=")  # alerting when the value is above critical
    side = "below" if above else "above"

    def wrong_side(value: float, limit: float) -> bool:
        return value >= limit if above else value <= limit

    warning = _number(th.get("warning"))
    checks = [
        ("warning", warning, critical, "critical"),
        ("critical_recovery", _number(th.get("critical_recovery")), critical, "critical"),
        ("warning_recovery", _number(th.get("warning_recovery")), warning if warning is not None else critical,
         "warning" if warning is not None else "critical"),
    ]  # fmt: skip
    for name, value, limit, limit_name in checks:
        if value is not None and wrong_side(value, limit):
            problems.append(
                Problem(
                    file,
                    f"{name} ({value:g}) must be {side} {limit_name} ({limit:g}) for operator '{op}'",
                    f"options.thresholds.{name}",
                )
            )
    return problems


def validate_monitor(d: dict, file: str = "<monitor>") -> list[Problem]:
    """Monitor payload (POST /api/v1/monitor): client deserialisation plus obsctl's semantic checks."""
    problems = _client_problems(d, "Monitor", file)
    if isinstance(d, dict):
        problems += _threshold_problems(d, file)
        problems += _tag_problems(d, file)
        if d.get("type") in ("query alert", "metric alert") and isinstance(d.get("query"), str):
            problems += metric_query_problems(d["query"], file, "query")
    return problems


def validate_slo(d: dict, file: str = "<slo>") -> list[Problem]:
    """SLO create payload (ServiceLevelObjectiveRequest): client deserialisation plus target checks."""
    problems = _client_problems(d, "ServiceLevelObjectiveRequest", file)
    if not isinstance(d, dict):
        return problems
    problems += _tag_problems(d, file)
    query = d.get("query") if isinstance(d.get("query"), dict) else {}
    for part in ("numerator", "denominator"):
        if isinstance(query.get(part), str):
            problems += metric_query_problems(query[part], file, f"query.{part}")
    for i, t in enumerate(d.get("thresholds") or []):
        if not isinstance(t, dict):
            continue
        target, warning = _number(t.get("target")), _number(t.get("warning"))
        if target is not None and not 0 < target < 100:
            problems.append(
                Problem(
                    file,
                    f"target {target:g} must be a percentage between 0 and 100",
                    f"thresholds[{i}].target",
                )
            )
        elif target is not None and target <= 1:
            problems.append(
                Problem(
                    file,
                    f"target {target:g} looks like a ratio; targets are percentages (99.9, not 0.999)",
                    f"thresholds[{i}].target",
                )
            )
        if target is not None and warning is not None and warning <= target:
            problems.append(
                Problem(
                    file,
                    f"warning ({warning:g}) must be above target ({target:g})",
                    f"thresholds[{i}].warning",
                )
            )
        if t.get("timeframe") == "custom":
            problems.append(
                Problem(
                    file,
                    "timeframe 'custom' is not allowed when creating an SLO",
                    f"thresholds[{i}].timeframe",
                )
            )
    return problems


def validate_dashboard(d: dict, file: str = "<dashboard>") -> list[Problem]:
    """Dashboard payload (POST /api/v1/dashboard): client deserialisation plus tag format."""
    problems = _client_problems(d, "Dashboard", file)
    if isinstance(d, dict):
        problems += _tag_problems(d, file)
        for where, query in _dashboard_queries(d.get("widgets"), "widgets"):
            problems += metric_query_problems(query, file, where)
    return problems
