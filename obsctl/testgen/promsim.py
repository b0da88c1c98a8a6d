"""A small PromQL evaluator over synthetic series, mirroring Prometheus 2.42 where our tests depend on it.

Generated alert tests need two things promtool will not tell us in advance: which input values put a condition on
either side of its threshold, and the exact labels and `$value` of the alert that then fires (promtool compares
labels and rendered annotations exactly). Both come from evaluating the rule's PromQL here, on the same samples
promtool will load: selectors (2.42: ranges include both ends), `rate`/`increase`/`delta` with Prometheus'
extrapolation, the `*_over_time` family, aggregations, binary operators with vector matching, `histogram_quantile`.
Anything outside that subset raises `Unsupported`, and the caller reports the scenario as not generated.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import promql_parser as pp

LOOKBACK_MS = 5 * 60 * 1000


class Unsupported(Exception):
    """An expression (or notation) the simulator does not model."""


def _no(what: str) -> Unsupported:
    return Unsupported(f"obsctl's PromQL simulator does not handle {what}")


class _Stale:
    def __repr__(self) -> str:
        return "stale"


STALE = _Stale()
Value = float | None | _Stale


@dataclass
class Series:
    labels: dict[str, str]  # with __name__
    values: list[Value]  # one per interval from t=0; None = no sample


@dataclass
class Sample:
    labels: dict[str, str]
    value: float


@dataclass
class World:
    series: list[Series]
    interval_ms: int
    records: dict[str, tuple[object, dict[str, str]]] = field(
        default_factory=dict
    )  # record -> (parsed expr, labels)


@functools.lru_cache(maxsize=8192)
def parse(expr: str) -> object:
    """`promql_parser.parse`, once per distinct expression: test generation evaluates the same rule thousands of
    times. The parsed trees are only read, never changed, so sharing them is safe."""
    return pp.parse(expr)


# -- promtool's expanding notation ----------------------------------------------------------------------------

_NUM = r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|Inf|inf|NaN)"
_TERM = re.compile(rf"^(?P<a>{_NUM})(?:(?P<op>[-+])(?P<b>{_NUM}))?x(?P<n>[0-9]+)$")


# A test series' samples, and a test's evaluation steps: promtool would take minutes (and gigabytes) past this,
# and no alert test needs it (100,000 steps of 1m are 69 days).
MAX_SAMPLES = 100_000


_COUNT = re.compile(r"[0-9]+")  # ASCII digits: str.isdigit() also takes '²'


def _count(digits: str) -> int:
    """A repeat count, capped just past MAX_SAMPLES before Python reads it (a 5,000-digit count is a ValueError)."""
    return MAX_SAMPLES + 1 if len(digits) > 6 else min(int(digits), MAX_SAMPLES + 1)


def parse_values(text: str) -> list[Value]:
    """promtool's `values` notation: `0+10x30`, `1x4`, `_`, `_x3`, `stale`, plain numbers."""
    return list(_parse_values(text))  # a copy: the caller owns its list


@functools.lru_cache(maxsize=4096)
def _parse_values(text: str) -> tuple[Value, ...]:
    """parse_values, once per notation: test generation builds the same inputs (`0+1x15`) for many candidates."""
    out: list[Value] = []
    for tok in text.split():
        if len(out) > MAX_SAMPLES:
            break
        if tok == "_":
            out.append(None)
        elif tok.startswith("_x") and _COUNT.fullmatch(tok[2:]):
            out += [None] * _count(tok[2:])
        elif tok == "stale":
            out.append(STALE)
        elif re.fullmatch(_NUM, tok):
            out.append(float(tok))
        else:
            m = _TERM.match(tok)
            if not m:
                raise Unsupported(f"cannot read series values '{tok}'")
            k = float(m["a"])
            offset = float(m["b"]) if m["b"] else 0.0
            if m["op"] == "-":
                offset = -offset
            out.append(k)
            for _ in range(_count(m["n"])):
                k += offset  # accumulated like promtool does, so float results match bit for bit
                out.append(k)
    if len(out) > MAX_SAMPLES:
        raise Unsupported(f"the values '{text[:40]}' expand to over {MAX_SAMPLES:,} samples")
    return tuple(out)


