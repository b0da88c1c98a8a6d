"""Test helper: translate real PromQL into obsctl's expression language, with the metrics catalog it needs, and
print PromQL trees in one canonical form (no redundant parentheses, one spelling) to compare them.

Both directions walk promql-parser's tree, never the text: the translation is mechanical, not by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import promql_parser as pp

from obsctl.compile.promql import number

_PREC = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
         "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
_COUNTER_FUNCS = {"rate", "irate", "increase", "resets"}


class Untranslatable(ValueError):
    """A construct obsctl's language has no spelling for."""


@dataclass
class Translation:
    text: str
    counters: set[str] = field(default_factory=set)
    gauges: set[str] = field(default_factory=set)
    histograms: set[str] = field(default_factory=set)

    def catalog(self) -> dict[str, dict]:
        """The spec's `metrics:`: a histogram for each `_bucket` series, counters where rate() reads them."""
        out: dict[str, dict] = {h: {"kind": "histogram"} for h in self.histograms}
        parts = {f"{h}_{p}" for h in self.histograms for p in ("bucket", "sum", "count")}
        for name in sorted(self.gauges - parts):
            out[name] = {"kind": "gauge"}
        for name in sorted(self.counters - parts):
            out[name] = {"kind": "counter"}
        return out


def _dur(td) -> str:
    return pp.display_duration(td)


def _op(e) -> str:
    return str(e.op).lower()


def _matchers(vs) -> str:
    ms = [m for m in vs.matchers.matchers if not (m.name == "__name__")]
    if vs.matchers.or_matchers:
        raise Untranslatable("a selector with `or` between matcher sets")
    ops = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
    return ", ".join(f"{m.name}{ops[str(m.op)]}{json.dumps(m.value, ensure_ascii=False)}" for m in ms)


def _at(at) -> str:
    if at is None:
        return ""
    kind = str(at.type).rsplit(".", 1)[-1]
    if kind == "Start":
        return " @ start()"
    if kind == "End":
        return " @ end()"
    return f" @ {number(at.at.timestamp())}"


def _modifiers(e) -> str:
    mod = e.modifier
    if mod is None:
        return ""
    out = " bool" if mod.return_bool else ""
    m = mod.matching
    if m is not None:
        on = str(m.type).endswith("Include")
        out += f" {'on' if on else 'ignoring'} ({', '.join(m.labels)})"
    card = str(mod.card).rsplit(".", 1)[-1]
    if card in ("ManyToOne", "OneToMany"):
        side = "left" if card == "ManyToOne" else "right"
        if m is None:
            out += " ignoring ()"
        out += f" group_{side} ({', '.join(mod.group_labels or [])})"
    return out


class Printer:
    """One canonical text of a promql-parser tree; with `collect`, records each selector's metric kind."""

    def __init__(self, t: Translation | None = None) -> None:
        self.t = t

    def expr(self, e, parent_func: str | None = None) -> str:
        if isinstance(e, pp.ParenExpr):
            return self.expr(e.expr, parent_func)
        if isinstance(e, pp.NumberLiteral):
            return number(e.val)
        if isinstance(e, pp.StringLiteral):
            return json.dumps(e.val, ensure_ascii=False)
        if isinstance(e, pp.UnaryExpr):
            inner = self.expr(e.expr)
            return f"-({inner})" if isinstance(_strip(e.expr), pp.BinaryExpr) else f"-{inner}"
        if isinstance(e, pp.VectorSelector):
            return self.selector(e, None, parent_func)
        if isinstance(e, pp.MatrixSelector):
            return self.selector(e.vector_selector, e.range, parent_func)
        if isinstance(e, pp.SubqueryExpr):
            inner_e = _strip(e.expr)
            inner = self.expr(e.expr)
            if isinstance(inner_e, pp.BinaryExpr | pp.UnaryExpr):
                inner = f"({inner})"
            step = _dur(e.step) if e.step else ""
            out = f"{inner}[{_dur(e.range)}:{step}]"
            if e.offset:
                out += f" offset {_dur(e.offset)}"
            return out + _at(e.at)
        if isinstance(e, pp.Call):
            name = e.func.name
            args = ", ".join(self.expr(a, name) for a in e.args)
            return f"{name}({args})"
        if isinstance(e, pp.AggregateExpr):
            op = _op(e)
            args = ([self.expr(e.param)] if e.param is not None else []) + [self.expr(e.expr)]
            mod = e.modifier
            if mod is None:
                return f"{op}({', '.join(args)})"
            kw = "without" if str(mod.type).endswith("Without") else "by"
            return f"{op} {kw} ({', '.join(mod.labels)}) ({', '.join(args)})"
        if isinstance(e, pp.BinaryExpr):
            op = _op(e)
            prec = _PREC[op]
            right_assoc = op == "^"
            left = self.side(e.lhs, prec + (1 if right_assoc else 0))
            right = self.side(e.rhs, prec + (0 if right_assoc else 1))
            return f"{left} {op}{_modifiers(e)} {right}"
        raise Untranslatable(f"{type(e).__name__}")

    def side(self, e, min_prec: int) -> str:
        text = self.expr(e)
        inner = _strip(e)
        if isinstance(inner, pp.BinaryExpr) and _PREC[_op(inner)] < min_prec:
            return f"({text})"
        if isinstance(inner, pp.UnaryExpr) and min_prec > 6:
            return f"({text})"
        return text

    def selector(self, vs, rng, parent_func: str | None) -> str:
        if not vs.name:
            raise Untranslatable("a selector without a metric name ({__name__=~...})")
        if self.t is not None:
            if vs.name.endswith("_bucket"):
                self.t.histograms.add(vs.name.removesuffix("_bucket"))
            (self.t.counters if parent_func in _COUNTER_FUNCS else self.t.gauges).add(vs.name)
        m = _matchers(vs)
        out = vs.name + (f"{{{m}}}" if m else "")
        if rng is not None:
            out += f"[{_dur(rng)}]"
        if vs.offset:
            out += f" offset {_dur(vs.offset)}"
        return out + _at(vs.at)


def _strip(e):
    while isinstance(e, pp.ParenExpr):
        e = e.expr
    return e


def translate(promql: str) -> Translation:
    """obsctl's expression text for a PromQL expression, and the kinds of the metrics it reads."""
    t = Translation("")
    t.text = Printer(t).expr(pp.parse(promql))
    return t


def normal(promql: str) -> str:
    """The canonical form of a PromQL expression's tree: spacing, case, redundant parentheses normalised."""
    return Printer().expr(pp.parse(promql))
