"""Routing as the spec means it, for every target: which receivers an alert with given labels reaches, and the
route cases (every severity an alert or SLO alert can carry, every declared severity and extra route) that
`obsctl test` proves against the real Alertmanager."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import MatchValue, RegexMatch
from ..slo import effective_tiers
from .alerts import labels as alert_labels
from .slos import alert_labels as slo_alert_labels
from .slos import alert_name
from .slos import severity as slo_severity

if TYPE_CHECKING:
    from ..model import Spec

BLACKHOLE = "obsctl-blackhole"  # the receiver with no integrations, for alerts the spec routes nowhere


@dataclass
class RouteCase:
    """An alert's label set and exactly the receivers the spec names for it, in route-tree order."""

    labels: dict[str, str]
    receivers: list[str]
    why: str


def value_matches(want: MatchValue, have: str) -> bool:
    """Whether a label value satisfies one `match:` value; a regex matches the whole value, as in Alertmanager
    (with RE2, as Alertmanager: linear time whatever the pattern)."""
    if isinstance(want, RegexMatch):
        from ..routing_regex import fullmatch

        return fullmatch(want.regex, have)
    return have in ([want] if isinstance(want, str) else want)


def _matches(match: Mapping[str, MatchValue], labels: Mapping[str, str]) -> bool:
    """Whether an alert with `labels` satisfies a spec `match:` (a missing label is the empty string)."""
    return all(value_matches(want, labels.get(name, "")) for name, want in match.items())


def service_label(spec: Spec) -> str:
    """The `service` label the spec's alerts carry (the spec's labels may set it; else the service name)."""
    return spec.labels.get("service", spec.service)


def _labels(
    spec: Spec, alertname: str, severity: str, own: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The labels of an alert obsctl generates, in the Prometheus backend's order: rule labels, severity, service,
    team, the spec's labels, the alert's own; alertname last (Prometheus sets it from the rule name)."""
    labels = dict(spec.targets.prometheus.rule_labels)
    labels.update(severity=severity, service=spec.service)
    if spec.team:
        labels["team"] = spec.team
    labels.update(spec.labels)
    labels.update(own or {})
    labels["alertname"] = alertname
    return labels


def _slo_alerts(spec: Spec, name: str) -> list[tuple[str, str, dict[str, str]]]:
    """(alertname, severity, labels) of each enabled burn-rate tier of an SLO, with the severity its rules carry
    (the spec's, else critical / warning)."""
    slo = spec.slos[name]
    return [
        (alert_name(spec, name, tier.action), slo_severity(slo, tier), slo_alert_labels(spec, name, tier))
        for tier in effective_tiers(slo)
        if tier.enabled
    ]


def expected_receivers(spec: Spec, labels: Mapping[str, str]) -> list[str]:
    """The receivers the spec names for an alert with `labels`, read from the spec (not from the output)."""
    r = spec.routing
    if labels.get("service") != service_label(spec):
        return [r.default_receiver or BLACKHOLE]
    out: list[str] = []
    for route in r.routes:
        if _matches(route.match, labels):
            out += route.receivers or [BLACKHOLE]
            if not route.continue_:
                return out
    sev = r.severities.get(labels.get("severity", ""))
    if sev is not None:
        return out + (sev.receivers or [BLACKHOLE])
    return out or [r.default_receiver or BLACKHOLE]


def route_cases(spec: Spec) -> list[RouteCase]:
    """Every severity an alert or SLO alert can carry, every declared severity and every extra route: the label set
    such an alert has and exactly the receivers the spec names for it."""
    r = spec.routing
    if r is None:
        return []
    cases: list[RouteCase] = []
    seen: set[tuple] = set()

    def add(labels: dict[str, str], why: str) -> None:
        key = tuple(sorted(labels.items()))
        if key not in seen:
            seen.add(key)
            cases.append(RouteCase(labels, expected_receivers(spec, labels), why))

    for name, alert in spec.alerts.items():
        if alert.enabled:
            add({**alert_labels(spec, name), "alertname": name}, f"alert {name} (severity {alert.severity})")
    for name, slo in spec.slos.items():
        if slo.alerting.enabled:
            for alertname, sev, labels in _slo_alerts(spec, name):
                add(
                    {**labels, "alertname": alertname},
                    f"SLO {name} tier {labels['slo_tier']} (severity {sev})",
                )
    for sev in r.severities:
        add(_labels(spec, "ObsctlRouteTest", sev), f"any alert with severity {sev}")
    if r.default_receiver:
        labels = _labels(spec, "ObsctlRouteTest", "")
        del labels["severity"]
        add(labels, "an alert with no severity goes to the default receiver")
    first_sev = next(iter(r.severities), "")
    for i, route in enumerate(r.routes):
        if untested_route(route):
            continue
        variants = [{}]
        for k, vals in _examples(route.match).items():  # one case per value, the other keys at their first
            variants += [{k: v} for v in vals[1:]]
        base = {k: vals[0] for k, vals in _examples(route.match).items()}
        for variant in variants:
            wanted = {**base, **variant}
            labels = _labels(
                spec, wanted.get("alertname", "ObsctlRouteTest"), wanted.get("severity", first_sev), wanted
            )
            shown = ", ".join(f"{k}={v}" for k, v in wanted.items())
            add(labels, f"routing.routes[{i}] ({shown})")
    return cases


def _examples(match: Mapping[str, MatchValue]) -> dict[str, list[str]]:
    """Label values that satisfy each key of a `match:`: the listed values, or a regex's example."""
    return {
        k: [v.example] if isinstance(v, RegexMatch) else [v] if isinstance(v, str) else list(v)
        for k, v in match.items()
    }


def untested_route(route: object) -> str:
    """Why a route gets no route case of its own ('' when it gets them): a regex without an `example:`."""
    keys = [k for k, v in route.match.items() if isinstance(v, RegexMatch) and v.example is None]
    if not keys:
        return ""
    return (
        f"{', '.join(keys)} matches a regex without an example: value, so no label set is generated for it "
        "(alerts whose labels match it are still tested)"
    )
