"""Compile the neutral expression tree to PromQL.

An expression that is valid PromQL compiles to the same PromQL: the same label sets, the same result. Nothing
is aggregated that the expression does not aggregate (`rate(x[5m]) > 0.8` stays per series). Where the language
adds meaning, labels are kept as PromQL would: `delta` of a counter is `increase` (PromQL's `delta` is for gauges
and ignores resets; `delta` of a gauge is PromQL's `delta`), `max(x, 1)` is `clamp_min(x, 1)`. obsctl's own
aggregation happens only where the language itself asks for it: `quantile(0.95, histogram)` sums the buckets
keeping `by` and then `defaults.by` (the documented default).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING

from ..expr import ast
from ..semantics import AGGREGATIONS, FUNCTIONS, RANGE_ARG, RANGE_FUNCS, RefInfo

if TYPE_CHECKING:
    from ..model import Spec


_encode_string = json.encoder.encode_basestring  # the C encoder json.dumps uses for str (ensure_ascii=False)

_VARIABLE = re.compile(r"\$(\{?[A-Za-z_]\w*)")  # a Grafana variable: $env, ${env}


class CompileError(ValueError):
    """A construct the target cannot express; names the construct."""


_PRECEDENCE = ast.PRECEDENCE


def number(value: float) -> str:
    """Numbers as people write them: 1, 0.05, 1e-05."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def quote(value: str) -> str:
    """A PromQL/LogQL double-quoted string (Go escaping)."""
    if type(value) is str:
        # What json.dumps(value, ensure_ascii=False) returns for a str, without building an encoder per call:
        # called for every matcher of every rule (about 1,000 times per environment of the largest example).
        return _encode_string(value)
    return json.dumps(value, ensure_ascii=False)


def matchers_text(pairs: list[tuple[str, str, str]]) -> str:
    return ", ".join(f"{k}{op}{quote(v)}" for k, op, v in pairs)


def _offset(ref: ast.Ref) -> str:
    """PromQL's offset and `@` modifiers, which follow the selector (and its range)."""
    return (f" offset {ref.offset}" if ref.offset else "") + (f" @ {ref.at}" if ref.at else "")


def binop_modifiers(node: ast.BinOp, right: str = "") -> str:
    """` bool`, ` on (a) group_left (b)`: what follows a binary operator, as PromQL and LogQL write it. A bare
    `group_left` before a `(` would read that bracket as its label list, so it gets `()` there."""
    out = " bool" if node.return_bool else ""
    m = node.matching
    if m is not None:
        out += f" {'on' if m.on else 'ignoring'} ({', '.join(m.labels)})"
        if m.group:
            bare = not m.include and not right.startswith("(")
            out += f" group_{m.group}" if bare else f" group_{m.group} ({', '.join(m.include)})"
    return out


def _shift(node: ast.Node, offset: str) -> ast.Node:
    """A copy of `node` evaluated `offset` earlier: every selector in it gets the offset."""
    if isinstance(node, ast.Ref):
        if node.offset:
            raise CompileError(
                f"an offset of an offset ('{node.name} offset {node.offset}' inside another offset)"
            )
        return dataclasses.replace(node, offset=offset)
    if isinstance(node, ast.Call):
        return dataclasses.replace(node, args=[_shift(a, offset) for a in node.args])
    if isinstance(node, ast.BinOp):
        return dataclasses.replace(node, left=_shift(node.left, offset), right=_shift(node.right, offset))
    if isinstance(node, ast.Neg):
        return dataclasses.replace(node, operand=_shift(node.operand, offset))
    if isinstance(node, ast.Subquery):
        return dataclasses.replace(node, expr=_shift(node.expr, offset))
    return node


