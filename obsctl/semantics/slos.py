"""SLOs: objectives, SLIs (counters, latency buckets, log events), tiers and alerting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import did_you_mean
from ..durations import parse_duration
from ..expr import ast
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
        _check_sli_parts(c, name)
        if sli.latency:
            _check_latency_selector(c, sli.latency.selector, base + ("sli", "latency", "selector"))
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


def _check_latency_selector(c: Checker, selector: dict[str, str] | str, path: tuple) -> None:
    """The mapping form is equality only: a value that reads like an operator (`verb: "!WATCH"`) would select
    the literal text `!WATCH`, so it is an error; the string form must parse as PromQL matchers."""
    from ..expr.parser import ExprSyntaxError
    from ..slo import latency_matchers

    if isinstance(selector, dict):
        for label, value in selector.items():
            if value.startswith(("!", "=~")):
                c.report(
                    "OBS413",
                    "error",
                    f"latency selector {label}: {value!r} reads like an operator, but the mapping form "
                    f"matches the text {value!r} exactly",
                    path + (label,),
                    f"write the selector as PromQL matchers: selector: '{_as_matcher(label, value)}'",
                )
        return
    try:
        latency_matchers(selector)
    except ExprSyntaxError as e:
        c.report(
            "OBS414",
            "error",
            f"latency selector is not label matchers: {e}",
            path,
            'e.g. selector: \'verb!="WATCH", code=~"2.."\' (=, !=, =~, !~; braces optional)',
        )


def _as_matcher(label: str, value: str) -> str:
    for op in ("!~", "=~", "!="):
        if value.startswith(op):
            return f'{label}{op}"{value[len(op) :]}"'
    return f'{label}!="{value[1:]}"'


def _check_sli_parts(c: Checker, name: str) -> None:
    """good/bad/total are counter (or log event) selectors, or all expressions reading `${window}`, used as
    written per window; error_ratio is one such expression. The SLO's `by:` labels must survive the SLI."""
    from ..slo import SHORT
    from .labels import check_labels, inference

    slo = c.spec.slos[name]
    sli = slo.sli
    base = ("slos", name, "sli")
    nodes: dict[str, ast.Node] = {}
    for part in ("good", "bad", "total", "error_ratio"):
        node = c.expr(getattr(sli, part), base + (part,), allow_events=True, window=SHORT)
        if node is None:
            continue
        nodes[part] = node
        if ast.has_window(node):
            continue
        if part == "error_ratio":
            c.report(
                "OBS416",
                "error",
                "sli.error_ratio is read once per window: it must use ${window}",
                base + (part,),
                'e.g. sum(rate(x{code=~"5.."}[${window}])) / sum(rate(x[${window}]))',
                node.pos,
            )
        elif not is_event_selector(node, c.out.refs):
            c.report(
                "OBS403",
                "error",
                f"sli.{part} names the events to count: a counter or a log event, "
                "optionally with label matchers; or an expression with ${window}",
                base + (part,),
                'e.g. total: api_requests_total, bad: api_requests_total{code=~"5.."}, or '
                "bad: 'sum(rate(x{code=~\"5..\"}[${window}]))'",
                node.pos,
            )
    pair = {p: n for p, n in nodes.items() if p != "error_ratio"}
    windowed = [p for p, n in pair.items() if ast.has_window(n)]
    if windowed and len(windowed) != len(pair):
        plain = next(p for p in pair if p not in windowed)
        c.report(
            "OBS416",
            "error",
            f"sli.{windowed[0]} is an expression with ${{window}}, but sli.{plain} is a selector: "
            "the compiler cannot aggregate one side the way you aggregated the other",
            base + (plain,),
            f"write sli.{plain} as an expression too, e.g. 'sum(rate({_name(pair[plain])}[${{window}}]))'",
            pair[plain].pos,
        )
        return
    if slo.alerting.min_events and any(ast.has_window(n) for n in nodes.values()):
        c.report(
            "OBS418",
            "error",
            "alerting.min_events counts the SLI's events, but this SLI is written as expressions, whose "
            "events obsctl cannot count",
            ("slos", name, "alerting", "min_events"),
            "drop min_events, or write the SLI as counters (good|bad and total selectors)",
            key=True,
        )
    if not slo.by:
        return
    for part, node in nodes.items():
        info = c.out.refs.get(node.name) if isinstance(node, ast.Ref) else None
        if info is not None and info.kind == "event":
            c.report(
                "OBS419",
                "error",
                f"SLO '{name}' is by ({', '.join(slo.by)}), but sli.{part} counts the log event "
                f"'{node.name}': obsctl writes one objective per label value for metric SLIs only",
                ("slos", name, "by"),
                "count the event with a Loki recording rule and name the recorded counter here, or drop by:",
            )
            return
    inf = inference(c)
    for part, node in nodes.items():
        if ast.has_window(node):
            result = check_labels(c, base + (part,))
            have = result.root.labels if result is not None else None
        else:
            have = inf.raw(node) if isinstance(node, ast.Ref) else None
        missing = [b for b in slo.by if have is not None and b not in have]
        if missing:
            c.report(
                "OBS417",
                "error",
                f"SLO '{name}' is by ({', '.join(slo.by)}), but sli.{part} has no label "
                f"{', '.join(repr(m) for m in missing)}: every objective would read the same (or no) series",
                base + (part,),
                "keep the label in the SLI's aggregation (sum by (...)), or declare it in the metric's labels",
                node.pos,
            )
    lat = sli.latency
    if lat is not None and lat.metric in c.spec.metrics and c.spec.metrics[lat.metric].labels:
        declared = set(c.spec.metrics[lat.metric].labels) | set(c.spec.selector_of(lat.metric))
        missing = [b for b in slo.by if b not in declared]
        if missing:
            c.report(
                "OBS417",
                "error",
                f"SLO '{name}' is by ({', '.join(slo.by)}), but '{lat.metric}' declares no label "
                f"{', '.join(repr(m) for m in missing)}",
                ("slos", name, "by"),
                "add the label to the metric's labels, or drop it from by:",
            )


def _name(node: ast.Node) -> str:
    return node.name if isinstance(node, ast.Ref) else "x"
