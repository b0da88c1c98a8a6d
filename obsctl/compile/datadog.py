"""Compile the neutral expression tree to Datadog metric queries, formulas and log searches.

Meaning, not spelling. The choices, and why:

Metric names
    `Metric.datadog_name`, then `targets.datadog.metric_names`, else the mapped name: with a `counter_suffix`
    (".count" for the Agent's OpenMetrics check) a counter loses `_total` and gains the suffix; `dots` turns
    `_` into `.`; `namespace` is joined with a dot. Histogram parts are `<histogram>.bucket|sum|count`.

Tags
    The metric's own `selector`, else `targets.datadog.selector`, else `sources.metrics.selector`; plus the
    reference's matchers. `=` is `key:v`, `!=` is `!key:v`. A regex maps only when Datadog says exactly the same: literals and alternations of
    literals, each optionally with a leading and/or trailing `.*` (Datadog's prefix/suffix/substring `*`
    wildcards), e.g. `code=~"5.*"` -> `code:5*`, `route=~"/a|/b"` -> `route IN (/a, /b)`. Anything else
    (`code=~"5.."`: `.` is exactly one character, Datadog's `*` is any number) raises CompileError naming the
    matcher: widening it silently would change which series are counted. `targets.datadog.widen_regex: true`
    opts in to the wider wildcard (`5..` -> `5*`, `[45]..` -> `4*` or `5*`), and the output says so.

Log events
    Datadog makes `message`/`msg`/`log` of a JSON log (the whole line of a text log) its official message,
    searched as full text where a phrase also matches longer messages; an exact event is its phrase minus the
    phrases of the spec's other events that contain it. Messages in other attributes compare whole
    (`@event:"..."`). Regex events have no Datadog search.

Rolling form (`formula`: alerts with `for`, guards or gauges; dashboards)
    Every point is the expression's value at that time, as in PromQL: counters are queried `.as_rate()`;
    `rate(x[5m])` is `moving_rollup(<x>.as_rate(), 300, 'avg')` and `delta(x[5m])` that times 300 (a count
    over the trailing window). Arithmetic then happens point by point (Datadog's "classic" evaluation path:
    `.as_count()` in a monitor with arithmetic would switch to the path that aggregates each query over the
    whole window first, which breaks per-point meaning). `max(x, 1)` is `clamp_min(x, 1)`, exact here because
    functions apply per point after aggregation; a volume guard folds in as `cutoff_min(x, n)`, see `fold`.

Count form (`count_query`: alerts without `for` or guard over counters only)
    `sum(last_<w>): <a>.as_count() / <b>.as_count()` - Datadog sums each query over the window, then divides:
    exactly `delta(a) / delta(b)` over `w`. `rate(x)` is `<x>.as_count() / <seconds>`.

Not expressible (CompileError naming the construct): quantiles of histograms (Datadog distribution
percentiles are computed differently), topk/bottomk, absent, deriv, changes, sum_over_time, ceil/floor/round,
`^` and `%`, and/or/unless, aggregations over arithmetic, nested aggregations, bare counters.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from ..durations import parse_duration
from ..expr import ast
from ..semantics import RefInfo
from .promql import CompileError

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..model import Spec

T = TypeVar("T")
_SENTINEL = re.compile("\x00(\\d+)\x00")
# Datadog metric names: a letter first, then ASCII letters, digits, '_' and '.', at most 200 characters.
METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,199}")
METRIC_NAME_RULE = (
    "Datadog metric names start with a letter and hold only ASCII letters, digits, '_' and '.' (at most 200)"
)
# Tag values Datadog keeps as they are (it lowercases tags and turns other characters into '_').
_TAG_VALUE = re.compile(r"[A-Za-z0-9_.\-/:]+")  # fullmatch: `$` lets "x\n" through
_LOG_TERM = re.compile(r"[A-Za-z0-9_.\-/]+")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_REGEX_META = set(".^$*+?()[]{}|\\")
_PREC_ADD, _PREC_MUL, _PREC_ATOM = 1, 2, 3
_OPS = {"+": _PREC_ADD, "-": _PREC_ADD, "*": _PREC_MUL, "/": _PREC_MUL}
_OVER_TIME = {"avg_over_time": "avg", "max_over_time": "max", "min_over_time": "min"}
_SPACE_AGGS = ("sum", "avg", "min", "max")
# Attributes Datadog's JSON preprocessing makes the official message (searched as full text, not as @attribute).
MESSAGE_ATTRIBUTES = ("message", "msg", "log")
_LEAF_FUNCS = {"rate", "irate", "increase", "delta", *_OVER_TIME}


def num(value: float) -> str:
    """A number as Datadog parses it: no exponent, no trailing zeros (1, 0.05, 0.0000000000001), exactly the value
    (the shortest decimal that reads back as the same float), so a query's threshold equals the monitor's."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # inf/nan: no Datadog number; the output check names it rather than crashing here
    if value == 0:
        return "0"  # also -0.0
    text = format(Decimal(value if isinstance(value, int) else repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def window_seconds(text: str) -> int:
    return int(parse_duration(text))


def phrase(text: str) -> str:
    """A double-quoted Datadog search phrase (log search syntax): backslash escapes '\\' and '"'."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def logs_query(search: str, window: str, index: str = "*") -> str:
    """`logs("<search>").index(..).rollup("count").last(..)`: the search is itself a quoted string, so its quotes
    and backslashes are escaped once more (`@msg:"a b"` -> `logs("@msg:\\"a b\\"")`)."""
    inner = search.replace("\\", "\\\\").replace('"', '\\"')
    idx = index.replace("\\", "\\\\").replace('"', '\\"')
    return f'logs("{inner}").index("{idx}").rollup("count").last("{window}")'


# One metric query (`p95:x.y{a:b} by {c}.as_count()`): a formula can name it; anything else stays raw text.
_ONE_QUERY = re.compile(r"[a-z0-9]+:[\w.]+\{[^{}]*\}( by \{[\w.,\- ]*\})?(\.\w+\([^()]*\))*")


def raw_leaf(text: str) -> Leaf:
    """An override's Datadog text as a leaf: a metric query when it is one, else raw (inlined as written)."""
    text = text.strip()
    return Leaf("metric" if _ONE_QUERY.fullmatch(text) else "raw", text)


@dataclass(frozen=True)
class Leaf:
    """One query a formula combines: a metric query, a log search (counted), or raw Datadog text (an override)."""

    kind: str  # metric | logs | raw
    query: str
    interval: int = 0  # logs: bucket size in seconds for timeseries (0: one count over the widget's time)


@dataclass
class Formula:
    """A compiled expression: text whose leaves are sentinels, so it renders inline (monitors) or as a
    formula over named queries (dashboards)."""

    text: str
    leaves: list[Leaf]
    notes: list[str] = field(default_factory=list)
    event_windows: set[int] = field(default_factory=set)  # windows of event counts compiled as scalars

    def inline(self) -> str:
        """The whole expression as one Datadog query (monitors). Log searches cannot be inlined."""

        def sub(m: re.Match) -> str:
            leaf = self.leaves[int(m.group(1))]
            if leaf.kind == "logs":
                raise CompileError("log event counts inside a metric monitor query")
            return f"({leaf.query})" if leaf.kind == "raw" and whole is None else leaf.query

        whole = _SENTINEL.fullmatch(self.text)  # the formula is one leaf: no brackets needed
        return _SENTINEL.sub(sub, self.text)

    def named(self, names: dict[Leaf, str]) -> tuple[str, list[tuple[str, Leaf]]]:
        """The formula over named queries (dashboards). `names` maps leaves to names across the formulas of one
        request; leaves not in it get the next name, query1, query2, ..., and are returned as (name, leaf)."""
        new: list[tuple[str, Leaf]] = []

        def sub(m: re.Match) -> str:
            leaf = self.leaves[int(m.group(1))]
            if leaf not in names:
                names[leaf] = f"query{len(names) + 1}"
                new.append((names[leaf], leaf))
            return names[leaf]

        return _SENTINEL.sub(sub, self.text), new

    @property
    def has_raw(self) -> bool:
        return any(leaf.kind == "raw" for leaf in self.leaves)


@dataclass(frozen=True)
class Fold:
    """A volume guard `lhs >= n` (or `<=`) folded into the condition where `lhs` occurs in it."""

    lhs: str  # the guard's left side, compiled in the same session
    op: str  # >= | <=
    value: float


class Datadog:
    """Compiles the expressions of one spec. `variables` maps dashboard template variables to their tag keys."""

    def __init__(self, spec: Spec, refs: dict[str, RefInfo], exprs: dict[tuple, ast.Node]) -> None:
        self.spec = spec
        self.refs = refs
        self.exprs = exprs
        self.dd = spec.targets.datadog
        self.pending: list[str] = []  # notes on widened regex matchers, until take_notes()
        # What many alerts and panels repeat, made once per distinct input: compiled derived metrics (rolling and
        # count forms), tag filters and metric names (None: off, for the test that compares with compiling each
        # time). Every entry is a function of its key and this spec; the notes it made are replayed on a hit.
        self.memo: dict | None = {}

    # -- names and filters ----------------------------------------------------------------------------------
    def metric_name(self, name: str) -> str:
        """The Datadog name of a metric reference; CompileError when it is no Datadog metric name (a spec
        metric named `_x` without a namespace, say), since it is pasted into queries as it is."""
        memo = self.memo if self.memo is not None else {}
        out = memo.get(("name", name))
        if out is None:
            out = self._metric_name(name)
            if not METRIC_NAME.fullmatch(out):
                raise CompileError(f"the metric name '{out}' ({METRIC_NAME_RULE})")
            memo["name", name] = out
        return out

    def _metric_name(self, name: str) -> str:
        info = self.refs.get(name)
        if info is None:
            raise CompileError(f"unknown name '{name}'")
        if name in self.dd.metric_names:
            return self.dd.metric_names[name]
        cat = self.spec.metrics.get(info.target)
        if info.series:
            base = (
                self.dd.metric_names.get(info.target)
                or (cat.datadog_name if cat else None)
                or self._mapped(info.target, counter=False)
            )
            return f"{base}.{info.series}"
        if cat is not None and cat.datadog_name:
            return cat.datadog_name
        return self._mapped(name, counter=cat is not None and cat.kind == "counter")

    def _mapped(self, name: str, counter: bool) -> str:
        suffix = self.dd.counter_suffix if counter else ""
        if suffix:
            name = name.removesuffix("_total")
        if self.dd.dots:
            name = name.replace("_", ".")
        if self.dd.namespace:
            name = f"{self.dd.namespace}.{name}"
        if suffix:
            name += suffix if suffix.startswith(".") else f".{suffix}"
        return name

    def selector(self, metric: str | None = None) -> dict[str, str]:
        """The metric's own selector, else targets.datadog.selector, else the source's."""
        own = self.spec.metrics[metric].selector if metric in self.spec.metrics else None
        if own is not None:
            return own
        return self.dd.selector if self.dd.selector is not None else self.spec.sources.metrics.selector

    def tag_filter(
        self, matchers: list[ast.Matcher], variables: dict[str, str] | None = None, metric: str | None = None
    ) -> str:
        """`{k:v,!k2:v2}`, `{a:b AND c IN (x, y)}` when an alternation needs Datadog's boolean syntax, `{*}` if empty."""
        variables = variables or {}
        if self.memo is None:
            return self._tag_filter(matchers, variables, metric)
        key = ("filter", metric, *((m.label, m.op, m.value) for m in matchers), *sorted(variables.items()))
        hit = self.memo.get(key)
        if hit is None:
            hit = self.memo[key] = self.noted(lambda: self._tag_filter(matchers, variables, metric))
        self._replay(hit[1])
        return hit[0]

    def _tag_filter(self, matchers: list[ast.Matcher], variables: dict[str, str], metric: str | None) -> str:
        terms: list[tuple[str, list[str], bool]] = []  # (key, patterns, negated)
        for k, v in sorted(self.selector(metric).items()):
            terms.append((k, [_tag_value(k, "=", v)], False))
        for m in matchers:
            terms.append(self._matcher(m, variables))
        if not terms:
            return "{*}"
        if all(len(p) == 1 for _, p, _ in terms):
            return "{" + ",".join(f"{'!' if neg else ''}{_term(k, p[0])}" for k, p, neg in terms) + "}"
        parts = []
        for k, pats, neg in terms:
            if len(pats) == 1:
                text = _term(k, pats[0])
            elif all("*" not in p for p in pats):
                parts.append(f"{k} {'NOT IN' if neg else 'IN'} ({', '.join(pats)})")
                continue
            else:
                text = "(" + " OR ".join(_term(k, p) for p in pats) + ")"
            parts.append(f"NOT {text}" if neg else text)
        return "{" + " AND ".join(parts) + "}"

    def _matcher(self, m: ast.Matcher, variables: dict[str, str]) -> tuple[str, list[str], bool]:
        var = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", m.value)
        if var and var.group(1) in variables:
            if variables[var.group(1)] != m.label or m.op not in ("=", "=~"):
                raise CompileError(
                    f'the matcher {m.label}{m.op}"{m.value}": Datadog template variable '
                    f"${var.group(1)} filters the tag '{variables[var.group(1)]}' with '='"
                )
            return ("", [f"${var.group(1)}"], False)
        neg = m.op in ("!=", "!~")
        if m.op in ("=", "!="):
            return (m.label, [_tag_value(m.label, m.op, m.value)], neg)
        try:
            return (m.label, _regex_patterns(m), neg)
        except CompileError:
            if not self.dd.widen_regex:
                raise
            pats = _widened_patterns(m)
            shown = " or ".join(f"{m.label}:{p}" for p in pats)
            note = (
                f'{m.label}{m.op}"{m.value}" is widened to {shown} (targets.datadog.widen_regex: Datadog tag '
                "filters have only * wildcards)."
            )
            if note not in self.pending:
                self.pending.append(note)
            return (m.label, pats, neg)

    # -- log events ------------------------------------------------------------------------------------------
    def log_search(self, event: str) -> str:
        """Datadog log search selecting this event's lines: stream labels as tags/attributes, then the message.

        Datadog makes `message`, `msg` and `log` of JSON logs (and the whole line of text logs) the log's official
        message, searchable only as full text, where a phrase also matches longer messages: the search is the
        phrase minus the phrases of the spec's other events that contain it (seed 000: "refresh cycle completed"
        -"refresh cycle completed with errors"). A message in any other attribute is compared whole:
        `@field:"message"`."""
        ev = self.spec.events[event]
        logs = self.spec.sources.logs
        fmt = logs.format if logs else "text"
        terms = [f"{k}:{v if _LOG_TERM.fullmatch(v) else phrase(v)}" for k, v in sorted(ev.stream.items())]
        if ev.match == "regex":
            raise CompileError(
                f"the regex match of event '{event}' (Datadog log search has no regular expressions)"
            )
        fld = "message" if fmt == "text" else ev.field or (logs.message_field if logs else "msg")
        if fld in MESSAGE_ATTRIBUTES:
            terms.append(phrase(ev.message))
            if ev.match == "exact":
                terms += [f"-{phrase(m)}" for m in self.longer_messages(event)]
        elif ev.match == "contains":
            raise CompileError(
                f"the 'contains' match of event '{event}' on the attribute '{fld}' (Datadog matches "
                "attributes whole; full-text phrases search the official message)"
            )
        else:
            if not _FIELD.fullmatch(fld):
                raise CompileError(
                    f"the message field '{fld}' of event '{event}' (not a Datadog attribute path)"
                )
            terms.append(f"@{fld}:{phrase(ev.message)}")
        return " ".join(terms)

    def longer_messages(self, event: str) -> list[str]:
        """Messages of the spec's other events in the same stream that contain this event's message."""
        ev = self.spec.events[event]
        return sorted(
            {
                o.message
                for name, o in self.spec.events.items()
                if name != event
                and o.stream == ev.stream
                and o.match != "regex"
                and ev.message in o.message
                and o.message != ev.message
            }
        )

    # -- the rolling form ------------------------------------------------------------------------------------
    def formula(
        self,
        node: ast.Node,
        window: str | None = None,
        *,
        guard: tuple[ast.Node, str, float] | None = None,
        events: bool = False,
        scalar: bool = False,
        variables: dict[str, str] | None = None,
    ) -> Formula:
        """Compile `node` point by point. `guard` = (lhs, op, value) folds a volume guard in; `events` allows
        log event counts (dashboards); `scalar` compiles event counts as one count over the widget's time."""
        s = _Session(self, events, scalar, variables or {})
        self.take_notes()
        w = window or self.spec.defaults.window
        if guard is not None:
            lhs, op, value = guard
            if op not in (">=", "<="):
                raise CompileError(
                    f"the volume guard's '{op}' (Datadog's cutoff_min/cutoff_max keep values equal to "
                    "the limit: write >= or <=)"
                )
            s.fold = Fold(s.expr(lhs, w, False)[0], op, value)
        text, _ = s.expr(node, w, guard is not None)
        s.notes += self.take_notes()
        if guard is not None and not s.folded:
            raise CompileError(
                "the volume guard: its left side does not occur in the condition (through arithmetic "
                "only), and a Datadog query alert has no AND of two queries"
            )
        return Formula(text, s.leaves, s.notes, s.event_windows)

    def noted(self, make: Callable[[], T]) -> tuple[T, list[str]]:
        """make(), and the notes it pended kept apart (for the memo to replay on each hit)."""
        pending, self.pending = self.pending, []
        try:
            return make(), self.pending
        finally:
            self.pending = pending

    def _replay(self, notes: list[str]) -> None:
        """Pend the notes a memoized compilation made, as compiling it again would (each note once)."""
        self.pending += [n for n in notes if n not in self.pending]

    def take_notes(self) -> list[str]:
        """Notes on what the last compilation changed (widened regex matchers), once."""
        notes, self.pending = self.pending, []
        return notes

    # -- the count form --------------------------------------------------------------------------------------
    def count_query(self, node: ast.Node, window: str | None = None) -> tuple[str, int] | None:
        """(query, window seconds) for `sum(last_<w>):<query>`, or None when the expression is not arithmetic over
        counter deltas/rates sharing one window."""
        windows: set[int] = set()
        text = self._count(node, window or self.spec.defaults.window, windows)
        if text is None or len(windows) != 1:
            return None
        return text[0], windows.pop()

    def _count(self, node: ast.Node, window: str, windows: set[int]) -> tuple[str, int] | None:
        if isinstance(node, ast.Number):
            return num(node.value), _PREC_ATOM
        if isinstance(node, ast.Var):
            value = self.spec.vars.get(node.name)
            return (num(float(value)), _PREC_ATOM) if isinstance(value, int | float) else None
        if isinstance(node, ast.Neg):
            inner = self._count(node.operand, window, windows)
            return None if inner is None else (f"-{_paren(inner, _PREC_ATOM)}", _PREC_ATOM)
        if isinstance(node, ast.BinOp):
            if node.op not in _OPS:
                return None
            left = self._count(node.left, window, windows)
            right = self._count(node.right, window, windows)
            if left is None or right is None:
                return None
            prec = _OPS[node.op]
            return f"{_paren(left, prec)} {node.op} {_paren(right, prec + 1)}", prec
        if isinstance(node, ast.Ref):
            info = self.refs.get(node.name)
            if info is None or info.kind != "derived" or node.offset:
                return None
            d = self.spec.derived[node.name]
            if d.overrides.datadog:
                return None
            inner = self.exprs.get(("derived", node.name, "expr"))
            if inner is None:
                return None
            window = d.window or self.spec.defaults.window
            if self.memo is None:
                return self._count(inner, window, windows)
            # Alerts over one derived metric differ in threshold only: its count form is compiled once.
            hit = self.memo.get(("count", node.name))
            if hit is None:
                own: set[int] = set()
                text, notes = self.noted(lambda: self._count(inner, window, own))
                hit = self.memo["count", node.name] = (text, own, notes)
            text, own, notes = hit
            windows |= own
            self._replay(notes)
            return text
        if isinstance(node, ast.Call):
            space = None
            if node.func == "sum" and len(node.args) == 1 and not node.without:
                space, node = ("sum", node.by), node.args[0]
                if not isinstance(node, ast.Call):
                    return None
            if node.func not in ("delta", "increase", "rate") or not isinstance(node.args[0], ast.Ref):
                return None
            ref = node.args[0]
            info = self.refs.get(ref.name)
            if info is None or info.kind != "counter" or ref.offset:
                return None
            secs = window_seconds(_range_window(node, window))
            windows.add(secs)
            leaf = self._metric_query(ref, space, ".as_count()", {})
            if node.func == "rate":
                return f"{leaf} / {secs}", _PREC_MUL
            return leaf, _PREC_ATOM
        return None

    # -- shared ------------------------------------------------------------------------------------------------
    def _metric_query(
        self,
        ref: ast.Ref,
        space: tuple[str, list[str] | None] | None,
        modifier: str,
        variables: dict[str, str],
    ) -> str:
        no_offset(ref)
        info = self.refs[ref.name]
        cat = self.spec.metrics.get(info.target)
        agg, by = space if space else ((cat.aggregate if cat else "sum"), None)
        if by is None and not space:
            by = list(self.spec.defaults.by)
        group = f" by {{{','.join(by)}}}" if by else ""
        tags = self.tag_filter(ref.matchers, variables, info.target)
        return f"{agg}:{self.metric_name(ref.name)}{tags}{group}{modifier}"


class _Session:
    """State of one `formula()` compilation: its leaves (deduplicated) and the fold of a volume guard."""

    def __init__(self, c: Datadog, events: bool, scalar: bool, variables: dict[str, str]) -> None:
        self.c = c
        self.events = events
        self.scalar = scalar
        self.variables = variables
        self.leaves: list[Leaf] = []
        self.notes: list[str] = []
        self.event_windows: set[int] = set()
        self.fold: Fold | None = None
        self.folded = 0

    def leaf(self, leaf: Leaf) -> str:
        if leaf not in self.leaves:
            self.leaves.append(leaf)
        return f"\x00{self.leaves.index(leaf)}\x00"

    # Returns (text, precedence). `arith` is true while the path from the root passes only through arithmetic,
    # where a NaN from cutoff_min makes the whole value absent: only there may the guard fold in.
    def expr(self, node: ast.Node, window: str, arith: bool, space: tuple | None = None) -> tuple[str, int]:
        out = self._expr(node, window, arith, space)
        if self.fold is not None and arith and out[0] == self.fold.lhs:
            fn = "cutoff_min" if self.fold.op == ">=" else "cutoff_max"
            self.folded += 1
            return f"{fn}({_unwrap(out[0])}, {num(self.fold.value)})", _PREC_ATOM
        return out

    def _expr(self, node: ast.Node, window: str, arith: bool, space: tuple | None) -> tuple[str, int]:
        if isinstance(node, ast.Number):
            return num(node.value), _PREC_ATOM
        if isinstance(node, ast.Var):
            value = self.c.spec.vars.get(node.name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise CompileError(f"${node.name} is not a number")
            return num(float(value)), _PREC_ATOM
        if isinstance(node, ast.String | ast.DurationLit):
            raise CompileError(f"a bare {'string' if isinstance(node, ast.String) else 'window'}")
        if isinstance(node, ast.Subquery):
            raise CompileError(
                f"the subquery [{node.range}:{node.step or ''}] (Datadog has no subqueries; roll "
                "the inner query up with a moving_rollup instead)"
            )
        if isinstance(node, ast.Neg):
            inner = self.expr(node.operand, window, arith, space)
            return f"-{_paren(inner, _PREC_ATOM)}", _PREC_ATOM
        if isinstance(node, ast.BinOp):
            if node.op not in _OPS:
                raise CompileError(f"the operator '{node.op}' inside an expression")
            if not _same_groups(node):
                refuse_matching(node)
            prec = _OPS[node.op]
            left = self.expr(node.left, window, arith, space)
            right = self.expr(node.right, window, arith, space)
            return f"{_paren(left, prec)} {node.op} {_paren(right, prec + 1)}", prec
        if isinstance(node, ast.Ref):
            return self._ref(node, arith, space)
        if isinstance(node, ast.Call):
            return self._call(node, window, arith, space)
        raise CompileError(f"{type(node).__name__}")

    def _ref(self, node: ast.Ref, arith: bool, space: tuple | None) -> tuple[str, int]:
        info = self.c.refs.get(node.name)
        if info is None:
            raise CompileError(f"unknown name '{node.name}'")
        no_offset(node)
        if info.kind == "derived":
            if space is not None:
                raise CompileError(
                    f"an aggregation over the derived metric '{node.name}' (Datadog aggregates each "
                    "metric query, not the result of arithmetic)"
                )
            d = self.c.spec.derived[node.name]
            if d.overrides.datadog:
                return self.leaf(raw_leaf(d.overrides.datadog)), _PREC_ATOM
            inner = self.c.exprs.get(("derived", node.name, "expr"))
            if inner is None:
                raise CompileError(f"the derived metric '{node.name}' did not parse")
            window = d.window or self.c.spec.defaults.window
            if self.c.memo is None or self.fold is not None and arith:
                return self.expr(inner, window, arith)  # a volume guard may fold in anywhere inside
            return self.derived(node.name, inner, window)
        if info.kind == "event":
            raise CompileError(f"the log event '{node.name}' outside count(): count({node.name}, 10m)")
        if info.kind == "probe":
            url = self.c.spec.sources.probes[node.name].url
            agg = space[0] if space else "min"
            return self.leaf(Leaf("metric", f"{agg}:network.http.can_connect{{url:{url}}}")), _PREC_ATOM
        if info.kind == "gauge":
            return self.leaf(
                Leaf("metric", self.c._metric_query(node, space, "", self.variables))
            ), _PREC_ATOM
        if info.kind == "counter":
            raise CompileError(
                f"the counter '{node.name}' without rate() or delta() (Datadog stores counters as "
                "counts per interval, not as running totals)"
            )
        raise CompileError(f"the {info.kind} '{node.name}' used directly")

    def derived(self, name: str, inner: ast.Node, window: str) -> tuple[str, int]:
        """A derived metric, compiled once per session kind. Many alerts and panels read one derived metric (with
        other thresholds, severities, `for`), and its text depends only on its own expression and window, the
        session's kind (events, scalar, variables) and a guard folding in, which the caller rules out. It is
        compiled in a session of its own; its leaves are then added to this session in their order, so they
        get the indexes (and the text the sentinels) that compiling it here would have given."""
        memo = self.c.memo
        key = ("rolling", name, self.events, self.scalar, tuple(sorted(self.variables.items())))
        hit = memo.get(key)
        if hit is None:
            sub = _Session(self.c, self.events, self.scalar, self.variables)
            (text, prec), notes = self.c.noted(
                lambda: sub.expr(inner, window, False)
            )  # no fold: `arith` is moot
            hit = memo[key] = (text, prec, sub.leaves, notes, sub.notes, sub.event_windows)
        text, prec, leaves, notes, own_notes, event_windows = hit
        self.c._replay(notes)
        self.notes += own_notes  # none without a fold, kept so the memo cannot drop one
        self.event_windows |= event_windows
        ids = [self.leaf(leaf) for leaf in leaves]
        if any(ids[i] != f"\x00{i}\x00" for i in range(len(ids))):
            text = _SENTINEL.sub(lambda m: ids[int(m.group(1))], text)
        return text, prec

    def _call(self, node: ast.Call, window: str, arith: bool, space: tuple | None) -> tuple[str, int]:
        f, args = node.func, node.args
        first = args[0] if args else None
        for a in args:
            if isinstance(a, ast.Subquery):
                self._expr(a, window, arith, space)  # refused, by name
        info = self.c.refs.get(first.name) if isinstance(first, ast.Ref) else None
        if info is not None and info.kind == "event" and f in ("count", "rate"):
            return self._events(node, window)
        if f in ("rate", "irate", "increase", "delta"):
            if info is None or info.kind != "counter":
                raise CompileError(f"{f}() of '{getattr(first, 'name', '?')}', which is not a counter")
            q = self.leaf(Leaf("metric", self.c._metric_query(first, space, ".as_rate()", self.variables)))
            if f == "irate":
                return q, _PREC_ATOM
            secs = window_seconds(_range_window(node, window))
            rolled = f"moving_rollup({q}, {secs}, 'avg')"
            # delta/increase: the trailing window's count, bracketed so ratios read as (count) / (count)
            return (rolled, _PREC_ATOM) if f == "rate" else (f"({rolled} * {secs})", _PREC_ATOM)
        if f in _OVER_TIME:
            if info is None or info.kind != "gauge":
                raise CompileError(f"{f}() of '{getattr(first, 'name', '?')}', which is not a gauge")
            q = self.leaf(Leaf("metric", self.c._metric_query(first, space, "", self.variables)))
            secs = window_seconds(_range_window(node, window))
            return f"moving_rollup({q}, {secs}, '{_OVER_TIME[f]}')", _PREC_ATOM
        if f in _SPACE_AGGS and len(args) == 1:
            if space is not None:
                raise CompileError(f"{f}() inside another aggregation (Datadog aggregates each query once)")
            if node.without:
                raise CompileError(f"{f} without (...) (Datadog groups by the tags it keeps: write 'by')")
            if isinstance(first, ast.Ref) and self.c.refs.get(first.name, RefInfo("", "")).kind == "derived":
                raise CompileError(
                    f"{f}() over the derived metric '{first.name}' (Datadog aggregates each metric "
                    "query, not the result of arithmetic)"
                )
            if not (isinstance(first, ast.Ref) or isinstance(first, ast.Call) and first.func in _LEAF_FUNCS):
                raise CompileError(
                    f"{f}() over an expression (Datadog aggregates each metric query, not the result "
                    "of arithmetic)"
                )
            return self.expr(first, window, arith, (f, list(node.by or [])))
        if f in ("max", "min", "clamp_min", "clamp_max") and len(args) == 2:
            return self._clamp(node, window, arith, space)
        if f == "abs":
            inner = self.expr(first, window, False, space)
            return f"abs({_unwrap(inner[0])})", _PREC_ATOM
        if f in ("quantile", "histogram_quantile"):
            target = args[1] if len(args) > 1 else first
            name = getattr(target, "name", "")
            raise CompileError(
                f"{f}() of the histogram '{name}' (Datadog distribution percentiles are not computed "
                "from Prometheus buckets)"
                if name
                else f"{f}()"
            )
        raise CompileError(f"{f}()")

    def _clamp(self, node: ast.Call, window: str, arith: bool, space: tuple | None) -> tuple[str, int]:
        f = node.func
        if f in ("max", "min"):
            limit = next((a for a in node.args if isinstance(a, ast.Number | ast.Var)), None)
            if limit is None:
                raise CompileError(f"{f}(a, b) without a number")
            other = next(a for a in node.args if a is not limit)
        else:
            other, limit = node.args
            if not isinstance(limit, ast.Number | ast.Var):
                raise CompileError(f"{f}() with a limit that is not a number")
        lower = f in ("max", "clamp_min")
        bound = float(self.expr(limit, window, False, space)[0])
        before = self.folded
        inner = self.expr(other, window, arith, space)
        if self.folded != before:
            # A folded guard inside the clamp: cutoff_min(x, n) >= n already when n >= the clamp's bound, so the
            # clamp is a no-op and is dropped (clamp_min would turn the guard's NaN back into a number).
            fold = self.fold
            if fold is not None and (
                lower
                and fold.op == ">="
                and fold.value >= bound
                or not lower
                and fold.op == "<="
                and fold.value <= bound
            ):
                self.notes.append(
                    f"{f}(..., {num(bound)}) needs no clamp here: the volume guard leaves only points "
                    f"{'at or above' if lower else 'at or below'} {num(fold.value)}, where it changes "
                    "nothing."
                )
                return inner
            raise CompileError("the volume guard inside a max()/min() it does not bound")
        return f"{'clamp_min' if lower else 'clamp_max'}({_unwrap(inner[0])}, {num(bound)})", _PREC_ATOM

    def _events(self, node: ast.Call, window: str) -> tuple[str, int]:
        ref = node.args[0]
        no_offset(ref)
        if not self.events:
            raise CompileError(f"the log event '{ref.name}' inside a metric query")
        if node.by:
            raise CompileError(f"{node.func}({ref.name}) by (...) (log counts are not grouped here)")
        secs = window_seconds(_range_window(node, window))
        search = self.c.log_search(ref.name)
        if self.scalar:
            self.event_windows.add(secs)
            q = self.leaf(Leaf("logs", search))
            return (q, _PREC_ATOM) if node.func == "count" else (f"{q} / {secs}", _PREC_MUL)
        q = self.leaf(Leaf("logs", search, 60))
        rolled = f"moving_rollup({q}, {secs}, 'sum')"
        return (rolled, _PREC_ATOM) if node.func == "count" else (f"{rolled} / {secs}", _PREC_MUL)


def _same_groups(node: ast.BinOp) -> bool:
    """`sum by (a) (x) / on (a) sum by (a) (y)`: both sides are one query per group of exactly the `on` labels,
    which is how Datadog joins a formula's queries, so the matching clause says nothing Datadog does not."""
    m = node.matching
    if m is None or not m.on or m.group or node.return_bool:
        return False
    return all(
        isinstance(side, ast.Call)
        and side.func in _SPACE_AGGS
        and len(side.args) == 1
        and not side.without
        and side.by is not None
        and set(side.by) == set(m.labels)
        for side in (node.left, node.right)
    )


def refuse_matching(node: ast.BinOp) -> None:
    """Datadog formulas join queries by their group tags only: no `on`/`ignoring`/`group_left`, no `bool`."""
    m = node.matching
    if m is not None:
        clause = f"{'on' if m.on else 'ignoring'}({', '.join(m.labels)})" + (
            f" group_{m.group}" if m.group else ""
        )
        raise CompileError(
            f"the vector matching '{node.op} {clause}' (Datadog formulas join queries on their "
            "shared group tags only; aggregate both sides by the same tags instead)"
        )
    if node.return_bool:
        raise CompileError(f"the comparison '{node.op} bool' (Datadog formulas have no 0/1 comparisons)")


def no_offset(ref: ast.Ref) -> None:
    # Datadog monitors compare with the past only as change()/pct_change() of a whole query, not per selector.
    if ref.at:
        raise CompileError(f"'{ref.name} @ {ref.at}' (Datadog queries have no fixed evaluation time)")
    if ref.offset:
        raise CompileError(
            f"'{ref.name} offset {ref.offset}' (a monitor compares with the past only through "
            "change() or pct_change() of its whole query)"
        )


def _range_window(node: ast.Call, default: str) -> str:
    ref = node.args[0]
    if isinstance(ref, ast.Ref) and ref.window:
        return ref.window
    if len(node.args) > 1 and isinstance(node.args[1], ast.DurationLit):
        return node.args[1].text
    return default


def _unwrap(text: str) -> str:
    """`(a * 300)` -> `a * 300` when the outer parentheses enclose the whole text (a function argument)."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, c in enumerate(text):
        depth += c == "("
        depth -= c == ")"
        if depth == 0 and i < len(text) - 1:
            return text
    return text[1:-1]


def _paren(part: tuple[str, int], need: int) -> str:
    text, prec = part
    return f"({text})" if prec < need else text


def _term(key: str, pattern: str) -> str:
    return pattern if not key else f"{key}:{pattern}"


def _tag_value(label: str, op: str, value: str) -> str:
    if not value:
        raise CompileError(f'the matcher {label}{op}"" (an absent label has no Datadog tag filter)')
    if not _TAG_VALUE.fullmatch(value):
        raise CompileError(
            f'the matcher {label}{op}"{value}" (Datadog tag values are letters, digits and _ - . / :)'
        )
    return value


def _regex_patterns(m: ast.Matcher) -> list[str]:
    """Datadog tag patterns meaning exactly the (fully anchored) regex, or CompileError."""
    construct = f'the matcher {m.label}{m.op}"{m.value}"'
    pattern = m.value.removeprefix("^")
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1]
    out = []
    for branch in _split_alternation(pattern, construct):
        head = branch.startswith(".*")
        body = branch[2:] if head else branch
        tail = body.endswith(".*") and not body.endswith("\\.*")
        body = body[:-2] if tail else body
        literal = _unescape(body, construct)
        if not literal:
            raise CompileError(f"{construct} (matches any value, including an absent label)")
        _tag_value(m.label, m.op, literal)
        out.append(f"{'*' if head else ''}{literal}{'*' if tail else ''}")
    return out


def _widened_patterns(m: ast.Matcher) -> list[str]:
    """targets.datadog.widen_regex: a branch is a literal prefix (after an optional leading `.*`), then anything;
    what follows the prefix becomes `*`. A leading class of literal characters ([45]) becomes one branch each."""
    construct = f'the matcher {m.label}{m.op}"{m.value}"'
    pattern = m.value.removeprefix("^").removesuffix("$")
    out: list[str] = []
    for branch in re.split(r"\|(?![^\[]*\])", pattern):
        heads = [""]
        cls = re.match(r"\[([A-Za-z0-9_\-/]+)\]", branch)
        if cls and "-" not in cls.group(1):
            heads, branch = list(cls.group(1)), branch[cls.end() :]
        lead = branch.startswith(".*")
        body = branch[2:] if lead else branch
        literal, i = "", 0
        while i < len(body) and (
            body[i] not in _REGEX_META or body[i] == "\\" and i + 1 < len(body) and not body[i + 1].isalnum()
        ):
            literal += body[i + 1] if body[i] == "\\" else body[i]
            i += 2 if body[i] == "\\" else 1
        rest = body[i:]
        if re.search(r"(?<!\\)\.\*.", rest) or rest.startswith(("(", "|")):
            raise CompileError(f"{construct} (only a prefix, suffix or substring wildcard exists in Datadog)")
        for h in heads:
            text = h + literal
            if not text:
                raise CompileError(f"{construct} (matches any value, including an absent label)")
            _tag_value(m.label, m.op, text)
            out.append(f"{'*' if lead else ''}{text}{'*' if rest else ''}")
    return list(dict.fromkeys(out))


def _split_alternation(pattern: str, construct: str) -> list[str]:
    branches, cur, i = [], "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            cur += pattern[i : i + 2]
            i += 2
            continue
        if c == "|":
            branches.append(cur)
            cur = ""
        elif c in "()[]{}":
            raise CompileError(
                f"{construct} (Datadog tag filters have only * wildcards, no regex groups or classes)"
            )
        else:
            cur += c
        i += 1
    branches.append(cur)
    return branches


def _unescape(body: str, construct: str) -> str:
    out, i = "", 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body) or body[i + 1].isalnum():
                raise CompileError(f"{construct} (regex classes such as \\d have no Datadog tag filter)")
            out += body[i + 1]
            i += 2
            continue
        if c in _REGEX_META:
            raise CompileError(
                f"{construct} (Datadog tag filters have only * wildcards: '{c}' in a regex has no "
                "exact equivalent; write '.*' at the start or end for a wildcard)"
            )
        out += c
        i += 1
    return out
