"""The ruler engine (`targets.prometheus.engine`): options set for another engine, and (engine victoriametrics)
the alert conditions whose MetricsQL meaning differs from their PromQL one (docs/targets.md lists the
differences)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..durations import parse_duration
from ..expr import ast
from .expressions import COUNTER_FUNCS

if TYPE_CHECKING:
    from .core import Checker

# Functions Prometheus computes only from two samples inside the window; MetricsQL also reads the one before it.
TWO_SAMPLES = COUNTER_FUNCS | {"deriv"}


def check_engine(c: Checker) -> None:
    t = c.spec.targets.prometheus
    for field, engine, unset in (
        ("source_tenants", "mimir", []),
        ("partial_response_strategy", "thanos", "abort"),
        ("concurrency", "victoriametrics", 1),
    ):
        if getattr(t, field) != unset and t.engine != engine:
            c.report(
                "OBS730",
                "warning",
                f"targets.prometheus.{field} is read with engine {engine} only, and the engine is {t.engine}",
                ("targets", "prometheus", field),
                f"set engine: {engine}, or remove it",
            )
    if t.engine != "victoriametrics":
        return
    scrape = max(
        [
            parse_duration(j.interval or c.spec.sources.metrics.scrape_interval)
            for j in c.spec.sources.metrics.jobs(c.spec.service)
        ]
        or [parse_duration(c.spec.sources.metrics.scrape_interval)]
    )
    for name, alert in c.spec.alerts.items():
        if alert.overrides.promql:
            continue  # raw PromQL: obsctl does not read it
        if alert.keep_firing_for:
            c.report(
                "OBS731",
                "warning",
                f"alert '{name}' sets keep_firing_for, which vmalert before 1.90 (Debian's "
                "1.79 among them) refuses to load",
                ("alerts", name, "keep_firing_for"),
                "use a vmalert of 1.90 or later, or drop keep_firing_for for this engine",
            )
        for field in ("when", "only_if"):
            node = c.out.exprs.get(("alerts", name, field))
            if node is not None:
                _check_tree(c, node, ("alerts", name, field), c.spec.defaults.window, scrape)


def _check_tree(c: Checker, node: ast.Node, path: tuple, window: str, scrape: float) -> None:
    for n in ast.walk(node):
        if isinstance(n, ast.BinOp) and n.op in ast.COMPARISONS:
            for side, other in ((n.left, n.right), (n.right, n.left)):
                if isinstance(other, ast.Number | ast.Var) and _is_increase(c, side):
                    c.report(
                        "OBS291",
                        "warning",
                        "on VictoriaMetrics this increase is the exact difference of the "
                        "samples (and the one before the window), not extrapolated to the window's edges as "
                        "Prometheus does: near the threshold the alert fires at a different count",
                        path,
                        "compare a ratio of two increases (unaffected), or accept it with lint.accept",
                        n.pos,
                    )
                    break
        if (w := _short_window(n, window, scrape)) is not None:
            c.report(
                "OBS290",
                "warning",
                f"{n.func}() over {w}, less than two scrape intervals: Prometheus "
                "returns nothing when the window holds one sample, VictoriaMetrics reads the sample before "
                "the window and returns a value, so the alert can fire there and not on Prometheus",
                path,
                "use a window of at least two scrape intervals (four is safer)",
                n.pos,
            )
        if isinstance(n, ast.Ref) and n.name in c.spec.derived:
            d = c.spec.derived[n.name]
            inner = c.out.exprs.get(("derived", n.name, "expr"))
            if inner is not None and not d.overrides.promql:
                # A derived metric's windows are its own; it is reported at the alert that reads it.
                _check_windows_only(c, n.name, inner, path, d.window or c.spec.defaults.window, scrape)


def _short_window(n: ast.Node, window: str, scrape: float) -> str | None:
    """The window of a rate-like call over a selector when it holds fewer than two scrape intervals, else None."""
    if not (isinstance(n, ast.Call) and n.func in TWO_SAMPLES and n.args and isinstance(n.args[0], ast.Ref)):
        return None
    arg = n.args[1] if len(n.args) > 1 and isinstance(n.args[1], ast.DurationLit) else None
    w = n.args[0].window or (arg.text if arg is not None else window)
    return w if parse_duration(w) < 2 * scrape else None


def _check_windows_only(
    c: Checker, derived: str, node: ast.Node, path: tuple, window: str, scrape: float
) -> None:
    for n in ast.walk(node):
        if (w := _short_window(n, window, scrape)) is not None:
            c.report(
                "OBS290",
                "warning",
                f"{n.func}() over {w} in derived metric '{derived}', "
                "less than two scrape intervals: Prometheus returns nothing when the window holds one "
                "sample, VictoriaMetrics returns a value, so the alert can fire there and not on Prometheus",
                path,
                "use a window of at least two scrape intervals (four is safer)",
            )


def _is_increase(c: Checker, node: ast.Node) -> bool:
    """Whether `node` is a counter's increase (`delta`/`increase` of a counter), or a sum/max/min of one, or a
    derived metric that is one: compared with a number, extrapolation decides."""
    if (
        isinstance(node, ast.Call)
        and node.func in ("delta", "increase")
        and node.args
        and isinstance(node.args[0], ast.Ref)
    ):
        info = c.out.refs.get(node.args[0].name)
        return info is not None and info.kind == "counter"
    if isinstance(node, ast.Call) and node.func in ("sum", "max", "min") and len(node.args) == 1:
        return _is_increase(c, node.args[0])
    if isinstance(node, ast.Ref) and node.name in c.spec.derived and not node.window and not node.offset:
        inner = c.out.exprs.get(("derived", node.name, "expr"))
        return inner is not None and not c.spec.derived[node.name].overrides.promql and _is_increase(c, inner)
    return False
