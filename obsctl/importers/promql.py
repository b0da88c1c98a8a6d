"""Reading source PromQL for `obsctl import`: a normal form to compare expressions by, what a rule tells about the
metrics it reads (the catalog), and the translation into obsctl's expression language.

`faithful()` is the one place that decides whether obsctl's language says exactly what a PromQL expression says.
Today obsctl aggregates a bare series or a counter function outside an aggregation (see docs/targets.md), has no
vector matching (`on`, `ignoring`, `group_left`, `bool`) and no subqueries, so such expressions are kept verbatim
as `overrides: {promql: ...}`. When the language gains PromQL's label semantics, loosen `faithful()` alone.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import promql_parser as pp

# What obsctl's language has, by its own names (obsctl.semantics.FUNCTIONS); kept here so the importer's decision
# does not load the checker. A test holds the two in step.
COUNTER_FUNCS = {"rate", "irate", "increase"}
GAUGE_RANGE_FUNCS = {"avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "deriv", "changes", "delta"}
RANGE_FUNCS = COUNTER_FUNCS | GAUGE_RANGE_FUNCS
SAME_SHAPE_FUNCS = {"abs": (1, 1), "ceil": (1, 1), "floor": (1, 1), "round": (1, 2), "clamp_min": (2, 2),
                    "clamp_max": (2, 2)}
AGGREGATIONS = {"sum", "avg", "min", "max", "count"}
RANKINGS = {"topk", "bottomk"}
BINARY_OPS = {"or", "and", "unless", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "^"}
SET_OPS = {"or", "and", "unless"}
_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class PromQLError(ValueError):
    """A source expression promql-parser cannot read."""


def parse(text: str) -> object:
    try:
        return pp.parse(text)
    except (ValueError, TypeError) as e:  # promql-parser raises ValueError with Prometheus' own message
        raise PromQLError(str(e).strip()) from None


def _ms(td: object) -> int:
    return round(td.total_seconds() * 1000)


def _mod_text(mod: object) -> str:
    if mod is None:
        return ""
    matching = mod.matching
    parts = []
    if matching is not None:
        parts.append(f"{str(matching.type).rsplit('.', 1)[-1]}{sorted(matching.labels)}")
    parts.append(str(mod.card).rsplit(".", 1)[-1])
    group = getattr(mod, "group_labels", None)
    if group:
        parts.append(f"group{sorted(group)}")
    if mod.return_bool:
        parts.append("bool")
    return "|".join(parts)


def _selector_text(vs: object) -> str:
    ms = sorted((m.name, str(m.op).rsplit(".", 1)[-1], m.value) for m in vs.matchers.matchers)
    ors = sorted(str(sorted((m.name, str(m.op), m.value) for m in group)) for group in (vs.matchers.or_matchers or []))
    off = f" offset {_ms(vs.offset)}" if vs.offset else ""
    at = f" @ {vs.at}" if vs.at is not None else ""
    return f"{vs.name or ''}{ms}{ors}{off}{at}"


def canon(node: object) -> str:
    """The expression's tree as text: the same for two spellings of one expression (parentheses, spaces, matcher
    order, number and duration notation), different whenever the trees differ."""
    if isinstance(node, pp.ParenExpr):
        return canon(node.expr)
    if isinstance(node, pp.NumberLiteral):
        v = float(node.val)
        return "NaN" if math.isnan(v) else repr(v)
    if isinstance(node, pp.StringLiteral):
        return json.dumps(node.val)
    if isinstance(node, pp.VectorSelector):
        return _selector_text(node)
    if isinstance(node, pp.MatrixSelector):
        return f"{_selector_text(node.vector_selector)}[{_ms(node.range)}]"
    if isinstance(node, pp.SubqueryExpr):
        off = f" offset {_ms(node.offset)}" if node.offset else ""
        at = f" @ {node.at}" if node.at is not None else ""
        step = _ms(node.step) if node.step else ""
        return f"({canon(node.expr)})[{_ms(node.range)}:{step}]{off}{at}"
    if isinstance(node, pp.Call):
        return f"{node.func.name}({', '.join(canon(a) for a in node.args)})"
    if isinstance(node, pp.AggregateExpr):
        mod = node.modifier
        grouping = f" {str(mod.type).rsplit('.', 1)[-1]}{sorted(mod.labels)}" if mod is not None else ""
        param = f"{canon(node.param)}, " if node.param is not None else ""
        return f"{node.op}{grouping}({param}{canon(node.expr)})"
    if isinstance(node, pp.UnaryExpr):
        return f"-({canon(node.expr)})"
    if isinstance(node, pp.BinaryExpr):
        return f"({canon(node.lhs)} {node.op}[{_mod_text(node.modifier)}] {canon(node.rhs)})"
    raise PromQLError(f"unknown PromQL node {type(node).__name__}")  # pragma: no cover - promql-parser's own set


def normalise(text: str) -> str:
    """`canon` of PromQL text: compare two expressions with `normalise(a) == normalise(b)`."""
    return canon(parse(text))


def children(node: object) -> Iterator[object]:
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        yield node.expr
    elif isinstance(node, pp.MatrixSelector):
        yield node.vector_selector
    elif isinstance(node, pp.Call):
        yield from node.args
    elif isinstance(node, pp.AggregateExpr):
        if node.param is not None:
            yield node.param
        yield node.expr
    elif isinstance(node, pp.BinaryExpr):
        yield node.lhs
        yield node.rhs


def walk(node: object) -> Iterator[object]:
    yield node
    for c in children(node):
        yield from walk(c)


# -- the catalog a set of rules implies ---------------------------------------------------------------------------


@dataclass
class Usage:
    """What the rules show about one metric name."""

    counter: bool = False  # read by rate/irate/increase, or named *_total
    bucket: bool = False  # a *_bucket series read with `le`
    labels: set[str] = field(default_factory=set)


def collect_usage(node: object, usage: dict[str, Usage], template_labels: set[str] = frozenset()) -> None:
    """Record what `node` tells about the metrics it reads: kinds from functions and names, labels from matchers,
    grouping (`by`, `without`, `on`, `ignoring`, `group_left`) and the annotations' `$labels.x`."""

    def visit(n: object, around: frozenset[str], in_counter: bool, with_le: bool) -> None:
        if isinstance(n, pp.VectorSelector):
            if not n.name:
                return
            u = usage.setdefault(n.name, Usage())
            u.labels |= {m.name for m in n.matchers.matchers} | around | set(template_labels)
            u.counter |= in_counter or n.name.endswith("_total")
            u.bucket |= n.name.endswith("_bucket") and (with_le or any(m.name == "le" for m in n.matchers.matchers))
            return
        labels = around
        if isinstance(n, pp.AggregateExpr) and n.modifier is not None:
            labels = labels | set(n.modifier.labels)
            with_le = with_le or "le" in n.modifier.labels
        if isinstance(n, pp.BinaryExpr) and n.modifier is not None:
            if n.modifier.matching is not None:
                labels = labels | set(n.modifier.matching.labels)
            labels = labels | set(getattr(n.modifier, "group_labels", None) or [])
        counter = isinstance(n, pp.Call) and n.func.name in COUNTER_FUNCS
        le = with_le or (isinstance(n, pp.Call) and n.func.name == "histogram_quantile")
        for c in children(n):
            visit(c, labels, in_counter or counter, le)

    visit(node, frozenset(), False, False)


