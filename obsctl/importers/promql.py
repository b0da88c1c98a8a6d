"""Reading source PromQL for `obsctl import`: a normal form to compare expressions by, what a rule tells about the
metrics it reads (the catalog), and the one translation into obsctl's expression language (`Printer`), which the
kube-prometheus corpus tests use too.

`faithful()` is the one place that decides whether obsctl's language says exactly what a PromQL expression says.
The language reads PromQL as PromQL does (docs/targets.md), so what stays verbatim as `overrides: {promql: ...}`
is what it cannot spell or the spec cannot hold (recording rules read by their colon names, say). The importer
builds every translated rule and compares it with its source all the same.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import promql_parser as pp

# What rate()/irate()/increase() read is a counter (the catalog the rules imply).
COUNTER_FUNCS = {"rate", "irate", "increase"}
BINARY_OPS = {"or", "and", "unless", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "^", "atan2"}
_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class PromQLError(ValueError):
    """A source expression promql-parser cannot read."""


# promql-parser (Rust) recurses per operator and per parenthesis: 5,000 of either crashed the process, 2,000 took
# 600 MB; the walks here recurse in Python too. kube-prometheus's largest rule has 1,486 characters, 29
# parentheses and 17 operators.
MAX_EXPR_CHARS = 16 * 1024
MAX_EXPR_OPERATORS = 200
_OPERATORS = re.compile(
    r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|[-+*/%^(]|[=!<>]=?|\b(?:and|or|unless)\b', re.I
)


def parse(text: str) -> object:
    if len(text) > MAX_EXPR_CHARS:
        raise PromQLError(
            f"the expression has {len(text):,} characters (obsctl imports at most {MAX_EXPR_CHARS:,})"
        )
    if sum(1 for m in _OPERATORS.finditer(text) if m.group()[0] not in "\"'`") > MAX_EXPR_OPERATORS:
        raise PromQLError(
            f"the expression has over {MAX_EXPR_OPERATORS} operators and parentheses (obsctl imports at most that)"
        )
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
    ors = sorted(
        str(sorted((m.name, str(m.op), m.value) for m in group)) for group in (vs.matchers.or_matchers or [])
    )
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
    raise PromQLError(
        f"unknown PromQL node {type(node).__name__}"
    )  # pragma: no cover - promql-parser's own set


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
            u.bucket |= n.name.endswith("_bucket") and (
                with_le or any(m.name == "le" for m in n.matchers.matchers)
            )
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
    """What `faithful` and the printer need to know besides the expression."""

    kinds: dict[str, str]  # metric (or histogram part) name -> counter | gauge | part
    records: set[str] = field(
        default_factory=set
    )  # recording rules of the source (obsctl cannot keep their names)
    strip: dict[str, str] = field(default_factory=dict)  # the source selector obsctl adds back to every query
    derived: dict[str, str] = field(
        default_factory=dict
    )  # record -> derived name, when the record keeps its name
    spelling: dict[int, str] = field(
        default_factory=dict
    )  # milliseconds -> the source's spelling (24h, not 1d)


def faithful(node: object, ctx: Context) -> str | None:
    """None when obsctl's language says exactly what `node` says, else why not (for the report).

    The language reads PromQL as PromQL does (no implicit sum, vector matching, `bool`, subqueries, `@`), so what
    is left is what it cannot spell or the spec cannot hold: names outside the catalog, selectors without a metric
    name, functions and aggregations it does not have, a counter function of a gauge. The importer still builds
    every translated rule and compares it with its source; this only keeps the first try close."""
    from ..semantics.expressions import AGGREGATIONS as LANG_AGGREGATIONS
    from ..semantics.expressions import FUNCTIONS

    for n in walk(node):
        if isinstance(n, pp.NumberLiteral) and not math.isfinite(float(n.val)):
            return "a non-finite number"
        if isinstance(n, pp.VectorSelector) and (why := _selector(n, ctx, window=False)):
            return why
        if isinstance(n, pp.MatrixSelector) and (why := _selector(n.vector_selector, ctx, window=True)):
            return why
        if (
            isinstance(n, pp.SubqueryExpr | pp.VectorSelector)
            and n.offset is not None
            and n.offset.total_seconds() <= 0
        ):
            return "a negative offset"
        if isinstance(n, pp.AggregateExpr) and str(n.op) not in LANG_AGGREGATIONS:
            return f"the aggregation {n.op}()"
        if isinstance(n, pp.BinaryExpr) and str(n.op) not in BINARY_OPS:
            return f"the operator {n.op}"
        if isinstance(n, pp.Call) and (why := _call(n, ctx, FUNCTIONS)):
            return why
    return None


def _selector(vs: object, ctx: Context, window: bool) -> str | None:
    if not vs.name:
        return "a selector without a metric name"
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
    have = {
        (m.name, m.value)
        for m in vs.matchers.matchers
        if str(m.op).endswith("Equal") and not str(m.op).endswith("NotEqual")
    }
    if not set(ctx.strip.items()) <= have:
        return "a selector without the source's common matchers"
    return None


def _call(node: object, ctx: Context, functions: dict[str, tuple[int, int]]) -> str | None:
    name = node.func.name
    if name not in functions:
        return f"the function {name}()"
    args = node.args
    ranged = [a for a in args if isinstance(a, pp.MatrixSelector)]
    if name in COUNTER_FUNCS | {"delta"} and ranged:
        kind = ctx.kinds.get(ranged[0].vector_selector.name or "")
        if name == "delta" and kind != "gauge":
            return "delta() of a counter (obsctl reads it as increase())"
        if (
            name in COUNTER_FUNCS
            and kind not in ("counter", "part")
            and ranged[0].vector_selector.name not in ctx.derived
        ):
            return f"{name}() of a series obsctl's catalog holds as a {kind or 'recording rule'}"
    if name == "histogram_quantile" and not any(
        isinstance(n, pp.VectorSelector)
        and ctx.kinds.get(n.name or "") == "part"
        and (n.name or "").endswith("_bucket")
        for n in walk(args[1])
    ):
        return "histogram_quantile() of something other than a histogram's buckets"
    return None


# -- writing obsctl's language ----------------------------------------------------------------------------------
# One printer for PromQL trees: obsctl's spelling of an expression (with a Context: the source's common matchers
# left to `sources.metrics.selector`, kept records by their derived names, durations as the source spells them),
# and, without one, a canonical PromQL text with no redundant parentheses. The language takes PromQL's
# precedence, so operands are parenthesised only where PromQL needs it.

_PREC = {
    "or": 1,
    "and": 2,
    "unless": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}
_KIND_FUNCS = COUNTER_FUNCS | {"resets"}  # what they read is a counter, for `Translation.catalog`
_MATCH_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


class Untranslatable(PromQLError):
    """A construct obsctl's language has no spelling for."""


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


