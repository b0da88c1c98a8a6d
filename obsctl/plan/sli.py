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
    """An SLI as two counters: `events` counts good events (counts_good) or bad ones; `total` counts all."""

    events: Selector
    total: Selector
    counts_good: bool


def sli(plan: Plan, name: str) -> Sli:
    """The SLI of an SLO in counters; BackendError when it counts log events."""
    spec = plan.spec
    s = spec.slos[name].sli

    def source(metric: str) -> tuple[tuple[str, str, str], ...]:
        return tuple(sorted((k, "=", v) for k, v in spec.selector_of(metric).items()))

    if s.latency:
        own = source(s.latency.metric) + tuple(sorted((k, "=", v) for k, v in s.latency.selector.items()))
        return Sli(
            Selector(f"{s.latency.metric}_bucket", own + (le_matcher(s.latency.threshold),)),
            Selector(f"{s.latency.metric}_count", own),
            counts_good=True,
        )
    parts = {}
    for part in ("good", "bad", "total"):
        path = ("slos", name, "sli", part)
        node = plan.slos[name].sli.get(part)
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
    return Sli(parts["good" if counts_good else "bad"], parts["total"], counts_good)


def error_ratio(s: Sli, window: str) -> str:
    """Bad events / all events over `window`, in PromQL. A missing good or bad series counts as zero events."""
    part = f"(sum(rate({s.events}[{window}])) or vector(0))"
    total = f"sum(rate({s.total}[{window}]))"
    return f"1 - {part} / {total}" if s.counts_good else f"{part} / {total}"