def catalog(usage: dict[str, Usage], records: set[str]) -> dict[str, dict]:
    """metrics: entries for every name the rules read that is not a recording rule: a histogram for `x_bucket`
    read with `le` (its `_count` and `_sum` are then its parts), a counter for `*_total` and what rate() reads,
    else a gauge. Names obsctl's catalog cannot hold (a ':' in them) are left out: rules reading them stay
    verbatim."""
    histograms = {n[: -len("_bucket")] for n, u in usage.items() if u.bucket}
    out: dict[str, dict] = {}
    for name in sorted(usage):
        if name in records or not _NAME.fullmatch(name) or name in histograms:
            continue
        base = next((name[: -len(s)] for s in ("_bucket", "_count", "_sum") if name.endswith(s)), None)
        if base in histograms:
            continue
        u = usage[name]
        entry: dict = {"kind": "counter" if u.counter else "gauge"}
        labels = sorted(label for label in u.labels if _NAME.fullmatch(label) and not label.startswith("__"))
        if labels:
            entry["labels"] = labels
        out[name] = entry
    for h in sorted(histograms):
        if not _NAME.fullmatch(h) or h in records:
            continue
        labels = set()
        for part in ("_bucket", "_count", "_sum"):
            labels |= usage.get(h + part, Usage()).labels
        entry = {"kind": "histogram"}
        kept = sorted(x for x in labels if _NAME.fullmatch(x) and not x.startswith("__") and x != "le")
        if kept:
            entry["labels"] = kept
        out[h] = entry
    return dict(sorted(out.items()))


# -- can obsctl's language say it? --------------------------------------------------------------------------------


