"""Stable names every backend agrees on: recording rules, dashboard uids, file names."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from .expr import ast

if TYPE_CHECKING:
    from .model import Spec


def level(spec: Spec) -> str:
    """The `level` of `level:metric:operations`: the labels kept, or the service as a whole."""
    return "_".join(spec.defaults.by) if spec.defaults.by else "service"


def record_name(spec: Spec, name: str, node: ast.Node | None) -> str:
    """Recording-rule name for a derived metric, following Prometheus' `level:metric:operations`."""
    window = spec.derived[name].window or spec.defaults.window
    ops = ""
    if node is not None:
        funcs = [n.func for n in ast.walk(node) if isinstance(n, ast.Call)]
        first = next(
            (
                f
                for f in funcs
                if f
                in (
                    "rate",
                    "irate",
                    "increase",
                    "delta",
                    "deriv",
                    "avg_over_time",
                    "max_over_time",
                    "min_over_time",
                    "sum_over_time",
                )
            ),
            "",
        )
        first = {"delta": "increase"}.get(first, first)
        if "quantile" in funcs or "histogram_quantile" in funcs:
            ops = "quantile"
        elif isinstance(node, ast.BinOp) and node.op == "/":
            ops = f"ratio_{first}{window}" if first else "ratio"
        elif first:
            ops = f"{first}{window}"
    return f"{level(spec)}:{name}:{ops or 'expr'}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def dashboard_uid(service: str, key: str, explicit: str | None = None) -> str:
    """A Grafana uid that stays the same across builds: service and dashboard key, at most 40 characters."""
    if explicit:
        return explicit
    uid = f"{slug(service)}-{slug(key)}"
    if len(uid) <= 40:
        return uid
    digest = hashlib.sha1(uid.encode()).hexdigest()[:8]
    return f"{uid[:31]}-{digest}"
