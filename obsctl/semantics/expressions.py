"""Expression checks: names, kinds (rate() of a gauge), windows, matchers and function arities.
The tables of the functions the language knows live here; what each means per backend lives in the compilers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics import did_you_mean
from ..durations import parse_duration
from ..expr import ast

if TYPE_CHECKING:
    from .core import Checker


# name -> (min args, max args). What each does per backend lives in the compilers. A range function may take
# its window as a last argument (`rate(x, 5m)`), hence one more than PromQL's count.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "rate": (1, 2),
    "irate": (1, 2),
    "increase": (1, 2),
    "delta": (1, 2),
    "avg_over_time": (1, 2),
    "max_over_time": (1, 2),
    "min_over_time": (1, 2),
    "sum_over_time": (1, 2),
    "count_over_time": (1, 2),
    "last_over_time": (1, 2),
    "stddev_over_time": (1, 2),
    "stdvar_over_time": (1, 2),
    "present_over_time": (1, 2),
    "absent_over_time": (1, 2),
    "quantile_over_time": (2, 3),
    "predict_linear": (2, 3),
    "deriv": (1, 2),
    "changes": (1, 2),
    "resets": (1, 2),
    "absent": (1, 1),
    "sum": (1, 1),
    "avg": (1, 1),
    "count": (1, 2),
    "min": (1, 2),
    "max": (1, 2),
    "group": (1, 1),
    "stddev": (1, 1),
    "stdvar": (1, 1),
    "count_values": (2, 2),
    "topk": (2, 2),
    "bottomk": (2, 2),
    "quantile": (2, 2),
    "histogram_quantile": (2, 2),
    "abs": (1, 1),
    "ceil": (1, 1),
    "floor": (1, 1),
    "round": (1, 2),
    "clamp": (3, 3),
    "clamp_min": (2, 2),
    "clamp_max": (2, 2),
    "exp": (1, 1),
    "ln": (1, 1),
    "log2": (1, 1),
    "log10": (1, 1),
    "sqrt": (1, 1),
    "sgn": (1, 1),
    "time": (0, 0),
    "timestamp": (1, 1),
    "vector": (1, 1),
    "scalar": (1, 1),
    "label_replace": (5, 5),
    "label_join": (3, 64),
    "sort": (1, 1),
    "sort_desc": (1, 1),
    "day_of_week": (0, 1),
    "day_of_month": (0, 1),
    "days_in_month": (0, 1),
    "hour": (0, 1),
    "minute": (0, 1),
    "month": (0, 1),
    "year": (0, 1),
}
COUNTER_FUNCS = {"rate", "irate", "increase", "delta"}
GAUGE_FUNCS = {
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "sum_over_time",
    "deriv",
    "stddev_over_time",
    "stdvar_over_time",
    "quantile_over_time",
    "predict_linear",
}
# Range functions that mean the same over a counter and a gauge.
ANY_KIND_FUNCS = {
    "changes",
    "resets",
    "count_over_time",
    "last_over_time",
    "present_over_time",
    "absent_over_time",
}
RANGE_FUNCS = COUNTER_FUNCS | GAUGE_FUNCS | ANY_KIND_FUNCS
RANGE_ARG = {"quantile_over_time": 1}  # the range argument's index, when it is not the first
AGGREGATIONS = set(ast.AGGREGATIONS)
GROUPABLE = AGGREGATIONS


@dataclass
class RefInfo:
    """What a name in an expression refers to."""

    kind: str  # counter | gauge | histogram | summary | derived | event | probe
    target: str  # catalog name (the histogram for `h_bucket`)
    series: str = ""  # "", "bucket", "sum", "count" for histogram/summary parts


def check_node(c: Checker, node: ast.Node, path: tuple, allow_events: bool) -> None:
    kinds = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Ref):
            info = c.out.refs.get(n.name)
            if info is None:
                c.report(
                    "OBS201",
                    "error",
                    f"unknown name '{n.name}'",
                    path,
                    did_you_mean(n.name, c.out.refs)
                    or "declare it under metrics:, derived:, events: or sources.probes:",
                    n.pos,
                )
                continue
            kinds.add("event" if info.kind == "event" else "metric")
            if n.window:
                _duration(c, n.window, path, n.pos)
            if n.offset:
                _duration(c, n.offset, path, n.pos)
            _check_matchers(c, n, info, path)
            if info.kind in ("histogram", "summary") and not info.series and not n.matchers:
                if not _inside_quantile(c, node, n):
                    c.report(
                        "OBS211",
                        "error",
                        f"'{n.name}' is a {info.kind}: use quantile(0.95, {n.name}) or "
                        f"{n.name}_count / {n.name}_sum",
                        path,
                        "",
                        n.pos,
                    )
        elif isinstance(n, ast.Var):
            if n.name not in c.spec.vars:
                c.report(
                    "OBS220",
                    "error",
                    f"unknown variable '${n.name}'",
                    path,
                    did_you_mean(n.name, c.spec.vars) or "define it under vars:",
                    n.pos,
                )
        elif isinstance(n, ast.DurationLit):
            _duration(c, n.text, path, n.pos)
        elif isinstance(n, ast.Call):
            _check_call(c, n, path)
        elif isinstance(n, ast.BinOp):
            _check_binop(c, n, path)
        elif isinstance(n, ast.Subquery):
            for text in (n.range, n.step, n.offset):
                if text:
                    _duration(c, text, path, n.pos)
            if uses_events(n, c.out.refs):
                c.report(
                    "OBS253",
                    "error",
                    "a subquery over log events",
                    path,
                    "LogQL has no subqueries; count the events over the window instead: count(x, 1h)",
                    n.pos,
                )
    if "event" in kinds and "metric" in kinds:
        first_event = next(
            n
            for n in ast.walk(node)
            if isinstance(n, ast.Ref) and c.out.refs.get(n.name, RefInfo("", "")).kind == "event"
        )
        c.report(
            "OBS213",
            "error",
            f"an expression cannot mix log events ('{first_event.name}') and metrics",
            path,
            "they compile to different backends (LogQL and PromQL); use two alerts",
            first_event.pos,
        )
    if "event" in kinds and not allow_events:
        c.report("OBS214", "error", "log events cannot be used here", path, "", node.pos)


def _is_scalar(node: ast.Node) -> bool:
    """A number for sure: a literal, a $variable, time() or scalar(...)."""
    if isinstance(node, ast.Neg):
        return _is_scalar(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_scalar(node.left) and _is_scalar(node.right)
    return (
        isinstance(node, ast.Number | ast.Var)
        or isinstance(node, ast.Call)
        and node.func in ("time", "scalar")
    )


def _check_binop(c: Checker, n: ast.BinOp, path: tuple) -> None:
    """What PromQL refuses to parse about binary operators, said at validate with the fix."""
    m = n.matching
    if m is not None and m.group and n.op in ("and", "or", "unless"):
        c.report(
            "OBS250",
            "error",
            f"group_{m.group} on the set operator '{n.op}'",
            path,
            f"set operators match many-to-many already: write '{n.op} {'on' if m.on else 'ignoring'}"
            f"({', '.join(m.labels)})' without group_{m.group}",
            n.pos,
        )
    if m is not None and (_is_scalar(n.left) or _is_scalar(n.right)):
        c.report(
            "OBS251",
            "error",
            f"vector matching on '{n.op}' with a number on one side",
            path,
            "on(...)/ignoring(...) match two sets of series; a number applies to every series as it is: "
            "drop the matching clause",
            n.pos,
        )
    if n.op in ast.COMPARISONS and not n.return_bool and _is_scalar(n.left) and _is_scalar(n.right):
        c.report(
            "OBS252",
            "error",
            f"'{n.op}' between two numbers filters nothing",
            path,
            f"write '{n.op} bool' for 0 or 1, as PromQL requires",
            n.pos,
        )


def _inside_quantile(c: Checker, root: ast.Node, ref: ast.Ref) -> bool:
    for n in ast.walk(root):
        if isinstance(n, ast.Call) and n.func == "quantile" and len(n.args) == 2 and n.args[1] is ref:
            return True
    return False


def _duration(c: Checker, text: str, path: tuple, pos: ast.Pos) -> None:
    try:
        parse_duration(text)
    except ValueError as e:
        c.report("OBS204", "error", str(e), path, getattr(e, "hint", ""), pos)


def _check_matchers(c: Checker, ref: ast.Ref, info: RefInfo, path: tuple) -> None:
    for m in ref.matchers:
        if m.op in ("=~", "!~"):
            try:
                re.compile(m.value)
            except re.error as e:
                c.report("OBS205", "error", f"invalid regex for label '{m.label}': {e}", path, "", ref.pos)
    if info.kind in ("counter", "gauge", "histogram", "summary") and info.target in c.spec.metrics:
        declared = set(c.spec.metrics[info.target].labels)
        extra = {"le"} if info.series == "bucket" else ({"quantile"} if info.kind == "summary" else set())
        for m in ref.matchers:
            if declared and m.label not in declared | extra | set(c.spec.selector_of(info.target)):
                c.report(
                    "OBS215",
                    "warning",
                    f"'{info.target}' declares no label '{m.label}'",
                    path,
                    did_you_mean(m.label, declared) or f"declared labels: {', '.join(sorted(declared))}",
                    ref.pos,
                )
    if info.kind in ("derived", "event", "probe") and ref.matchers:
        c.report(
            "OBS216",
            "error",
            f"label matchers apply to catalog metrics, not to the {info.kind} '{ref.name}'",
            path,
            "put the matchers in the derived expression or the event's stream",
            ref.pos,
        )


def _check_call(c: Checker, n: ast.Call, path: tuple) -> None:
    if n.func not in FUNCTIONS:
        c.report(
            "OBS202",
            "error",
            f"unknown function '{n.func}'",
            path,
            did_you_mean(n.func, FUNCTIONS) or f"functions: {', '.join(sorted(FUNCTIONS))}",
            n.pos,
        )
        return
    lo, hi = FUNCTIONS[n.func]
    if not lo <= len(n.args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        c.report(
            "OBS203", "error", f"{n.func}() takes {want} argument(s), got {len(n.args)}", path, "", n.pos
        )
        return
    if n.by is not None and n.func not in GROUPABLE:
        c.report(
            "OBS206", "error", f"'by'/'without' applies to aggregations, not to {n.func}()", path, "", n.pos
        )
    first = n.args[RANGE_ARG.get(n.func, 0)] if n.args else None
    info = c.out.refs.get(first.name) if isinstance(first, ast.Ref) else None
    if n.func in RANGE_FUNCS or (n.func == "count" and info and info.kind == "event"):
        if isinstance(first, ast.Subquery):
            return
        if not isinstance(first, ast.Ref):
            c.report(
                "OBS207",
                "error",
                f"{n.func}() takes a metric name as its range argument",
                path,
                f"e.g. {n.func}(api_requests_total[5m]), or a subquery {n.func}((a / b)[1h:5m])",
                n.pos,
            )
            return
        last = n.args[-1]
        if len(n.args) == FUNCTIONS[n.func][1] and not isinstance(last, ast.DurationLit):
            c.report(
                "OBS207", "error", f"the last argument of {n.func}() is a window like 5m", path, "", n.pos
            )
        if info is None:
            return
        if n.func in COUNTER_FUNCS and n.func != "delta" and info.kind in ("gauge", "probe"):
            c.report(
                "OBS210",
                "error",
                f"{n.func}() of the gauge '{first.name}'",
                path,
                f"{n.func}() needs a counter; for a gauge use delta() (its change) or deriv() (per second)",
                n.pos,
            )
        elif n.func in COUNTER_FUNCS and info.kind in ("histogram", "summary") and not info.series:
            c.report(
                "OBS210",
                "error",
                f"{n.func}() of the {info.kind} '{first.name}'",
                path,
                f"use {first.name}_count for the number of observations",
                n.pos,
            )
        elif n.func in GAUGE_FUNCS and info.kind == "counter":
            c.report(
                "OBS210",
                "warning",
                f"{n.func}() of the counter '{first.name}'",
                path,
                "counters only go up and reset; use rate() or delta()",
                n.pos,
            )
        elif n.func in RANGE_FUNCS and info.kind == "derived":
            c.report(
                "OBS210",
                "error",
                f"{n.func}() of the derived metric '{first.name}'",
                path,
                "derived metrics already have a window; apply the function inside its expression, or "
                f"write a subquery: {n.func}({first.name}[1h:5m])",
                n.pos,
            )
        elif n.func in RANGE_FUNCS and info.kind == "event" and n.func not in ("rate",):
            c.report(
                "OBS210",
                "error",
                f"{n.func}() of the log event '{first.name}'",
                path,
                f"count log events with count({first.name}, 10m) or rate({first.name})",
                n.pos,
            )
    elif n.func == "quantile":
        target = n.args[1]
        tinfo = c.out.refs.get(target.name) if isinstance(target, ast.Ref) else None
        if not isinstance(n.args[0], ast.Number | ast.Var):
            c.report("OBS211", "error", "quantile() takes a number like 0.95 first", path, "", n.pos)
        elif isinstance(n.args[0], ast.Number) and not 0 <= n.args[0].value <= 1:
            c.report(
                "OBS211",
                "error",
                f"quantile {n.args[0].value} is outside 0..1",
                path,
                "write 0.95 for the 95th percentile",
                n.pos,
            )
        if tinfo is not None and tinfo.kind not in ("histogram", "summary") and isinstance(target, ast.Ref):
            if tinfo.kind != "event":
                c.report(
                    "OBS211",
                    "error",
                    f"quantile() of '{target.name}', which is a {tinfo.kind}",
                    path,
                    "quantile() needs a histogram (or a summary) from the metrics catalog",
                    n.pos,
                )
    elif n.func == "histogram_quantile":
        buckets = [
            r
            for r in ast.walk(n.args[1])
            if isinstance(r, ast.Ref) and c.out.refs.get(r.name, RefInfo("", "")).series == "bucket"
        ]
        if not buckets:
            c.report(
                "OBS212",
                "error",
                "histogram_quantile() without a histogram's _bucket series",
                path,
                "write quantile(0.95, my_histogram) and obsctl adds rate(my_histogram_bucket) by (le)",
                n.pos,
            )
        for agg in ast.walk(n.args[1]):
            # only aggregations over the buckets: a `* on (...) group_left (node) info` beside them keeps `le`
            over_buckets = any(r in buckets for r in ast.walk(agg))
            if isinstance(agg, ast.Call) and agg.func in AGGREGATIONS and agg.by is not None and over_buckets:
                keeps_le = ("le" in agg.by) != agg.without
                if not keeps_le:
                    c.report(
                        "OBS212",
                        "error",
                        f"{agg.func}() inside histogram_quantile() drops the 'le' label",
                        path,
                        "aggregate with 'by (le, ...)'",
                        agg.pos,
                    )
    elif n.func in ("max", "min") and len(n.args) == 2:
        if not any(isinstance(a, ast.Number | ast.Var) for a in n.args):
            c.report(
                "OBS208",
                "error",
                f"{n.func}(a, b) needs a number as one argument",
                path,
                f"{n.func}(x, 1) keeps x at least/at most 1; for series use {n.func}(x) to aggregate",
                n.pos,
            )
    elif n.func == "count" and len(n.args) == 2:
        c.report(
            "OBS207",
            "error",
            "count(x, window) counts log events; for metrics write count(x)",
            path,
            "",
            n.pos,
        )


def has_comparison(node: ast.Node) -> bool:
    if isinstance(node, ast.BinOp):
        if node.op in ast.COMPARISONS:
            return True
        if node.op in ("and", "or", "unless"):
            return has_comparison(node.left) or has_comparison(node.right)
    return False


def uses_events(node: ast.Node, refs: dict[str, RefInfo]) -> bool:
    return any(
        isinstance(n, ast.Ref) and refs.get(n.name, RefInfo("", "")).kind == "event" for n in ast.walk(node)
    )


def is_event_selector(node: ast.Node, refs: dict[str, RefInfo]) -> bool:
    if not isinstance(node, ast.Ref) or node.window or node.offset:
        return False
    info = refs.get(node.name)
    return info is None or info.kind in ("counter", "event")
