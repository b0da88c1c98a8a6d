"""Compile the neutral expression tree to PromQL.

Meaning, not spelling: `delta` of a counter is `increase` (PromQL's `delta` is for gauges and ignores resets);
a counter function outside an aggregation is combined with the metric's `aggregate` (sum by default) keeping
`defaults.by`, so ratios divide aggregated numerators by aggregated denominators; `max(x, 1)` is `clamp_min`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING

from ..expr import ast
from ..semantics import RANGE_FUNCS, RefInfo

if TYPE_CHECKING:
    from ..model import Spec


_VARIABLE = re.compile(r"\$(\{?[A-Za-z_]\w*)")  # a Grafana variable: $env, ${env}


class CompileError(ValueError):
    """A construct the target cannot express; names the construct."""


# PromQL binary operator precedence, loosest first.
_PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
               "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "^": 6}


def number(value: float) -> str:
    """Numbers as people write them: 1, 0.05, 1e-05."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def quote(value: str) -> str:
    """A PromQL/LogQL double-quoted string (Go escaping)."""
    return json.dumps(value, ensure_ascii=False)


def matchers_text(pairs: list[tuple[str, str, str]]) -> str:
    return ", ".join(f"{k}{op}{quote(v)}" for k, op, v in pairs)


def _offset(ref: ast.Ref) -> str:
    """PromQL's offset modifier, which follows the selector (and its range)."""
    return f" offset {ref.offset}" if ref.offset else ""


def _shift(node: ast.Node, offset: str) -> ast.Node:
    """A copy of `node` evaluated `offset` earlier: every selector in it gets the offset."""
    if isinstance(node, ast.Ref):
        if node.offset:
            raise CompileError(f"an offset of an offset ('{node.name} offset {node.offset}' inside another offset)")
        return dataclasses.replace(node, offset=offset)
    if isinstance(node, ast.Call):
        return dataclasses.replace(node, args=[_shift(a, offset) for a in node.args])
    if isinstance(node, ast.BinOp):
        return dataclasses.replace(node, left=_shift(node.left, offset), right=_shift(node.right, offset))
    if isinstance(node, ast.Neg):
        return dataclasses.replace(node, operand=_shift(node.operand, offset))
    return node


