"""SLOs: objectives, SLIs (counters, latency buckets, log events), tiers and alerting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import did_you_mean
from ..durations import parse_duration
from .expressions import is_event_selector

if TYPE_CHECKING:
    from .core import Checker


def check_slos(c: Checker) -> None:
    from ..slo import burn_threshold, can_fire, effective_tiers, error_budget

    s = c.spec
    severities = set(s.routing.severities) if s.routing else set()
    for name, slo in s.slos.items():
        base = ("slos", name)
        sli = slo.sli
        for part in ("good", "bad", "total"):
            node = c.expr(getattr(sli, part), base + ("sli", part), allow_events=True)
            if node is not None and not is_event_selector(node, c.out.refs):
                c.report(
                    "OBS403",
                    "error",
                    f"sli.{part} names the events to count: a counter or a log event, "
                    "optionally with label matchers",
                    base + ("sli", part),
                    'e.g. total: api_requests_total, bad: api_requests_total{code=~"5.."}',
                    node.pos,
                )
        if sli.latency:
            m = s.metrics.get(sli.latency.metric)
            lpath = base + ("sli", "latency", "metric")
            if m is None:
                c.report(
                    "OBS201",
                    "error",
                    f"unknown metric '{sli.latency.metric}'",
                    lpath,
                    did_you_mean(sli.latency.metric, s.metrics),
                )
            elif m.kind != "histogram":
                c.report(
                    "OBS401",
                    "error",
                    f"a latency SLI needs a histogram; '{sli.latency.metric}' is a {m.kind}",
                    lpath,
                )
            elif m.buckets and sli.latency.threshold not in m.buckets:
                c.report(
                    "OBS401",
                    "error",
                    f"threshold {sli.latency.threshold:g} is not a bucket boundary of '{sli.latency.metric}'",
                    base + ("sli", "latency", "threshold"),
                    f"buckets: {', '.join(f'{b:g}' for b in m.buckets)}",
                )
            elif not m.buckets:
                c.report(
                    "OBS404",
                    "warning",
                    f"'{sli.latency.metric}' declares no buckets; obsctl cannot check "
                    "that the threshold is a bucket boundary",
                    lpath,
                    "add buckets: [...] to the metric",
                )
        al = slo.alerting
        for fld in ("page_severity", "ticket_severity"):
            sev = getattr(al, fld)
            if sev is not None and s.routing is not None and sev not in severities:
                c.report(
                    "OBS301",
                    "error",
                    f"severity '{sev}' has no route",
                    base + ("alerting", fld),
                    did_you_mean(sev, severities),
                )
        if al.enabled and s.routing is not None and not al.page_severity and not al.ticket_severity:
            c.report(
                "OBS405",
                "warning",
                f"SLO '{name}' alerts with no severity",
                base + ("alerting",),
                "set alerting.page_severity and alerting.ticket_severity",
                key=True,
            )
        budget = error_budget(slo)
        period = parse_duration(slo.period)
        for i, tier in enumerate(effective_tiers(slo)):
            tpath = base + ("alerting", "tiers", i) if al.tiers else base + ("objective",)
            if parse_duration(tier.long) > period:
                c.report(
                    "OBS406",
                    "error",
                    f"tier '{tier.name}': window {tier.long} is longer than the period {slo.period}",
                    tpath,
                )
            if al.enabled and tier.enabled and tier.factor < 1:
                where = tpath if al.tiers else base + ("period",)
                c.report(
                    "OBS412",
                    "warning",
                    f"tier '{tier.name}' fires at a burn rate of {tier.factor:g}, below 1: it "
                    f"alerts while the service stays within its {slo.period} budget",
                    where,
                    "give alerting.tiers with factors of 1 or more, or use a period with default tiers "
                    "(7d, 28d, 30d)",
                )
            # the alert compares `ratio > factor x budget` and a ratio is at most 1: at exactly 1 it cannot fire
            if al.enabled and tier.enabled and not can_fire(slo, tier):
                c.report(
                    "OBS402",
                    "warning",
                    f"tier '{tier.name}' can never fire: burn rate {tier.factor:g} x "
                    f"budget {budget:.4g} needs an error ratio above {burn_threshold(slo, tier):.0%}",
                    tpath,
                    f"disable this tier (enabled: false) or give it a factor below {1 / budget:.4g}",
                )
            if parse_duration(tier.short) >= parse_duration(tier.long):
                c.report(
                    "OBS407",
                    "error",
                    f"tier '{tier.name}': the short window must be shorter than the long",
                    tpath,
                )