class PromQL:
    """Compiles expressions of one spec. `records` maps derived names to recording-rule names to query instead."""

    def __init__(
        self,
        spec: Spec,
        refs: dict[str, RefInfo],
        exprs: dict[tuple, ast.Node],
        records: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.refs = refs
        self.exprs = exprs
        self.records = records or {}
        # Compiling is a function of the spec and records: each derived metric is compiled once, not again for
        # every alert (other thresholds, severities) that reads it.
        self._derived: dict[tuple[str, bool], str] = {}

    # -- public -------------------------------------------------------------------------------------------
    def compile(self, node: ast.Node, window: str | None = None) -> str:
        return self._expr(node, window or self.spec.defaults.window)

    def derived(self, name: str, inline: bool = False) -> str:
        """A derived metric's PromQL: its record name, or (inline) its whole expression."""
        out = self._derived.get((name, inline))
        if out is not None:
            return out
        d = self.spec.derived[name]
        if not inline and name in self.records:
            out = self.records[name] + self.record_selector()
        elif d.overrides.promql:
            out = d.overrides.promql
        else:
            out = self.compile(self.exprs[("derived", name, "expr")], d.window or self.spec.defaults.window)
        self._derived[name, inline] = out
        return out

    def record_selector(self) -> str:
        """Matchers that pick this spec's own recordings: the metric source's selector, which recording rules carry
        as labels, so services and environments sharing a Prometheus never read each other's records."""
        pairs = sorted((k, "=", v) for k, v in self.spec.sources.metrics.selector.items())
        return f"{{{matchers_text(pairs)}}}" if pairs else ""

    def probe_selector(self, name: str) -> str:
        probe = self.spec.sources.probes[name]
        return f"probe_success{{{matchers_text([('instance', '=', probe.url)])}}}"

    # -- internals ------------------------------------------------------------------------------------------
    def _selector(self, ref: ast.Ref) -> str:
        info = self.refs.get(ref.name)
        base = self.spec.selector_of(info.target) if info else self.spec.sources.metrics.selector
        # A dashboard variable on a selector label (`{env="$env"}`) replaces the selector's matcher: both together
        # (`{env="prod", env="$env"}`) could never select another value.
        chosen = {m.label for m in ref.matchers if _VARIABLE.search(m.value)}
        pairs = sorted((k, "=", v) for k, v in base.items() if k not in chosen)
        pairs += [(m.label, m.op, m.value) for m in ref.matchers]
        return f"{ref.name}{{{matchers_text(pairs)}}}" if pairs else ref.name

    def _by(self, labels: list[str] | None, without: bool = False) -> str:
        if labels is None:
            return ""
        return f" {'without' if without else 'by'} ({', '.join(labels)})"

    def _implicit(self, inner: str, extra_by: list[str] | None = None) -> str:
        """obsctl's own aggregation (a histogram's quantile): `sum` keeping `extra_by` then `defaults.by`."""
        by = list(extra_by or []) + [b for b in self.spec.defaults.by if b not in (extra_by or [])]
        return f"sum by ({', '.join(by)}) ({inner})" if by else f"sum({inner})"

    def _expr(self, node: ast.Node, window: str, in_agg: bool = False) -> str:
        if isinstance(node, ast.Number):
            return number(node.value)
        if isinstance(node, ast.Var):
            value = self.spec.vars[node.name]
            return number(float(value)) if isinstance(value, int | float) else quote(str(value))
        if isinstance(node, ast.String):
            return quote(node.value)
        if isinstance(node, ast.DurationLit):
            raise CompileError(f"a window ({node.text}) cannot stand alone in PromQL")
        if isinstance(node, ast.Neg):
            return f"-{self._wrap(node.operand, window, 7)}"
        if isinstance(node, ast.BinOp):
            prec = _PRECEDENCE[node.op]
            left = self._wrap(node.left, window, prec + (1 if node.op == "^" else 0))
            right = self._wrap(node.right, window, prec + (0 if node.op == "^" else 1))
            return f"{left} {node.op}{binop_modifiers(node, right)} {right}"
        if isinstance(node, ast.Ref):
            return self._ref(node)
        if isinstance(node, ast.Subquery):
            return self._subquery(node, window)
        if isinstance(node, ast.Call):
            return self._call(node, window)
        raise CompileError(f"cannot compile {type(node).__name__} to PromQL")

    def _wrap(self, node: ast.Node, window: str, min_prec: int) -> str:
        text = self._expr(node, window)
        if isinstance(node, ast.BinOp) and _PRECEDENCE[node.op] < min_prec:
            return f"({text})"
        if isinstance(node, ast.Neg) and min_prec > 6:  # `-x ^ 2` is `-(x ^ 2)` in PromQL
            return f"({text})"
        if (
            isinstance(node, ast.Ref)
            and self.refs.get(node.name, RefInfo("", "")).kind == "derived"
            and node.name not in self.records
        ):
            return f"({text})"
        return text

    def _ref(self, node: ast.Ref) -> str:
        """A selector as PromQL reads it: every series with its own labels (no implicit aggregation)."""
        info = self.refs.get(node.name)
        if info is None:
            raise CompileError(f"unknown name '{node.name}'")
        if info.kind == "derived":
            if node.at:
                raise CompileError(f"'{node.name} @ {node.at}': '@' applies to selectors of catalog metrics")
            return self._shifted_derived(node) if node.offset else self.derived(node.name)
        if info.kind == "event":
            raise CompileError(f"the log event '{node.name}' cannot be queried in PromQL")
        if info.kind == "probe":
            return self.probe_selector(node.name) + _offset(node)
        sel = self._selector(node)
        if node.window:
            sel += f"[{node.window}]"
        return sel + _offset(node)

    def _subquery(self, node: ast.Subquery, window: str) -> str:
        inner = node.expr
        text = self._expr(inner, window)
        if isinstance(inner, ast.BinOp | ast.Neg) or (
            isinstance(inner, ast.Ref) and (inner.offset or inner.at)
        ):
            text = f"({text})"
        step = node.step or ""
        out = f"{text}[{node.range}:{step}]"
        if node.offset:
            out += f" offset {node.offset}"
        if node.at:
            out += f" @ {node.at}"
        return out

    def _range_arg(self, node: ast.Call, index: int, window: str) -> str:
        """The range-vector argument of a range function: `x[5m]` (the window from the selector, the call's
        trailing window argument, or the context), or a subquery."""
        arg = node.args[index]
        if isinstance(arg, ast.Subquery):
            return self._subquery(arg, window)
        if not isinstance(arg, ast.Ref):
            raise CompileError(
                f"{node.func}() of an expression: write a subquery, e.g. {node.func}((...)[1h:5m])"
            )
        info = self.refs.get(arg.name)
        if info is None:
            raise CompileError(f"unknown name '{arg.name}'")
        if info.kind == "derived":
            if arg.name not in self.records:
                raise CompileError(
                    f"{node.func}() of the derived metric '{arg.name}' without a recording rule"
                )
            sel = self.records[arg.name] + self.record_selector()
        elif info.kind == "probe":
            sel = self.probe_selector(arg.name)
        else:
            sel = self._selector(arg)
        last = node.args[-1]
        w = arg.window or (last.text if isinstance(last, ast.DurationLit) and last is not arg else window)
        return f"{sel}[{w}]{_offset(arg)}"

    def _call(self, node: ast.Call, window: str) -> str:
        f = node.func
        args = node.args
        if f in RANGE_FUNCS:
            index = RANGE_ARG.get(f, 0)
            first = args[index]
            info = self.refs.get(first.name) if isinstance(first, ast.Ref) else None
            # `delta` of a counter is `increase` (PromQL's delta ignores resets); of a gauge it is PromQL's delta.
            fn = "increase" if f == "delta" and info is not None and info.kind == "counter" else f
            rest = [a for i, a in enumerate(args) if i != index and not isinstance(a, ast.DurationLit)]
            parts = [self._expr(a, window) for a in args[:index]] + [self._range_arg(node, index, window)]
            parts += [self._expr(a, window) for a in rest if args.index(a) > index]
            return f"{fn}({', '.join(parts)})"
        if f in ("max", "min") and len(args) == 2:
            num = next(a for a in args if isinstance(a, ast.Number | ast.Var))
            other = next(a for a in args if a is not num)
            clamp = "clamp_min" if f == "max" else "clamp_max"
            return f"{clamp}({self._expr(other, window)}, {self._expr(num, window)})"
        if f == "quantile":
            return self._quantile(node, window)
        if f in AGGREGATIONS:
            inner = ", ".join(self._expr(a, window) for a in args)
            return (
                f"{f}{self._by(node.by, node.without)} ({inner})" if node.by is not None else f"{f}({inner})"
            )
        if f in FUNCTIONS:
            return f"{f}({', '.join(self._expr(a, window) for a in args)})"
        raise CompileError(f"{f}() has no PromQL form")

    def _quantile(self, node: ast.Call, window: str) -> str:
        q, target = node.args
        qtext = self._expr(q, window)
        info = self.refs.get(target.name) if isinstance(target, ast.Ref) else None
        if info is None or info.kind not in ("histogram", "summary"):
            inner = f"({qtext}, {self._expr(target, window)})"
            return (
                f"quantile{self._by(node.by, node.without)} {inner}"
                if node.by is not None
                else f"quantile{inner}"
            )
        by = [b for b in (node.by or []) if b != "le"]
        by += [b for b in self.spec.defaults.by if b not in by]
        w = target.window or window
        if info.kind == "summary":
            ref = ast.Ref(target.name, target.matchers + [ast.Matcher("quantile", "=", qtext)])
            sel = self._selector(ref) + _offset(target)
            return f"max by ({', '.join(by)}) ({sel})" if by else f"max({sel})"
        bucket = ast.Ref(f"{target.name}_bucket", target.matchers)
        return (
            f"histogram_quantile({qtext}, sum by ({', '.join(['le'] + by)}) "
            f"(rate({self._selector(bucket)}[{w}]{_offset(target)})))"
        )

    def _shifted_derived(self, ref: ast.Ref) -> str:
        """`derived offset 1d`: its recording rule shifted, or (inline) its expression with every selector shifted."""
        if ref.name in self.records:
            return f"{self.records[ref.name]}{self.record_selector()} offset {ref.offset}"
        d = self.spec.derived[ref.name]
        if d.overrides.promql:
            raise CompileError(
                f"'{ref.name} offset {ref.offset}': the derived metric is a raw PromQL override, "
                "which obsctl cannot shift"
            )
        return self.compile(
            _shift(self.exprs[("derived", ref.name, "expr")], ref.offset),
            d.window or self.spec.defaults.window,
        )
