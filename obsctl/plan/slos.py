"""What an SLO is once checked, for every target: the names and labels of its recordings and alerts, the windows
its tiers read, and its alerts' annotations. Names follow sloth (`slo:sli_error:ratio_rate5m`, labels sloth_id,
sloth_service, sloth_slo, sloth_window) so sloth's Grafana dashboards work."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from ..compile.promql import matchers_text
from ..durations import format_duration, parse_duration
from ..slo import Tier, burn_threshold, effective_tiers, error_budget

if TYPE_CHECKING:
    from ..model import SLO, Spec

SHORT = "5m"  # the shortest window: current burn rate, and the event rates the period is summed from
RATIO = "slo:sli_error:ratio_rate{window}"
ERROR_RATE = f"slo:sli_error:rate{SHORT}"
TOTAL_RATE = f"slo:sli_total:rate{SHORT}"
OBJECTIVE = "slo:objective:ratio"
BUDGET = "slo:error_budget:ratio"
PERIOD_DAYS = "slo:time_period:days"
CURRENT_BURN = "slo:current_burn_rate:ratio"
PERIOD_BURN = "slo:period_burn_rate:ratio"
REMAINING = "slo:period_error_budget_remaining:ratio"
INFO = "obsctl_slo_info"  # value 1, with the objective, period and owner as labels, for dashboards
DEFAULT_SEVERITY = {"page": "critical", "ticket": "warning"}


def slo_id(spec: Spec, name: str) -> str:
    """The value of `sloth_id` on every series of one SLO."""
    return f"{spec.service}-{name}"


def record_labels(spec: Spec, name: str) -> dict[str, str]:
    """The labels on every recording of one SLO, which select exactly its series: the metric source selector's (so
    two environments or services sharing one Prometheus never write the same series), the SLO's own, and sloth's."""
    own = {"sloth_id": slo_id(spec, name), "sloth_service": spec.service, "sloth_slo": name}
    return dict(sorted({**spec.sources.metrics.selector, **spec.slos[name].labels, **own}.items()))


@functools.lru_cache(maxsize=512)  # pure, on short strings, asked thousands of times per spec
def window_name(window: str) -> str:
    """A window as record names spell it: `60m` and `1h` are both `1h`."""
    return format_duration(parse_duration(window))


def alert_windows(slo: SLO) -> list[str]:
    """The windows the SLO's enabled tiers read, and 5m, shortest first. Recorded whether or not the SLO alerts:
    dashboards show the burn rate over each of them either way."""
    names = {window_name(SHORT)}
    names |= {window_name(w) for t in effective_tiers(slo) if t.enabled for w in (t.short, t.long)}
    return sorted(names, key=parse_duration)


def record_names(spec: Spec, name: str) -> dict:
    """The recorded series of one SLO, for dashboards: each name with `selector` appended selects exactly it.

    `error_ratio` maps windows (`5m`, `1h`, ..., the period) to the error-ratio record names."""
    slo = spec.slos[name]
    windows = alert_windows(slo) + [window_name(slo.period)]
    return {
        "selector": _selector(spec, name),
        "error_ratio": {w: RATIO.format(window=w) for w in dict.fromkeys(windows)},
        "period": window_name(slo.period),
        "error_rate": ERROR_RATE,
        "total_rate": TOTAL_RATE,
        "objective": OBJECTIVE,
        "error_budget": BUDGET,
        "time_period_days": PERIOD_DAYS,
        "current_burn_rate": CURRENT_BURN,
        "period_burn_rate": PERIOD_BURN,
        "budget_remaining": REMAINING,
        "info": INFO,
    }


def record_selector(spec: Spec, name: str, record: str) -> str:
    """A recorded series of one SLO with the matchers that select exactly it."""
    return record + _selector(spec, name)


def _selector(spec: Spec, name: str) -> str:
    # Apart from record_names: the rules ask for it about 30 times per SLO, and need none of the rest.
    return "{" + matchers_text([(k, "=", v) for k, v in record_labels(spec, name).items()]) + "}"


def alert_name(spec: Spec, name: str, action: str = "page") -> str:
    """The alertname of an SLO's page (or ticket) alerts: `alerting.<action>.name`, else `asset-ws` +
    `availability` -> AssetWsAvailabilityBudgetBurn."""
    own = getattr(spec.slos[name].alerting, action).name
    return own or f"{_camel(spec.service)}{_camel(name)}BudgetBurn"


def alert_names(spec: Spec, name: str) -> list[str]:
    """Every alertname an SLO's alerts carry (page first; one name when page and ticket share it)."""
    return list(dict.fromkeys(alert_name(spec, name, a) for a in ("page", "ticket")))


def info_labels(spec: Spec, name: str) -> dict[str, str]:
    """Labels of the SLO's info series (value 1), for dashboards: the record labels, slo, objective, period, and
    the owning team when the spec names one."""
    slo = spec.slos[name]
    own = {"slo": name, "objective": f"{slo.objective:g}", "period": window_name(slo.period)}
    if spec.team:
        own["team"] = spec.team
    return dict(sorted({**record_labels(spec, name), **own}.items()))


def _camel(text: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", text) if p)


# --- alerts --------------------------------------------------------------------------------------------------


def severity(slo: SLO, tier: Tier) -> str:
    """The spec's severity for the tier's action (critical / warning when the spec names none)."""
    return getattr(slo.alerting, f"{tier.action}_severity") or DEFAULT_SEVERITY[tier.action]


def alert_labels(spec: Spec, name: str, tier: Tier) -> dict[str, str]:
    """Labels of one tier's alerts: the metric source selector's (the alert of each environment stays its own), then
    in the order of the spec's other alerts (rule labels, severity, service, team, the spec's labels), then the SLO's
    labels and slo, action, slo_tier; keys sorted."""
    slo = spec.slos[name]
    labels = {**spec.sources.metrics.selector, **spec.targets.prometheus.rule_labels}
    labels.update(severity=severity(slo, tier), service=spec.service)
    if spec.team:
        labels["team"] = spec.team
    labels.update(spec.labels)
    labels.update(slo.labels)
    labels.update(getattr(slo.alerting, tier.action).labels)
    labels.update(slo=name, action=tier.action, slo_tier=tier.name)
    return dict(sorted(labels.items()))


def percent(ratio: float) -> str:
    return f"{float(f'{ratio * 100:.6g}'):g}%"


def alert_annotations(
    spec: Spec, name: str, tier: Tier, value: str = "{{ $value | humanizePercentage }}"
) -> dict:
    """summary, description and runbook_url of one tier's alerts (`value`: what Prometheus prints for $value)."""
    slo = spec.slos[name]
    budget = error_budget(slo)
    lasts = format_duration(parse_duration(slo.period) / tier.factor)
    out = {
        "summary": f"{spec.service} SLO {name}: error budget burning {tier.factor:g}x too fast ({tier.action})",
        "description": f"Error ratio {value} over the last {window_name(tier.long)}, and above "
        f"{percent(burn_threshold(slo, tier))} over the last {window_name(tier.short)}: "
        f"{tier.factor:g}x the error budget of {percent(budget)} ({slo.objective:g}% over "
        f"{slo.period}). At this rate the whole budget lasts {lasts}.",
        "runbook_url": slo.runbook or spec.runbook or "",
        **getattr(slo.alerting, tier.action).annotations,
    }
    return dict(sorted((k, v) for k, v in out.items() if v))
