"""Alerts: conditions that compare, volume guards on the same store, severities routing knows, templates
Prometheus accepts, and labels obsctl sets itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import did_you_mean
from .expressions import has_comparison, uses_events
from .gotemplate import template_error

if TYPE_CHECKING:
    from .core import Checker



def _shared_labels(c: Checker) -> None:
    """Labels added to every alert must not change what routing and tests key on."""
    for path, labels in ((("labels",), c.spec.labels),
                         (("targets", "prometheus", "rule_labels"), c.spec.targets.prometheus.rule_labels)):
        for key, value in labels.items():
            if key in ("severity", "alertname", "service"):
                c.report("OBS306", "error", f"label '{key}' is set by obsctl on every alert", path + (key,),
                            "severities come from each alert's severity:, the service from service:", key=True)
            err = template_error(value)
            if err:
                c.report("OBS303", "error", f"label '{key}' is not a valid Prometheus template: {err}",
                            path + (key,))


def check_alerts(c: Checker) -> None:
    s = c.spec
    _shared_labels(c)
    severities = set(s.routing.severities) if s.routing else set()
    for name, a in s.alerts.items():
        base = ("alerts", name)
        when = c.expr(a.when, base + ("when",))
        guard = c.expr(a.only_if, base + ("only_if",))
        if when is not None and not has_comparison(when):
            c.report("OBS304", "warning", "the condition has no comparison, so it fires whenever a series exists",
                        base + ("when",), "compare with a threshold, e.g. api_error_rate_5m >= 0.05", when.pos)
        if guard is not None and not has_comparison(guard):
            c.report("OBS305", "error", "a volume guard needs a comparison", base + ("only_if",),
                        "e.g. only_if: delta(api_requests_total) >= 100", guard.pos)
        if when is not None and guard is not None:
            if uses_events(when, c.out.refs) != uses_events(guard, c.out.refs):
                c.report("OBS213", "error", "the condition and its volume guard must both use metrics or both "
                            "log events", base + ("only_if",), "", guard.pos)
        if a.probe and a.probe not in s.sources.probes:
            c.report("OBS201", "error", f"unknown probe '{a.probe}'", base + ("probe",),
                        did_you_mean(a.probe, s.sources.probes) or "declare it under sources.probes:")
        if s.routing is None:
            if name == next(iter(s.alerts)):
                c.report("OBS300", "warning", "alerts but no routing: section; nothing will be notified",
                            ("alerts",), "add routing: {severities: ..., receivers: ...}", key=True)
        elif a.severity not in severities:
            c.report("OBS301", "error", f"severity '{a.severity}' has no route", base + ("severity",),
                        did_you_mean(a.severity, severities) or f"routing.severities defines: {', '.join(sorted(severities))}")
        if not (a.runbook or s.runbook):
            c.report("OBS302", "warning", f"alert '{name}' has no runbook", base, "add runbook: to the alert, or a "
                        "default runbook: at the top of the spec", key=True)
        for fld in ("summary", "description", "title"):
            err = template_error(getattr(a, fld))
            if err:
                c.report("OBS303", "error", f"{fld} is not a valid Prometheus template: {err}", base + (fld,),
                            "templates look like {{ $value }}, {{ $labels.route }}, {{ $value | humanizePercentage }}")
        for key, value in a.annotations.items():
            if key in ("summary", "description", "runbook_url", "title"):
                c.report("OBS308", "error", f"annotation '{key}' comes from the alert's own field",
                            base + ("annotations", key), f"set {'runbook' if key == 'runbook_url' else key}: "
                            "on the alert instead", key=True)
            err = template_error(value)
            if err:
                c.report("OBS303", "error", f"annotation '{key}' is not a valid Prometheus template: {err}",
                            base + ("annotations", key))
        for key, value in a.labels.items():
            err = template_error(value)
            if err:
                c.report("OBS303", "error", f"label '{key}' is not a valid Prometheus template: {err}",
                            base + ("labels", key))
        err = template_error(a.runbook or "")
        if err:
            c.report("OBS303", "error", f"runbook is not a valid Prometheus template: {err}", base + ("runbook",))
        for key in a.labels:
            if key in ("severity", "alertname"):
                c.report("OBS306", "error", f"label '{key}' is set by obsctl", base + ("labels", key), key=True)
        if a.overrides.logql and a.overrides.promql:
            c.report("OBS307", "error", "give a PromQL or a LogQL override, not both", base + ("overrides",))
