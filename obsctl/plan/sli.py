"""An SLO's SLI as the counters PromQL reads, shared by the Prometheus SLO rules and the Grafana SLO panels so
dashboards and alerts agree. Latency SLIs count the bucket `le="<threshold>"` as good, matching every way client
libraries print the bound (Go `1`, Python and OpenMetrics `1.0`, JavaScript `1e-7`): see `le_values`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..compile.promql import matchers_text
from ..diagnostics import BackendError
from ..expr import ast
from ..gonum import go_float, shortest_digits
from ..slo import latency_matchers

if TYPE_CHECKING:
    from . import Plan


# --- histogram bounds -------------------------------------------------------------------------------------------


def le_values(bound: float) -> list[str]:
    """Every spelling of a bucket bound in the `le` label: Go's client (`1`, `0.5`, `1e-05`), Python's (`1.0`),
    OpenMetrics and Prometheus 3, which normalise to `1.0`, and JavaScript's prom-client (`1e-7`)."""
    if math.isinf(bound):
        return ["+Inf"]
    return sorted({go_float(bound), _go_openmetrics(bound), _python(bound), _javascript(bound)})


def le_matcher(bound: float) -> tuple[str, str, str]:
    """A matcher for one bucket whatever library exposed it: le="0.5", or le=~"1|1\\.0" when spellings differ."""
    values = le_values(bound)
    if len(values) == 1:
        return ("le", "=", values[0])
    return ("le", "=~", "|".join(v.replace(".", r"\.").replace("+", r"\+") for v in values))


def _go_openmetrics(x: float) -> str:
    text = go_float(x)
    return text if "e" in text or "." in text else text + ".0"


def _python(x: float) -> str:
    # prometheus_client.utils.floatToGoString
    text = repr(float(x))
    dot = text.find(".")
    if x > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+0{dot - 1}"
    return text


def _javascript(x: float) -> str:
    # Number.prototype.toString
    if x == 0:
        return "0"
    d, n = shortest_digits(x)
    neg = "-" if x < 0 else ""
    k = len(d)
    if k <= n <= 21:
        return neg + d + "0" * (n - k)
    if 0 < n <= 21:
        return f"{neg}{d[:n]}.{d[n:]}"
    if -6 < n <= 0:
        return f"{neg}0.{'0' * -n}{d}"
    mant = d[0] + ("." + d[1:] if k > 1 else "")
    return f"{neg}{mant}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


# --- SLIs ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """A series selector: metric name and (label, op, value) matchers."""

    metric: str
    matchers: tuple[tuple[str, str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.metric}{{{matchers_text(list(self.matchers))}}}" if self.matchers else self.metric


@dataclass(frozen=True)
class Sli:
    """An SLI as two counters: `events` counts good events (counts_good) or bad ones; `total` counts all.

    `keep`: the labels the aggregations keep (`sum by (keep)`): the SLO's `by:` labels, and labels both selectors
    pin to one value that the records do not already carry (a latency selector's `handler="/api"`), so the alerts
    keep them and a route on them matches. `exprs`: for an SLI written as expressions with `${window}` (parts
    good/bad/total or error_ratio), used as written for each window; then events/total are None."""

    events: Selector | None
    total: Selector | None
    counts_good: bool
    keep: tuple[str, ...] = ()
    exprs: dict[str, ast.Node] | None = None

    @property
    def agg(self) -> str:
        return f"sum by ({', '.join(self.keep)}) " if self.keep else "sum"


def sli(plan: Plan, name: str) -> Sli:
    """The SLI of an SLO in counters (or expressions); BackendError when it counts log events."""
    spec = plan.spec
    slo = spec.slos[name]
    s = slo.sli
    static = set(spec.sources.metrics.selector) | set(slo.labels)

    def source(metric: str) -> tuple[tuple[str, str, str], ...]:
        return tuple(sorted((k, "=", v) for k, v in spec.selector_of(metric).items()))

    def keep(*selectors: Selector) -> tuple[str, ...]:
        pinned = [{(k, v) for k, op, v in sel.matchers if op == "="} for sel in selectors]
        common = set.intersection(*pinned) if pinned else set()
        extra = sorted({k for k, _ in common} - static - set(slo.by))
        return tuple(slo.by) + tuple(extra)

    if s.latency:
        own = source(s.latency.metric) + tuple(latency_matchers(s.latency.selector))
        count = Selector(f"{s.latency.metric}_count", own)
        return Sli(
            Selector(f"{s.latency.metric}_bucket", own + (le_matcher(s.latency.threshold),)),
            count,
            counts_good=True,
            keep=keep(count),
        )
    nodes = plan.slos[name].sli
    if any(ast.has_window(n) for n in nodes.values()):
        return Sli(None, None, counts_good="good" in nodes, keep=tuple(slo.by), exprs=dict(nodes))
    parts = {}
    for part in ("good", "bad", "total"):
        path = ("slos", name, "sli", part)
        node = nodes.get(part)
        if node is None:
            continue
        info = plan.ref(node.name) if isinstance(node, ast.Ref) else None
        if info is not None and info.kind == "event":
            raise BackendError(
                [
                    plan.error(
                        "OBS410",
                        f"SLO '{name}': sli.{part} counts the log event '{node.name}'; Prometheus SLO rules count "
                        "metrics",
                        path,
                        "count the event with a Loki recording rule, declare the recorded series under "
                        "metrics: as a counter, and name it here",
                    )
                ]
            )
        if not isinstance(node, ast.Ref):
            raise BackendError([plan.error("OBS403", f"SLO '{name}': sli.{part} must name a counter", path)])
        target = info.target if info is not None else node.name
        parts[part] = Selector(
            node.name, source(target) + tuple((m.label, m.op, m.value) for m in node.matchers)
        )
    counts_good = "good" in parts
    events = parts["good" if counts_good else "bad"]
    return Sli(events, parts["total"], counts_good, keep=keep(events, parts["total"]))


def event_rate(s: Sli, window: str) -> str:
    """The good (or bad) events per second over `window`; a missing series counts as zero events. With labels
    kept, zero per kept value (`or 0 * total`): `vector(0)` has no labels and would match no objective."""
    rate = f"{s.agg}(rate({s.events}[{window}]))"
    if not s.keep:
        return f"({rate} or vector(0))"
    return f"({rate} or 0 * {total_rate(s, window)})"


def total_rate(s: Sli, window: str) -> str:
    return f"{s.agg}(rate({s.total}[{window}]))"


def error_ratio(s: Sli, window: str, plan: Plan | None = None) -> str:
    """Bad events / all events over `window`, in PromQL. A missing good or bad series counts as zero events.
    An SLI of expressions is compiled as written with `${window}` = `window` (needs `plan`)."""
    if s.exprs is not None:
        assert plan is not None
        promql = plan.promql()

        def text(part: str) -> str:
            return promql.compile(ast.with_window(s.exprs[part], window), window)

        if "error_ratio" in s.exprs:
            return text("error_ratio")
        ratio = f"({text('good' if s.counts_good else 'bad')}) / ({text('total')})"
        return f"1 - {ratio}" if s.counts_good else ratio
    part = event_rate(s, window)
    total = total_rate(s, window)
    return f"1 - {part} / {total}" if s.counts_good else f"{part} / {total}"