@dataclass
class Translation:
    """obsctl's text for an expression, and the kinds of the metrics it reads (by the functions reading them)."""

    text: str
    counters: set[str] = field(default_factory=set)
    gauges: set[str] = field(default_factory=set)
    histograms: set[str] = field(default_factory=set)

    def catalog(self) -> dict[str, dict]:
        """A `metrics:` for the expression alone: a histogram for each `_bucket` series, counters where rate()
        reads them, else gauges (`catalog()` infers one from a whole rule set, with labels)."""
        out: dict[str, dict] = {h: {"kind": "histogram"} for h in self.histograms}
        parts = {f"{h}_{p}" for h in self.histograms for p in ("bucket", "sum", "count")}
        for name in sorted(self.gauges - parts):
            out[name] = {"kind": "gauge"}
        for name in sorted(self.counters - parts):
            out[name] = {"kind": "counter"}
        return out


def _strip_parens(e: object) -> object:
    while isinstance(e, pp.ParenExpr):
        e = e.expr
    return e


def _op(e: object) -> str:
    return str(e.op).lower()


class Printer:
    """Text of a promql-parser tree; `ctx` makes it obsctl's spelling for a spec, `t` records metric kinds."""

    def __init__(self, ctx: Context | None = None, t: Translation | None = None) -> None:
        self.ctx = ctx
        self.t = t

    def dur(self, td: object) -> str:
        return duration(td, self.ctx)

    def expr(self, e: object, parent_func: str | None = None) -> str:
        if isinstance(e, pp.ParenExpr):
            return self.expr(e.expr, parent_func)
        if isinstance(e, pp.NumberLiteral):
            return number(float(e.val))
        if isinstance(e, pp.StringLiteral):
            return json.dumps(e.val, ensure_ascii=False)
        if isinstance(e, pp.UnaryExpr):
            inner = self.expr(e.expr)
            return f"-({inner})" if isinstance(_strip_parens(e.expr), pp.BinaryExpr) else f"-{inner}"
        if isinstance(e, pp.VectorSelector):
            return self.selector(e, None, parent_func)
        if isinstance(e, pp.MatrixSelector):
            return self.selector(e.vector_selector, e.range, parent_func)
        if isinstance(e, pp.SubqueryExpr):
            inner = self.expr(e.expr)
            if isinstance(_strip_parens(e.expr), pp.BinaryExpr | pp.UnaryExpr):
                inner = f"({inner})"
            step = self.dur(e.step) if e.step else ""
            out = f"{inner}[{self.dur(e.range)}:{step}]"
            if e.offset:
                out += f" offset {self.dur(e.offset)}"
            return out + _at(e.at)
        if isinstance(e, pp.Call):
            name = e.func.name
            return f"{name}({', '.join(self.expr(a, name) for a in e.args)})"
        if isinstance(e, pp.AggregateExpr):
            args = ([self.expr(e.param)] if e.param is not None else []) + [self.expr(e.expr)]
            mod = e.modifier
            if mod is None:
                return f"{_op(e)}({', '.join(args)})"
            kw = "without" if str(mod.type).endswith("Without") else "by"
            return f"{_op(e)} {kw} ({', '.join(mod.labels)}) ({', '.join(args)})"
        if isinstance(e, pp.BinaryExpr):
            op = _op(e)
            prec = _PREC[op]
            right_assoc = op == "^"
            left = self.side(e.lhs, prec + (1 if right_assoc else 0))
            right = self.side(e.rhs, prec + (0 if right_assoc else 1))
            return f"{left} {op}{_modifiers(e)} {right}"
        raise Untranslatable(f"cannot write {type(e).__name__} in obsctl's language")  # pragma: no cover

    def side(self, e: object, min_prec: int) -> str:
        text = self.expr(e)
        inner = _strip_parens(e)
        if isinstance(inner, pp.BinaryExpr) and _PREC[_op(inner)] < min_prec:
            return f"({text})"
        if isinstance(inner, pp.UnaryExpr) and min_prec > _PREC["^"]:
            return f"({text})"
        return text

    def selector(self, vs: object, rng: object, parent_func: str | None) -> str:
        if not vs.name:
            raise Untranslatable("a selector without a metric name ({__name__=~...})")
        if vs.matchers.or_matchers:
            raise Untranslatable("a selector with `or` between matcher sets")
        if self.t is not None:
            if vs.name.endswith("_bucket"):
                self.t.histograms.add(vs.name.removesuffix("_bucket"))
            (self.t.counters if parent_func in _KIND_FUNCS else self.t.gauges).add(vs.name)
        ctx = self.ctx
        strip = set(ctx.strip.items()) if ctx is not None else set()
        ms = []
        for m in vs.matchers.matchers:
            op = _MATCH_OPS[str(m.op).rsplit(".", 1)[-1].split("(")[0]]
            if m.name == "__name__" or op == "=" and (m.name, m.value) in strip:
                continue
            ms.append(f"{m.name}{op}{json.dumps(m.value, ensure_ascii=False)}")
        name = ctx.derived.get(vs.name, vs.name) if ctx is not None else vs.name
        out = name + (f"{{{', '.join(ms)}}}" if ms else "")
        if rng is not None:
            out += f"[{self.dur(rng)}]"
        if vs.offset:
            out += f" offset {self.dur(vs.offset)}"
        return out + _at(vs.at)


