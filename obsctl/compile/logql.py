"""Compile expressions over log events to LogQL (Loki ruler rules and Grafana log panels).

Two traps handled here: an event's message matches exactly (in seed 000 "refresh cycle completed" must not
count "refresh cycle completed with errors"), and counting no lines at all must give 0, not an empty
result (`count_over_time` of nothing is no series), so counts are `or vector(0)`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..expr import ast
from ..semantics import RefInfo
from .promql import _PRECEDENCE, CompileError, binop_modifiers, number, quote

if TYPE_CHECKING:
    from ..model import Spec


class LogQL:
    def __init__(self, spec: Spec, refs: dict[str, RefInfo]) -> None:
        self.spec = spec
        self.refs = refs

    def selector(self, event_name: str) -> str:
        """The log query selecting exactly this event's lines (for logs panels and inside range functions)."""
        ev = self.spec.events[event_name]
        logs = self.spec.sources.logs
        stream = ", ".join(f"{k}={quote(v)}" for k, v in sorted(ev.stream.items()))
        q = f"{{{stream}}}"
        field = ev.field or (logs.message_field if logs else "msg")
        fmt = logs.format if logs else "text"
        if ev.match == "regex":
            return (
                f"{q} |~ {quote(ev.message)}"
                if fmt == "text"
                else f"{q} | {fmt} | {field}=~{quote(ev.message)}"
            )
        # A cheap line filter first; skipped when JSON escaping could make the raw line differ from the message.
        if fmt == "text" or not re.search(r'["\\\x00-\x1f]|[^\x00-\x7f]', ev.message):
            q += f" |= {quote(ev.message)}"
        if ev.match == "contains":
            return (
                q if fmt == "text" else f"{q} | {fmt} | {field}=~{quote('.*' + re.escape(ev.message) + '.*')}"
            )
        if fmt == "text":
            return f"{{{stream}}} |~ {quote('^' + re.escape(ev.message) + '$')}"
        return f"{q} | {fmt} | {field}={quote(ev.message)}"

    def compile(self, node: ast.Node, window: str | None = None) -> str:
        return self._expr(node, window or self.spec.defaults.window)

    def _by(self, node: ast.Call) -> str:
        if node.by is None:
            by = self.spec.defaults.by
            return f" by ({', '.join(by)}) " if by else ""
        return f" {'without' if node.without else 'by'} ({', '.join(node.by)}) "

    def _expr(self, node: ast.Node, window: str) -> str:
        if isinstance(node, ast.Number):
            return number(node.value)
        if isinstance(node, ast.Var):
            return number(float(self.spec.vars[node.name]))
        if isinstance(node, ast.Neg):
            if isinstance(node.operand, ast.Number | ast.Var):  # a negative number is a literal
                return number(-float(self._expr(node.operand, window)))
            raise CompileError("a negated query (LogQL has no unary minus: write 0 - x)")
        if isinstance(node, ast.BinOp):
            prec = _PRECEDENCE[node.op]
            parts = []
            for side, need in ((node.left, prec), (node.right, prec + 1)):
                text = self._expr(side, window)
                if isinstance(side, ast.BinOp) and _PRECEDENCE[side.op] < need:
                    text = f"({text})"
                parts.append(text)
            return f"{parts[0]} {node.op}{binop_modifiers(node, parts[1])} {parts[1]}"
        if isinstance(node, ast.Call):
            return self._call(node, window)
        if isinstance(node, ast.Ref):
            raise CompileError(f"the log event '{node.name}' must be counted: count({node.name}, 10m)")
        if isinstance(node, ast.Subquery):
            raise CompileError("a subquery (LogQL has none)")
        raise CompileError(f"{type(node).__name__} has no LogQL form")

    def _call(self, node: ast.Call, window: str) -> str:
        f = node.func
        first = node.args[0] if node.args else None
        info = self.refs.get(first.name) if isinstance(first, ast.Ref) else None
        if info is not None and info.kind == "event" and f in ("count", "rate"):
            if first.at:
                raise CompileError(f"'{first.name} @ {first.at}' (LogQL has no '@' modifier)")
            w = first.window or (node.args[1].text if len(node.args) > 1 else window)
            fn = "count_over_time" if f == "count" else "rate"
            offset = f" offset {first.offset}" if first.offset else ""  # LogQL: after the range, as in PromQL
            inner = f"sum{self._by(node)}({fn}({self.selector(first.name)} [{w}]{offset}))"
            # No matching line gives no series at all; `or vector(0)` turns that into the 0 users expect.
            return f"({inner} or vector(0))" if f == "count" else inner
        if f in ("sum", "avg", "min", "max") and len(node.args) == 1:
            return f"{f}{self._by(node)}({self._expr(first, window)})"
        # LogQL has no clamp_min/clamp_max, abs, ceil or floor (Loki's grammar and Grafana's parser refuse them)
        raise CompileError(f"{f}() has no LogQL form here; give overrides.logql")