@dataclass
class Context:
    """What `faithful` needs to know besides the expression."""

    kinds: dict[str, str]  # metric (or histogram part) name -> counter | gauge | histogram-part
    records: set[str] = field(default_factory=set)  # recording rules of the source (obsctl cannot keep their names)
    strip: dict[str, str] = field(default_factory=dict)  # the source selector obsctl adds back to every query
    derived: dict[str, str] = field(default_factory=dict)  # record -> derived name, when the record keeps its name
    spelling: dict[int, str] = field(default_factory=dict)  # milliseconds -> the source's spelling (24h, not 1d)


def faithful(node: object, ctx: Context, in_agg: bool = False) -> str | None:
    """None when obsctl's language says exactly what `node` says, else why not (for the report).

    `in_agg`: inside an aggregation, where obsctl compiles series and range functions as written; outside one it
    aggregates them (docs/targets.md), which is not what PromQL means."""
    if isinstance(node, pp.ParenExpr):
        return faithful(node.expr, ctx, in_agg)
    if isinstance(node, pp.NumberLiteral):
        return None if math.isfinite(float(node.val)) else "a non-finite number"
    if isinstance(node, pp.StringLiteral):
        return "a string argument"
    if isinstance(node, pp.UnaryExpr):
        return faithful(node.expr, ctx, in_agg)
    if isinstance(node, pp.SubqueryExpr):
        return "a subquery ([range:step])"
    if isinstance(node, pp.VectorSelector):
        return _selector(node, ctx, in_agg, window=False)
    if isinstance(node, pp.MatrixSelector):
        return "a range selector outside a range function"
    if isinstance(node, pp.Call):
        return _call(node, ctx, in_agg)
    if isinstance(node, pp.AggregateExpr):
        op = str(node.op)
        if op in AGGREGATIONS and node.param is None:
            return faithful(node.expr, ctx, True)
        if op in RANKINGS and node.param is not None:
            return faithful(node.param, ctx, True) or faithful(node.expr, ctx, True)
        if op == "quantile":
            return "quantile() over series (obsctl's quantile() reads a histogram or summary)"
        return f"the aggregation {op}()"
    if isinstance(node, pp.BinaryExpr):
        op = str(node.op)
        if op not in BINARY_OPS:
            return f"the operator {op}"
        mod = node.modifier
        if mod is not None:
            if mod.return_bool:
                return "a comparison with 'bool'"
            if mod.matching is not None:
                kind = str(mod.matching.type).rsplit(".", 1)[-1]
                return f"vector matching ({'on' if kind == 'Include' else 'ignoring'}(...))"
            if getattr(mod, "group_labels", None) or str(mod.card).rsplit(".", 1)[-1] in ("ManyToOne", "OneToMany"):
                return "group_left/group_right"
        return faithful(node.lhs, ctx, in_agg) or faithful(node.rhs, ctx, in_agg)
    return f"{type(node).__name__}"  # pragma: no cover


def _selector(vs: object, ctx: Context, in_agg: bool, window: bool) -> str | None:
    if not vs.name:
        return "a selector without a metric name"
    if vs.at is not None:
        return "the @ modifier"
    if vs.offset is not None and vs.offset.total_seconds() <= 0:
        return "a negative offset"
    if vs.matchers.or_matchers:
        return "'or' between label matchers"
    if any(m.name == "__name__" for m in vs.matchers.matchers):
        return "a __name__ matcher"
    if vs.name in ctx.derived:
        mine = {(m.name, str(m.op).rsplit(".", 1)[-1], m.value) for m in vs.matchers.matchers}
        if window or mine != {(k, "Equal", v) for k, v in ctx.strip.items()}:
            return f"reads the recording rule {vs.name} with its own matchers"
        return None
    if vs.name in ctx.records:
        return f"reads the recording rule {vs.name}, whose name obsctl cannot keep"
    kind = ctx.kinds.get(vs.name)
    if kind is None and ":" in vs.name:
        return f"reads {vs.name}, a recording rule's name, which obsctl's catalog cannot hold"
    if kind is None:
        return f"the metric {vs.name} has no catalog entry"
    have = {(m.name, m.value) for m in vs.matchers.matchers if str(m.op).endswith("Equal")
            and not str(m.op).endswith("NotEqual")}
    if not set(ctx.strip.items()) <= have:
        return "a selector without the source's common matchers"
    if not (in_agg or window):
        return "a series outside an aggregation (obsctl aggregates it)"
    return None


