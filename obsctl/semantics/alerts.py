"""Alerts: conditions that compare, volume guards on the same store, severities routing knows, templates
Prometheus accepts, and labels obsctl sets itself."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..diagnostics import did_you_mean
from ..expr import ast
from ..model import RegexMatch
from ..routing_regex import fullmatch, re2_error
from .expressions import has_comparison, uses_events
from .gotemplate import template_error
from .labels import agg_text, check_labels, inference

if TYPE_CHECKING:
    from .core import Checker


def _shared_labels(c: Checker) -> None:
    """Labels added to every alert must not change what routing and tests key on."""
    for path, labels in (
        (("labels",), c.spec.labels),
        (("targets", "prometheus", "rule_labels"), c.spec.targets.prometheus.rule_labels),
    ):
        for key, value in labels.items():
            if key in ("severity", "alertname", "service"):
                c.report(
                    "OBS306",
                    "error",
                    f"label '{key}' is set by obsctl on every alert",
                    path + (key,),
                    "severities come from each alert's severity:, the service from service:",
                    key=True,
                )
            err = template_error(value)
            if err:
                c.report(
                    "OBS303",
                    "error",
                    f"label '{key}' is not a valid Prometheus template: {err}",
                    path + (key,),
                )


def check_alerts(c: Checker) -> None:
    s = c.spec
    _shared_labels(c)
    severities = set(s.routing.severities) if s.routing else set()
    for name, a in s.alerts.items():
        base = ("alerts", name)
        when = c.expr(a.when, base + ("when",))
        guard = c.expr(a.only_if, base + ("only_if",))
        if when is not None and not has_comparison(when):
            c.report(
                "OBS304",
                "warning",
                "the condition has no comparison, so it fires whenever a series exists",
                base + ("when",),
                "compare with a threshold, e.g. api_error_rate_5m >= 0.05",
                when.pos,
            )
        if guard is not None and not has_comparison(guard):
            c.report(
                "OBS305",
                "error",
                "a volume guard needs a comparison",
                base + ("only_if",),
                "e.g. only_if: delta(api_requests_total) >= 100",
                guard.pos,
            )
        if when is not None and guard is not None:
            if uses_events(when, c.out.refs) != uses_events(guard, c.out.refs):
                c.report(
                    "OBS213",
                    "error",
                    "the condition and its volume guard must both use metrics or both log events",
                    base + ("only_if",),
                    "",
                    guard.pos,
                )
        if when is not None:
            _label_checks(c, name, when, guard)
        if a.probe and a.probe not in s.sources.probes:
            c.report(
                "OBS201",
                "error",
                f"unknown probe '{a.probe}'",
                base + ("probe",),
                did_you_mean(a.probe, s.sources.probes) or "declare it under sources.probes:",
            )
        if s.routing is None:
            if name == next(iter(s.alerts)):
                c.report(
                    "OBS300",
                    "warning",
                    "alerts but no routing: section; nothing will be notified",
                    ("alerts",),
                    "add routing: {severities: ..., receivers: ...}",
                    key=True,
                )
        elif a.severity not in severities:
            c.report(
                "OBS301",
                "error",
                f"severity '{a.severity}' has no route",
                base + ("severity",),
                did_you_mean(a.severity, severities)
                or f"routing.severities defines: {', '.join(sorted(severities))}",
            )
        if not (a.runbook or s.runbook):
            c.report(
                "OBS302",
                "warning",
                f"alert '{name}' has no runbook",
                base,
                "add runbook: to the alert, or a default runbook: at the top of the spec",
                key=True,
            )
        for fld in ("summary", "description", "title"):
            err = template_error(getattr(a, fld))
            if err:
                c.report(
                    "OBS303",
                    "error",
                    f"{fld} is not a valid Prometheus template: {err}",
                    base + (fld,),
                    "templates look like {{ $value }}, {{ $labels.route }}, {{ $value | humanizePercentage }}",
                )
        for key, value in a.annotations.items():
            if key in ("summary", "description", "runbook_url", "title"):
                c.report(
                    "OBS308",
                    "error",
                    f"annotation '{key}' comes from the alert's own field",
                    base + ("annotations", key),
                    f"set {'runbook' if key == 'runbook_url' else key}: on the alert instead",
                    key=True,
                )
            err = template_error(value)
            if err:
                c.report(
                    "OBS303",
                    "error",
                    f"annotation '{key}' is not a valid Prometheus template: {err}",
                    base + ("annotations", key),
                )
        for key, value in a.labels.items():
            err = template_error(value)
            if err:
                c.report(
                    "OBS303",
                    "error",
                    f"label '{key}' is not a valid Prometheus template: {err}",
                    base + ("labels", key),
                )
        err = template_error(a.runbook or "")
        if err:
            c.report(
                "OBS303", "error", f"runbook is not a valid Prometheus template: {err}", base + ("runbook",)
            )
        for key in a.labels:
            if key in ("severity", "alertname"):
                c.report(
                    "OBS306", "error", f"label '{key}' is set by obsctl", base + ("labels", key), key=True
                )
        if a.overrides.logql and a.overrides.promql:
            c.report("OBS307", "error", "give a PromQL or a LogQL override, not both", base + ("overrides",))


# -- what the alert's labels must carry (issue 10) ----------------------------------------------------------------

_LABEL_REF = re.compile(r"(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)")


def _static_labels(c: Checker, name: str) -> dict[str, str]:
    """The labels obsctl sets on the alert itself (as obsctl/plan/alerts.py does), with alertname."""
    s, a = c.spec, c.spec.alerts[name]
    out = dict(s.targets.prometheus.rule_labels)
    out.update(severity=a.severity, service=s.service)
    if s.team:
        out["team"] = s.team
    return {**out, **s.labels, **a.labels, "alertname": name}


def _may_match(match: dict, static: dict[str, str]) -> bool:
    """Whether a routing `match:` can select the alert, judging by the labels obsctl sets on it."""
    for label, want in match.items():
        if label not in static:
            continue
        have = static[label]
        if isinstance(want, RegexMatch):
            if not re2_error(want.regex) and not fullmatch(want.regex, have):  # a bad regex is OBS205's
                return False
        elif have not in ([want] if isinstance(want, str) else want):
            return False
    return True


def _input_labels(c: Checker, node: ast.Node) -> set[str]:
    """The labels the series an expression reads carry (derived metrics followed), as far as the catalog says."""
    inf = inference(c)
    out: set[str] = set()
    stack, seen = [node], set()
    while stack:
        for n in ast.walk(stack.pop()):
            if not isinstance(n, ast.Ref):
                continue
            if n.name in c.spec.derived and n.name not in seen:
                seen.add(n.name)
                inner = c.out.exprs.get(("derived", n.name, "expr"))
                if inner is not None:
                    stack.append(inner)
            out |= inf.raw(n) or set()
    return out


def _label_checks(c: Checker, name: str, when: ast.Node, guard: ast.Node | None) -> None:
    """The condition and guard's labels: a guard that can never join (OBS330), labels routing or inhibit rules
    read that the condition's result drops (OBS331), `$labels.x` in a template that it drops (OBS332)."""
    base = ("alerts", name)
    w = check_labels(c, base + ("when",))
    g = check_labels(c, base + ("only_if",)) if guard is not None else None
    if w is None or not w.root.known:
        return
    kept = w.root.labels
    assert kept is not None
    if g is not None and g.root.known and guard is not None:
        extra = g.root.labels - kept
        if extra:
            c.report(
                "OBS330",
                "error",
                f"the volume guard keeps labels the condition does not "
                f"({', '.join(sorted(extra))}), so it can never join the condition",
                base + ("only_if",),
                f"aggregate the guard to labels the condition keeps: {agg_text(g.root.labels & kept)}",
                guard.pos,
            )
    static = _static_labels(c, name)
    r = c.spec.routing
    uses: list[tuple[str, str]] = []  # (label, where)
    if r is not None:
        # A route or inhibit side is meant for this alert when it names it (alertname, or one of the alert's own
        # labels) and obsctl's labels do not rule it out; other alerts are free not to carry its labels.
        own = {"alertname", *c.spec.alerts[name].labels}
        for i, route in enumerate(r.routes):
            if own & set(route.match) and _may_match(route.match, static):
                uses += [(k, f"routing.routes[{i}].match") for k in route.match]
        for i, inh in enumerate(r.inhibit):
            for side in ("source", "target"):
                match = getattr(inh, side)
                if not _may_match(match, static):
                    continue
                if own & set(match):
                    uses += [(k, f"routing.inhibit[{i}].{side}") for k in match]
                if inh.equal:
                    # a label missing on both alerts counts as equal: the inhibition would cross its values
                    uses += [(k, f"routing.inhibit[{i}].equal") for k in inh.equal]
    inputs = _input_labels(c, when) if uses else set()
    seen: set[str] = set()
    for label, where in uses:
        # only what the condition drops: a label its input series carry (others may be another alert's own label)
        if label in kept or label in static or label in seen or label not in inputs:
            continue
        seen.add(label)
        c.report(
            "OBS331",
            "error",
            f"{where} reads the label '{label}', which the condition's result does not "
            f"keep (it keeps {w.root.text()})",
            base + ("when",),
            f"keep it in the condition, e.g. sum by ({', '.join(sorted(kept | {label}))}) (...)",
            when.pos,
        )
    a = c.spec.alerts[name]
    texts = [("summary", a.summary), ("description", a.description), ("title", a.title)]
    texts += [(f"annotations.{k}", v) for k, v in a.annotations.items()]
    for fld, text in texts:
        for label in dict.fromkeys(_LABEL_REF.findall(text or "")):
            if label in kept or label in static:
                continue
            c.report(
                "OBS332",
                "warning",
                f"{fld} prints $labels.{label}, which the condition's result does not keep "
                f"(it keeps {w.root.text()}), so it prints nothing",
                base + tuple(fld.split(".")),
                f"keep it in the condition, e.g. sum by ({', '.join(sorted(kept | {label}))}) (...)",
            )