class PromQL:
    """Compiles expressions of one spec. `records` maps derived names to recording-rule names to query instead."""

    def __init__(self, spec: Spec, refs: dict[str, RefInfo], exprs: dict[tuple, ast.Node],
                 records: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.refs = refs
        self.exprs = exprs
        self.records = records or {}

    # -- public -------------------------------------------------------------------------------------------
    def compile(self, node: ast.Node, window: str | None = None) -> str:
        return self._expr(node, window or self.spec.defaults.window, in_agg=False)

    def derived(self, name: str, inline: bool = False) -> str:
        """A derived metric's PromQL: its record name, or (inline) its whole expression."""
        if not inline and name in self.records:
            return self.records[name] + self.record_selector()
        d = self.spec.derived[name]
        if d.overrides.promql:
            return d.overrides.promql
        return self.compile(self.exprs[("derived", name, "expr")], d.window or self.spec.defaults.window)

    def record_selector(self) -> str:
        """Matchers that pick this spec's own recordings: the metric source's selector, which recording rules carry
        as labels, so services and environments sharing a Prometheus never read each other's records."""
        pairs = sorted((k, "=", v) for k, v in self.spec.sources.metrics.selector.items())
        return f"{{{matchers_text(pairs)}}}" if pairs else ""

    def probe_selector(self, name: str) -> str:
        probe = self.spec.sources.probes[name]
        return f"probe_success{{{matchers_text([('instance', '=', probe.url)])}}}"

    def output_labels(self, node: ast.Node) -> set[str] | None:
        """Labels an expression's result keeps: a set when aggregated, None when it keeps raw series labels."""
        if isinstance(node, ast.Number | ast.Var):
            return set()
        if isinstance(node, ast.Call):
            if node.func in ("sum", "avg", "min", "max", "count") and len(node.args) == 1:
                return set(node.by or []) if not node.without else None
            if node.func in RANGE_FUNCS or node.func == "quantile":
                return set(node.by or self.spec.defaults.by)
            return self.output_labels(node.args[-1]) if node.args else set()
        if isinstance(node, ast.BinOp):
            left, right = self.output_labels(node.left), self.output_labels(node.right)
            return left if left is not None and right is not None and left >= right else (left or right)
        if isinstance(node, ast.Neg):
            return self.output_labels(node.operand)
        if isinstance(node, ast.Ref):
            info = self.refs.get(node.name)
            if info and info.kind == "derived":
                return self.output_labels(self.exprs.get(("derived", node.name, "expr"), ast.Number(0)))
            if info and info.kind in ("gauge", "counter"):
                return set(self.spec.defaults.by)
        return None

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

    def _implicit(self, metric: str, inner: str, extra_by: list[str] | None = None) -> str:
        m = self.spec.metrics.get(metric)
        agg = m.aggregate if m else "sum"
        by = list(extra_by or []) + [b for b in self.spec.defaults.by if b not in (extra_by or [])]
        return f"{agg} by ({', '.join(by)}) ({inner})" if by else f"{agg}({inner})"

    def _expr(self, node: ast.Node, window: str, in_agg: bool) -> str:
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
            return f"-{self._wrap(node.operand, window, in_agg, 7)}"
        if isinstance(node, ast.BinOp):
            prec = _PRECEDENCE[node.op]
            left = self._wrap(node.left, window, in_agg, prec)
            right = self._wrap(node.right, window, in_agg, prec + (0 if node.op == "^" else 1))
            return f"{left} {node.op} {right}"
        if isinstance(node, ast.Ref):
            return self._ref(node, in_agg)
        if isinstance(node, ast.Call):
            return self._call(node, window, in_agg)
        raise CompileError(f"cannot compile {type(node).__name__} to PromQL")

    def _wrap(self, node: ast.Node, window: str, in_agg: bool, min_prec: int) -> str:
        text = self._expr(node, window, in_agg)
        if isinstance(node, ast.BinOp) and _PRECEDENCE[node.op] < min_prec:
            return f"({text})"
        if isinstance(node, ast.Ref) and self.refs.get(node.name, RefInfo("", "")).kind == "derived" \
                and node.name not in self.records:
            return f"({text})"
        return text

    def _ref(self, node: ast.Ref, in_agg: bool) -> str:
        info = self.refs.get(node.name)
        if info is None:
            raise CompileError(f"unknown name '{node.name}'")
        if info.kind == "derived":
            return self._shifted_derived(node) if node.offset else self.derived(node.name)
        if info.kind == "event":
            raise CompileError(f"the log event '{node.name}' cannot be queried in PromQL")
        if info.kind == "probe":
            return self.probe_selector(node.name) + _offset(node)
        sel = self._selector(node)
        if node.window:
            sel += f"[{node.window}]"
        sel += _offset(node)
        if in_agg or node.window:
            return sel
        return self._implicit(info.target, sel)

    def _call(self, node: ast.Call, window: str, in_agg: bool) -> str:
        f = node.func
        args = node.args
        if f in RANGE_FUNCS:
            ref = args[0]
            info = self.refs[ref.name]
            w = ref.window or (args[1].text if len(args) > 1 else window)
            fn = "increase" if f == "delta" and info.kind == "counter" else f
            inner = f"{fn}({self._selector(ref)}[{w}]{_offset(ref)})"
            if in_agg:
                return inner
            return self._implicit(info.target, inner)
        if f in ("sum", "avg", "min", "max", "count") and len(args) == 1:
            inner = self._expr(args[0], window, in_agg=True)
            return f"{f}{self._by(node.by, node.without)} ({inner})" if node.by is not None else f"{f}({inner})"
        if f in ("max", "min"):
            num = next(a for a in args if isinstance(a, ast.Number | ast.Var))
            other = next(a for a in args if a is not num)
            clamp = "clamp_min" if f == "max" else "clamp_max"
            return f"{clamp}({self._expr(other, window, in_agg)}, {self._expr(num, window, in_agg)})"
        if f in ("topk", "bottomk"):
            return f"{f}{self._by(node.by, node.without)}({self._expr(args[0], window, True)}, " \
                   f"{self._expr(args[1], window, True)})"
        if f == "quantile":
            return self._quantile(node, window)
        if f == "histogram_quantile":
            return f"histogram_quantile({self._expr(args[0], window, True)}, {self._expr(args[1], window, True)})"
        if f == "absent":
            return f"absent({self._expr(args[0], window, True)})"
        if f == "round" and len(args) == 2:
            return f"round({self._expr(args[0], window, in_agg)}, {self._expr(args[1], window, in_agg)})"
        if f in ("clamp_min", "clamp_max"):
            return f"{f}({self._expr(args[0], window, in_agg)}, {self._expr(args[1], window, in_agg)})"
        if f in ("abs", "ceil", "floor", "round"):
            return f"{f}({self._expr(args[0], window, in_agg)})"
        raise CompileError(f"{f}() has no PromQL form")

    def _quantile(self, node: ast.Call, window: str) -> str:
        q, target = node.args
        qtext = self._expr(q, window, True)
        info = self.refs.get(target.name) if isinstance(target, ast.Ref) else None
        if info is None or info.kind not in ("histogram", "summary"):
            return f"quantile{self._by(node.by, node.without)}({qtext}, {self._expr(target, window, True)})"
        by = [b for b in (node.by or []) if b != "le"]
        by += [b for b in self.spec.defaults.by if b not in by]
        w = target.window or window
        if info.kind == "summary":
            ref = ast.Ref(target.name, target.matchers + [ast.Matcher("quantile", "=", qtext)])
            sel = self._selector(ref) + _offset(target)
            return f"max by ({', '.join(by)}) ({sel})" if by else f"max({sel})"
        bucket = ast.Ref(f"{target.name}_bucket", target.matchers)
        return f"histogram_quantile({qtext}, sum by ({', '.join(['le'] + by)}) " \
               f"(rate({self._selector(bucket)}[{w}]{_offset(target)})))"

    def _shifted_derived(self, ref: ast.Ref) -> str:
        """`derived offset 1d`: its recording rule shifted, or (inline) its expression with every selector shifted."""
        if ref.name in self.records:
            return f"{self.records[ref.name]}{self.record_selector()} offset {ref.offset}"
        d = self.spec.derived[ref.name]
        if d.overrides.promql:
            raise CompileError(f"'{ref.name} offset {ref.offset}': the derived metric is a raw PromQL override, "
                               "which obsctl cannot shift")
        return self.compile(_shift(self.exprs[("derived", ref.name, "expr")], ref.offset),
                            d.window or self.spec.defaults.window)