def _at(at: object) -> str:
    if at is None:
        return ""
    kind = str(at.type).rsplit(".", 1)[-1]
    if kind == "Start":
        return " @ start()"
    if kind == "End":
        return " @ end()"
    return f" @ {number(at.at.timestamp())}"


def _modifiers(e: object) -> str:
    mod = e.modifier
    if mod is None:
        return ""
    out = " bool" if mod.return_bool else ""
    m = mod.matching
    if m is not None:
        out += f" {'on' if str(m.type).endswith('Include') else 'ignoring'} ({', '.join(m.labels)})"
    card = str(mod.card).rsplit(".", 1)[-1]
    if card in ("ManyToOne", "OneToMany"):
        if m is None:
            out += " ignoring ()"
        out += f" group_{'left' if card == 'ManyToOne' else 'right'} ({', '.join(mod.group_labels or [])})"
    return out


def to_obsctl(node: object, ctx: Context) -> str:
    """obsctl's spelling of an expression `faithful` accepted."""
    return Printer(ctx).expr(node)


def translate(promql: str) -> Translation:
    """obsctl's text for a PromQL expression on its own, and the kinds of the metrics it reads (no common
    selector, no kept records): what the kube-prometheus corpus tests compile back."""
    t = Translation("")
    t.text = Printer(t=t).expr(parse(promql))
    return t