def fmt_number(v: float) -> str:
    """A number as the notation (and Go's ParseFloat) reads it back exactly."""
    if not math.isfinite(v):  # int() raises on them; the notation spells them Inf, -Inf, NaN
        return "NaN" if math.isnan(v) else ("Inf" if v > 0 else "-Inf")
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def parse_series(text: str) -> dict[str, str]:
    """`metric{a="b"}` (series notation) -> labels with __name__."""
    try:
        node = pp.parse(text)
    except ValueError as e:
        raise Unsupported(f"cannot read series '{text}': {e}") from e
    if not isinstance(node, pp.VectorSelector):
        raise Unsupported(f"'{text}' is not a series")
    labels = {m.name: m.value for m in node.matchers.matchers}
    if node.name:
        labels["__name__"] = node.name
    return labels


def series_text(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = ", ".join(f"{k}={_q(v)}" for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def _q(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# -- evaluation -----------------------------------------------------------------------------------------------

_CMP: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def _arith(op: str, a: float, b: float) -> float:
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "%":
            return math.fmod(a, b)
        if op == "^":
            return math.pow(a, b)
    except ZeroDivisionError:
        if op == "/":
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b)
        return math.nan
    except (OverflowError, ValueError):
        return math.nan
    raise _no(f"operator {op}")


def _key(labels: dict[str, str]) -> tuple:
    return tuple(sorted(labels.items()))


def _drop_name(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k != "__name__"}


class Evaluator:
    def __init__(self, world: World) -> None:
        self.world = world
        self._sorted = sorted(world.series, key=lambda s: _key(s.labels))
        # selector -> (the selector, kept alive so its id is not reused; the series it matches, in label order)
        self._matching: dict[int, tuple[object, list[Series]]] = {}

    def instant(self, expr: str | object, t_ms: int) -> list[Sample] | float:
        node = parse(expr) if isinstance(expr, str) else expr
        return self._eval(node, t_ms)

    def vector(self, expr: str | object, t_ms: int) -> list[Sample]:
        out = self.instant(expr, t_ms)
        if isinstance(out, float):
            raise _no("a condition that is a plain number")
        return out

    # -- selectors --------------------------------------------------------------------------------------------
    def _matches(self, labels: dict[str, str], vs: pp.VectorSelector) -> bool:
        return _static(vs, _matcher)(labels)

    def _offset(self, vs: pp.VectorSelector) -> int:
        if vs.at is not None:
            raise _no("@ modifiers")
        return int(vs.offset.total_seconds() * 1000) if vs.offset else 0

    def _matching_series(self, vs: pp.VectorSelector) -> list[Series]:
        """The series `vs` selects, in label order: matched once per selector."""
        hit = self._matching.get(id(vs))
        if hit is None:
            hit = self._matching[id(vs)] = (vs, [s for s in self._sorted if self._matches(s.labels, vs)])
        return hit[1]

    def _selected(
        self, vs: pp.VectorSelector, start: int, end: int
    ) -> list[tuple[dict[str, str], list[tuple[int, Value]]]]:
        """Series matching `vs` with their (t, v) samples in [start, end] (records are evaluated, not stored)."""
        if vs.name in self.world.records:
            raise _no("a range over a recording rule")
        step = self.world.interval_ms
        first, last = max(0, -(-start // step)), end // step  # samples sit at multiples of the interval
        out = []
        for s in self._matching_series(vs):
            values = s.values
            pts = [
                (i * step, values[i])
                for i in range(first, min(last, len(values) - 1) + 1)
                if values[i] is not None
            ]
            out.append((s.labels, pts))
        return out

    def _range(
        self, node: object, t_ms: int
    ) -> list[tuple[dict[str, str], list[tuple[int, float]], int, int]]:
        if isinstance(node, pp.SubqueryExpr):
            raise _no("subqueries")
        if not isinstance(node, pp.MatrixSelector):
            raise _no("a range function over something other than a range selector")
        vs = node.vector_selector
        rng = int(node.range.total_seconds() * 1000)
        end = t_ms - self._offset(vs)
        start = end - rng
        out = []
        for labels, pts in self._selected(vs, start, end):
            window = [(t, float(v)) for t, v in pts if v is not STALE]
            out.append((labels, window, start, end))
        return out

    # -- nodes ------------------------------------------------------------------------------------------------
    def _eval(self, node: object, t: int) -> list[Sample] | float:
        return _static(node, _compile)(self, t)

    def _call(self, node: pp.Call, t: int) -> list[Sample] | float:
        name = node.func.name
        args = node.args
        if name in _RANGE_FUNCS:
            out = []
            for labels, pts, start, end in self._range(args[0], t):
                v = _RANGE_FUNCS[name](pts, start, end)
                if v is not None:
                    out.append(Sample(_drop_name(labels), v))
            return out
        if name in ("absent_over_time", "present_over_time"):
            have = [x for x in self._range(args[0], t) if x[1]]
            if name == "present_over_time":
                return [Sample(_drop_name(labels), 1.0) for labels, pts, _, _ in have]
            return [] if have else [Sample(_absent_labels(args[0].vector_selector), 1.0)]
        if name == "absent":
            return [] if self.vector(args[0], t) else [Sample(_absent_labels(args[0]), 1.0)]
        if name == "vector":
            return [Sample({}, self._scalar(args[0], t))]
        if name == "scalar":
            v = self.vector(args[0], t)
            return v[0].value if len(v) == 1 else math.nan
        if name == "time":
            return t / 1000
        if name in _SIMPLE:
            extra = [self._scalar(a, t) for a in args[1:]]
            return [
                Sample(_drop_name(s.labels), _SIMPLE[name](s.value, *extra)) for s in self.vector(args[0], t)
            ]
        if name == "histogram_quantile":
            return self._histogram_quantile(self._scalar(args[0], t), self.vector(args[1], t))
        raise _no(f"the function {name}()")

    def _scalar(self, node: object, t: int) -> float:
        v = self._eval(node, t)
        if not isinstance(v, float):
            raise _no("a vector where a number is expected")
        return v

    def _histogram_quantile(self, q: float, vec: list[Sample]) -> list[Sample]:
        groups: dict[tuple, tuple[dict[str, str], list[tuple[float, float]]]] = {}
        for s in vec:
            if "le" not in s.labels:
                continue
            try:
                le = float(s.labels["le"].replace("+Inf", "inf"))
            except ValueError:
                continue
            g = {k: v for k, v in s.labels.items() if k not in ("le", "__name__")}
            groups.setdefault(_key(g), (g, []))[1].append((le, s.value))
        return [Sample(g, _bucket_quantile(q, buckets)) for g, buckets in groups.values()]


# -- compiled nodes -------------------------------------------------------------------------------------------
# Each parsed node is turned once into a Python function of (evaluator, time): test generation evaluates the
# same few expressions tens of thousands of times, and reading a node's fields through the parser's bindings on
# every evaluation cost more than the arithmetic. What a node cannot do still raises when it is evaluated, as
# before, never when it is compiled.

Compiled = Callable[[Evaluator, int], "list[Sample] | float"]
_STATIC: dict[tuple[int, object], tuple[object, object]] = {}


def _static(node: object, make: Callable[[object], object]) -> object:
    """`make(node)`, once per node (the node is kept, so its id is not reused while the entry lives)."""
    key = (id(node), make)
    hit = _STATIC.get(key)
    if hit is None:
        if len(_STATIC) > 100_000:  # a long-lived process that evaluates ever new expressions
            _STATIC.clear()
        hit = _STATIC[key] = (node, make(node))
    return hit[1]


def _raises(why: str) -> Compiled:
    def run(ev: Evaluator, t: int) -> list[Sample] | float:
        raise _no(why)

    return run


def _matcher(vs: pp.VectorSelector) -> Callable[[dict[str, str]], bool]:
    name = vs.name
    matchers = [(m.name, m.op, m.value) for m in vs.matchers.matchers]
    regexes: dict[str, re.Pattern] = {}

    def matches(labels: dict[str, str]) -> bool:
        if name and labels.get("__name__") != name:
            return False
        for label, op, want in matchers:
            value = labels.get(label, "")
            if op == pp.MatchOp.Equal:
                ok = value == want
            elif op == pp.MatchOp.NotEqual:
                ok = value != want
            elif op in (pp.MatchOp.Re, pp.MatchOp.NotRe):
                if want not in regexes:  # compiled on first use, where re.fullmatch raised for a bad one
                    regexes[want] = re.compile(want, flags=re.DOTALL)
                hit = regexes[want].fullmatch(value) is not None
                ok = hit if op == pp.MatchOp.Re else not hit
            else:
                raise _no(f"matcher {op}")
            if not ok:
                return False
        return True

    return matches


def _compile(node: object) -> Compiled:
    if isinstance(node, pp.NumberLiteral):
        number = float(node.val)
        return lambda ev, t: number
    if isinstance(node, pp.ParenExpr):
        return _compile_child(node.expr)
    if isinstance(node, pp.UnaryExpr):
        return _compile_unary(node)
    if isinstance(node, pp.VectorSelector):
        return _compile_selector(node)
    if isinstance(node, pp.Call):
        return _compile_call(node)
    if isinstance(node, pp.AggregateExpr):
        return _compile_aggregate(node)
    if isinstance(node, pp.BinaryExpr):
        return _compile_binary(node)
    return _raises(f"{type(node).__name__} expressions")


def _compile_child(node: object) -> Compiled:
    return _compile(node)  # compiling raises nothing: what cannot be evaluated raises when it is


def _compile_unary(node: pp.UnaryExpr) -> Compiled:
    inner = _compile_child(node.expr)

    def run(ev: Evaluator, t: int) -> list[Sample] | float:
        value = inner(ev, t)
        if isinstance(value, float):
            return -value
        return [Sample(_drop_name(s.labels), -s.value) for s in value]

    return run


def _selector_offset(vs: pp.VectorSelector) -> int | None:
    """The offset in ms, or None for an `@` modifier (which raises when evaluated)."""
    if vs.at is not None:
        return None
    return int(vs.offset.total_seconds() * 1000) if vs.offset else 0


def _compile_selector(vs: pp.VectorSelector) -> Compiled:
    name, offset = vs.name, _selector_offset(vs)
    matches = _static(vs, _matcher)

    def run(ev: Evaluator, t: int) -> list[Sample]:
        if offset is None:
            raise _no("@ modifiers")
        t -= offset
        records = ev.world.records
        if name in records:
            expr, extra = records[name]
            out = []
            for s in ev.vector(expr, t):
                labels = _drop_name(s.labels) | extra | {"__name__": name}
                if matches(labels):
                    out.append(Sample(labels, s.value))
            return out
        out = []
        for labels, recent in ev._selected(vs, t - LOOKBACK_MS, t):
            if recent and recent[-1][1] is not STALE:
                out.append(Sample(dict(labels), float(recent[-1][1])))
        return out

    return run


def _compile_call(node: pp.Call) -> Compiled:
    name = node.func.name
    if name in _SIMPLE:
        func1 = _SIMPLE[name]
        args = [_compile_child(a) for a in node.args]

        def simple(ev: Evaluator, t: int) -> list[Sample]:
            extra = [_number(a(ev, t)) for a in args[1:]]
            vec = args[0](ev, t)
            if isinstance(vec, float):
                raise _no("a condition that is a plain number")
            return [Sample(_drop_name(s.labels), func1(s.value, *extra)) for s in vec]

        return simple
    if name not in _RANGE_FUNCS:
        return lambda ev, t: ev._call(node, t)
    func = _RANGE_FUNCS[name]
    arg = node.args[0]
    if isinstance(arg, pp.SubqueryExpr):
        return _raises("subqueries")
    if not isinstance(arg, pp.MatrixSelector):
        return _raises("a range function over something other than a range selector")
    vs = arg.vector_selector
    rng = int(arg.range.total_seconds() * 1000)
    offset = _selector_offset(vs)

    def run(ev: Evaluator, t: int) -> list[Sample]:
        if offset is None:
            raise _no("@ modifiers")
        end = t - offset
        start = end - rng
        if vs.name in ev.world.records:
            raise _no("a range over a recording rule")
        step = ev.world.interval_ms
        first, last = max(0, -(-start // step)), end // step  # as in Evaluator._selected
        out = []
        for series in ev._matching_series(vs):
            values = series.values
            window = [
                (i * step, float(values[i]))
                for i in range(first, min(last, len(values) - 1) + 1)
                if values[i] is not None and values[i] is not STALE
            ]
            v = func(window, start, end)
            if v is not None:
                out.append(Sample(_drop_name(series.labels), v))
        return out

    return run


def _compile_aggregate(node: pp.AggregateExpr) -> Compiled:
    op = str(node.op)
    param = (
        _compile_child(node.param)
        if node.param is not None and op in ("topk", "bottomk", "quantile")
        else None
    )
    inner = _compile_child(node.expr)
    mod = node.modifier
    without = mod is not None and mod.type == pp.AggModifierType.Without
    by = list(mod.labels) if mod is not None else []

    def group_labels(labels: dict[str, str]) -> dict[str, str]:
        if without:
            return {k: v for k, v in labels.items() if k not in by and k != "__name__"}
        return {k: v for k, v in labels.items() if k in by}

    def run(ev: Evaluator, t: int) -> list[Sample]:
        k_or_q = _number(param(ev, t)) if param is not None else None
        vec = inner(ev, t)
        if isinstance(vec, float):
            raise _no("a condition that is a plain number")
        groups: dict[tuple, tuple[dict[str, str], list[Sample]]] = {}
        for s in vec:
            g = group_labels(s.labels)
            groups.setdefault(_key(g), (g, []))[1].append(s)
        out = []
        for g, members in groups.values():
            vals = [m.value for m in members]
            if op == "sum":
                acc = 0.0
                for v in vals:
                    acc += v
                out.append(Sample(g, acc))
            elif op == "avg":
                mean, n = 0.0, 0
                for v in vals:  # Prometheus 2.42's incremental mean
                    n += 1
                    mean += v / n - mean / n
                out.append(Sample(g, mean))
            elif op == "max":
                out.append(Sample(g, max(vals)))
            elif op == "min":
                out.append(Sample(g, min(vals)))
            elif op == "count":
                out.append(Sample(g, float(len(vals))))
            elif op in ("topk", "bottomk"):
                k = int(k_or_q)
                ranked = sorted(members, key=lambda m: m.value, reverse=op == "topk")[:k]
                out += [Sample(dict(m.labels), m.value) for m in ranked]
            elif op == "quantile":
                out.append(Sample(g, _quantile(k_or_q, vals)))
            else:
                raise _no(f"the aggregation {op}")
        return out

    return run


def _number(value: list[Sample] | float) -> float:
    if not isinstance(value, float):
        raise _no("a vector where a number is expected")
    return value


def _compile_binary(node: pp.BinaryExpr) -> Compiled:
    op = str(node.op)
    mod = node.modifier
    return_bool = bool(mod is not None and mod.return_bool)
    lhs_of, rhs_of = _compile_child(node.lhs), _compile_child(node.rhs)
    cmp = _CMP.get(op)
    matching = mod.matching if mod is not None else None
    include = matching is not None and matching.type == pp.LabelModifierType.Include
    listed = set(matching.labels) if matching is not None else set()
    many = mod is not None and mod.card != pp.VectorMatchCardinality.OneToOne

    def signature(labels: dict[str, str]) -> tuple:
        if include:
            return tuple(sorted((k, v) for k, v in labels.items() if k in listed))
        return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__" and k not in listed))

    def set_op(lhs: list[Sample] | float, rhs: list[Sample] | float) -> list[Sample]:
        if isinstance(lhs, float) or isinstance(rhs, float):
            raise _no(f"'{op}' with a number on one side")
        rsigs = {signature(s.labels) for s in rhs}
        if op == "and":
            return [s for s in lhs if signature(s.labels) in rsigs]
        if op == "unless":
            return [s for s in lhs if signature(s.labels) not in rsigs]
        lsigs = {signature(s.labels) for s in lhs}
        return list(lhs) + [s for s in rhs if signature(s.labels) not in lsigs]

    def vector_op(lhs: list[Sample], rhs: list[Sample]) -> list[Sample]:
        if many:
            raise _no("group_left/group_right matching")
        right: dict[tuple, Sample] = {}
        for s in rhs:
            sig = signature(s.labels)
            if sig in right:
                raise _no("many-to-one matching")
            right[sig] = s
        out = []
        for s in lhs:
            r = right.get(signature(s.labels))
            if r is None:
                continue
            labels = dict(s.labels)
            if cmp is None or return_bool:
                labels = _drop_name(labels)
            if include:
                labels = {k: v for k, v in labels.items() if k in listed}
            elif matching is not None:
                labels = {k: v for k, v in labels.items() if k not in listed}
            if cmp is not None:
                keep = cmp(s.value, r.value)
                if return_bool:
                    out.append(Sample(labels, 1.0 if keep else 0.0))
                elif keep:
                    out.append(Sample(labels, s.value))
            else:
                out.append(Sample(labels, _arith(op, s.value, r.value)))
        return out

    def run(ev: Evaluator, t: int) -> list[Sample] | float:
        lhs, rhs = lhs_of(ev, t), rhs_of(ev, t)
        if op in ("and", "or", "unless"):
            return set_op(lhs, rhs)
        if isinstance(lhs, float) and isinstance(rhs, float):
            if cmp is not None:
                if not return_bool:
                    raise _no("a comparison of two numbers without bool")
                return 1.0 if cmp(lhs, rhs) else 0.0
            return _arith(op, lhs, rhs)
        if isinstance(lhs, float) or isinstance(rhs, float):
            swap = isinstance(lhs, float)
            vec, num = (rhs, lhs) if swap else (lhs, rhs)
            out = []
            for s in vec:
                a, b = (num, s.value) if swap else (s.value, num)
                if cmp is not None:
                    keep = cmp(a, b)
                    if return_bool:
                        out.append(Sample(_drop_name(s.labels), 1.0 if keep else 0.0))
                    elif keep:
                        out.append(Sample(dict(s.labels), s.value))
                else:
                    out.append(Sample(_drop_name(s.labels), _arith(op, a, b)))
            return out
        return vector_op(lhs, rhs)

    return run


def _absent_labels(node: object) -> dict[str, str]:
    if not isinstance(node, pp.VectorSelector):
        return {}
    return {
        m.name: m.value for m in node.matchers.matchers if m.op == pp.MatchOp.Equal and m.name != "__name__"
    }


def _extrapolated(
    pts: list[tuple[int, float]], start: int, end: int, counter: bool, rate: bool
) -> float | None:
    """Prometheus 2.42's extrapolatedRate, step for step."""
    if len(pts) < 2:
        return None
    result = pts[-1][1] - pts[0][1]
    if counter:
        prev = pts[0][1]
        for _, v in pts[1:]:
            if v < prev:
                result += prev
            prev = v
    to_start = (pts[0][0] - start) / 1000
    to_end = (end - pts[-1][0]) / 1000
    sampled = (pts[-1][0] - pts[0][0]) / 1000
    avg = sampled / (len(pts) - 1)
    if counter and result > 0 and pts[0][1] >= 0:
        to_zero = sampled * (pts[0][1] / result)
        if to_zero < to_start:
            to_start = to_zero
    threshold = avg * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else avg / 2
    interval += to_end if to_end < threshold else avg / 2
    result = result * (interval / sampled)
    if rate:
        result = result / ((end - start) / 1000)
    return result


def _irate(pts: list[tuple[int, float]], counter: bool) -> float | None:
    if len(pts) < 2:
        return None
    (t0, v0), (t1, v1) = pts[-2], pts[-1]
    d = v1 - v0 if not (counter and v1 < v0) else v1
    return d / ((t1 - t0) / 1000) if counter else d


def _avg(vals: list[float]) -> float:
    mean, n = 0.0, 0.0
    for v in vals:
        n += 1
        mean += v / n - mean / n
    return mean


def _sum(vals: list[float]) -> float:
    acc = 0.0
    for v in vals:
        acc += v
    return acc


def _changes(vals: list[float], resets: bool) -> float:
    n = 0
    for a, b in zip(vals, vals[1:], strict=False):
        n += (b < a) if resets else (a != b)
    return float(n)


def _over(f: Callable[[list[float]], float]) -> Callable[[list[tuple[int, float]], int, int], float | None]:
    return lambda pts, start, end: f([v for _, v in pts]) if pts else None


_RANGE_FUNCS: dict[str, Callable[[list[tuple[int, float]], int, int], float | None]] = {
    "rate": lambda p, s, e: _extrapolated(p, s, e, True, True),
    "increase": lambda p, s, e: _extrapolated(p, s, e, True, False),
    "delta": lambda p, s, e: _extrapolated(p, s, e, False, False),
    "irate": lambda p, s, e: _irate(p, True),
    "idelta": lambda p, s, e: _irate(p, False),
    "avg_over_time": _over(_avg),
    "sum_over_time": _over(_sum),
    "min_over_time": _over(min),
    "max_over_time": _over(max),
    "count_over_time": _over(lambda v: float(len(v))),
    "last_over_time": _over(lambda v: v[-1]),
    "changes": _over(lambda v: _changes(v, False)),
    "resets": _over(lambda v: _changes(v, True)),
}


def _round(v: float, to: float = 1.0) -> float:
    """Prometheus' round: floor(v / to + 0.5) * to, in float arithmetic as Go does it (to = 0 gives NaN, an
    infinite v stays infinite), where Python's math.floor raises on inf and NaN."""
    inv = 1.0 / to if to else math.inf
    return _integral(math.floor, v * inv + 0.5) / inv


def _integral(f: Callable[[float], int], v: float) -> float:
    """ceil/floor as Go's math.Ceil/Floor: +-Inf and NaN are returned as they are (Python's raise)."""
    return float(f(v)) if math.isfinite(v) else v


_SIMPLE: dict[str, Callable[..., float]] = {
    "abs": abs,
    "ceil": lambda v: _integral(math.ceil, v),
    "floor": lambda v: _integral(math.floor, v),
    "round": _round,
    "sqrt": lambda v: math.sqrt(v) if v >= 0 else math.nan,
    "clamp_min": lambda v, lo: max(v, lo),
    "clamp_max": lambda v, hi: min(v, hi),
    "clamp": lambda v, lo, hi: math.nan if lo > hi else max(min(v, hi), lo),
}


def _quantile(q: float, vals: list[float]) -> float:
    if not vals or math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    vals = sorted(vals)
    n = float(len(vals))
    rank = q * (n - 1)
    lower = max(0, int(math.floor(rank)))
    upper = min(len(vals) - 1, lower + 1)
    weight = rank - math.floor(rank)
    return vals[lower] * (1 - weight) + vals[upper] * weight


def _bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus 2.42's bucketQuantile (with coalescing and the monotonicity fix)."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    buckets = sorted(buckets)
    if not buckets or not math.isinf(buckets[-1][0]):
        return math.nan
    merged: list[list[float]] = []
    for le, c in buckets:
        if merged and merged[-1][0] == le:
            merged[-1][1] += c
        else:
            merged.append([le, c])
    top = 0.0
    for b in merged:
        top = max(top, b[1])
        b[1] = top
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(merged) - 1) if merged[i][1] >= rank), len(merged) - 1)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[b][0], merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * (rank / count)
