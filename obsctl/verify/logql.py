"""LogQL syntax check with Grafana's real parser (@grafana/lezer-logql), run by node.

The node side lives in tools/logql-check (install: `npm ci --prefix tools/logql-check`). Expressions
are checked in batches, one node process per batch, because process start-up dominates the cost.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from obsctl.verify.tools import logql_checker


@dataclass(frozen=True)
class LogqlResult:
    """Parse result of one expression."""

    ok: bool
    error_positions: tuple[int, ...]  # offsets into the Python string
    top: str | None  # node under LogQL > Expr: "MetricExpr", "LogExpr", or None when there is none

    @property
    def is_metric(self) -> bool:
        return self.top == "MetricExpr"


def _py_offset(expr: str, js_offset: int) -> int:
    # lezer reports UTF-16 code-unit offsets; Python indexes code points.
    return len(expr.encode("utf-16-le")[: 2 * js_offset].decode("utf-16-le", errors="ignore"))


def check_logql(exprs: Sequence[str]) -> list[LogqlResult]:
    """Parse every expression in one node run; raises ToolMissing when node or the checker is absent."""
    if not exprs:
        return []
    node, script = logql_checker()
    proc = subprocess.run(
        [node, str(script)],
        input=json.dumps(list(exprs)),
        capture_output=True,
        text=True,
        cwd=script.parent,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"logql-check failed (exit {proc.returncode}): {proc.stderr.strip()}")
    raw = json.loads(proc.stdout)
    return [
        LogqlResult(
            ok=r["ok"],
            error_positions=tuple(_py_offset(e, p) for p in r["error_positions"]),
            top=r["top"],
        )
        for e, r in zip(exprs, raw, strict=True)
    ]


def describe_error(expr: str, offset: int) -> str:
    """Human-readable position of a syntax error: line:col and the text at that point."""
    before = expr[:offset]
    line = before.count("\n") + 1
    col = offset - (before.rfind("\n") + 1) + 1
    near = expr[offset : offset + 20].split("\n", 1)[0]
    return f"LogQL syntax error at {line}:{col}" + (
        f" near {near!r}" if near else " (unexpected end of query)"
    )


def logql_errors(exprs: Sequence[str]) -> list[str | None]:
    """For each expression: an error message (first error position), or None when it parses."""
    return [
        None if r.ok else describe_error(e, r.error_positions[0] if r.error_positions else 0)
        for e, r in zip(exprs, check_logql(exprs), strict=True)
    ]


def is_metric_query(expr: str) -> bool:
    """True when the top node is a metric expression (what a Loki alert/recording `expr` must be).

    A log query such as `{app="x"} |= "error"` parses, but returns log lines, not a vector.
    """
    return check_logql([expr])[0].is_metric