def _call(node: object, ctx: Context, in_agg: bool) -> str | None:
    name = node.func.name
    args = node.args
    if name in RANGE_FUNCS:
        if len(args) != 1 or not isinstance(args[0], pp.MatrixSelector):
            return f"{name}() of an expression"
        vs = args[0].vector_selector
        kind = ctx.kinds.get(vs.name or "")
        if name == "delta" and kind != "gauge":
            return "delta() of a counter (obsctl reads it as increase())"
        if name in COUNTER_FUNCS and kind not in ("counter", "part"):
            return f"{name}() of a series obsctl's catalog holds as a {kind or 'recording rule'}"
        if not in_agg:
            return f"{name}() outside an aggregation (obsctl aggregates it)"
        return _selector(vs, ctx, in_agg, window=True)
    if name in SAME_SHAPE_FUNCS:
        lo, hi = SAME_SHAPE_FUNCS[name]
        if not lo <= len(args) <= hi:
            return f"{name}() with {len(args)} arguments"
        for a in args:
            if (why := faithful(a, ctx, in_agg)) is not None:
                return why
        return None
    if name in ("absent", "histogram_quantile"):
        for a in args:
            if (why := faithful(a, ctx, True)) is not None:
                return why
        if name == "histogram_quantile" and not any(
                isinstance(n, pp.VectorSelector) and ctx.kinds.get(n.name or "") == "part"
                and (n.name or "").endswith("_bucket") for n in walk(args[1])):
            return "histogram_quantile() of something other than a histogram's buckets"
        return None
    return f"the function {name}()"


# -- writing obsctl's language ----------------------------------------------------------------------------------


def number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


_DURATION = re.compile(r"(?<![\w.])(?:[0-9]+(?:ms|[smhdwy]))+(?![\w.])")


def spellings(text: str) -> dict[int, str]:
    """How the source writes each duration it holds, so a translation keeps `24h` rather than `1d`."""
    out: dict[int, str] = {}
    for token in _DURATION.findall(text):
        try:
            out.setdefault(_ms(pp.parse_duration(token)), token)
        except (ValueError, TypeError):
            continue
    return out


def duration(td: object, ctx: Context | None = None) -> str:
    if ctx is not None and (spelt := ctx.spelling.get(_ms(td))):
        return spelt
    return pp.display_duration(td)


def to_obsctl(node: object, ctx: Context) -> str:
    """obsctl's spelling of an expression `faithful` accepted: PromQL's, with the source's common matchers left to
    `sources.metrics.selector` and kept recording rules by their derived names. Binary operands are parenthesised
    (obsctl reads parentheses as grouping only), so precedence never depends on the two grammars agreeing."""
    if isinstance(node, pp.ParenExpr):
        return to_obsctl(node.expr, ctx)
    if isinstance(node, pp.NumberLiteral):
        return number(float(node.val))
    if isinstance(node, pp.UnaryExpr):
        return f"-({to_obsctl(node.expr, ctx)})"
    if isinstance(node, pp.VectorSelector):
        return _sel_text(node, ctx)
    if isinstance(node, pp.MatrixSelector):
        vs = node.vector_selector
        off = f" offset {duration(vs.offset, ctx)}" if vs.offset else ""
        return f"{_sel_text(vs, ctx, offset=False)}[{duration(node.range, ctx)}]{off}"
    if isinstance(node, pp.Call):
        return f"{node.func.name}({', '.join(to_obsctl(a, ctx) for a in node.args)})"
    if isinstance(node, pp.AggregateExpr):
        mod = node.modifier
        group = ""
        if mod is not None:
            kw = "without" if mod.type == pp.AggModifierType.Without else "by"
            group = f" {kw} ({', '.join(mod.labels)})"
        param = f"{to_obsctl(node.param, ctx)}, " if node.param is not None else ""
        return f"{node.op}{group} ({param}{to_obsctl(node.expr, ctx)})"
    if isinstance(node, pp.BinaryExpr):
        def side(n: object) -> str:
            text = to_obsctl(n, ctx)
            inner = n.expr if isinstance(n, pp.ParenExpr) else n
            return f"({text})" if isinstance(inner, pp.BinaryExpr) else text
        return f"{side(node.lhs)} {node.op} {side(node.rhs)}"
    raise PromQLError(f"cannot write {type(node).__name__} in obsctl's language")  # pragma: no cover


def _sel_text(vs: object, ctx: Context, offset: bool = True) -> str:
    name = ctx.derived.get(vs.name, vs.name)
    strip = set(ctx.strip.items())
    ms = []
    for m in vs.matchers.matchers:
        op = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}[str(m.op).rsplit(".", 1)[-1].split("(")[0]]
        if op == "=" and (m.name, m.value) in strip:
            continue
        ms.append(f"{m.name}{op}{json.dumps(m.value, ensure_ascii=False)}")
    text = name + (f"{{{', '.join(ms)}}}" if ms else "")
    if offset and vs.offset:
        text += f" offset {duration(vs.offset, ctx)}"
    return text
