"""SLO rules for Prometheus: SLI recordings per window, budget and burn-rate metrics, multi-window multi-burn-rate
alerts, and promtool unit tests that prove the alerts.

Output (called by the Prometheus backend):
    prometheus/<service>.slo.rules.yml            one rule group per SLO
    prometheus/<service>.slo.tests.yml            promtool tests of those rules (`promtool test rules`)
    prometheus/<service>.slo.prometheusrule.yml   with --format prometheusrule, instead of both

Choices that matter to users:
- Names follow sloth (`slo:sli_error:ratio_rate5m`, `slo:objective:ratio`, ... with labels sloth_id, sloth_service,
  sloth_slo, sloth_window) so sloth's Grafana dashboards work; `record_names()` publishes them.
- Every rule of an SLO lives in one group: Prometheus evaluates a group's rules in order at one timestamp, so the
  alerts always read the recordings of the same cycle.
- Alerting windows read the raw counters (like sloth and the SRE workbook). The period (30d) does not: re-reading
  30 days of raw samples every minute is too costly, so it sums the 5m event-rate recordings over the period,
  weighting every minute by its traffic (sloth averages ratios, which weighs a quiet night like a busy day).
- A missing error series counts as zero errors (`or vector(0)`): a healthy new service often has never emitted
  its `code="500"` series, and its SLI must read 0% errors, not "no data".
- One alerting rule per tier, named `<Service><Slo>BudgetBurn` (or alerting.page.name / ticket.name), keeping
  the records' series labels (the SLO's `by:` labels among them), with labels slo, service, severity (the
  spec's vocabulary), action (page|ticket), slo_tier and alerting.page.labels / ticket.labels, so each tier keeps its own `for` and the tiers of one SLO
  stay distinct alerts in Alertmanager (`slo_tier`, not `tier`: services often carry a `tier` label of their own).
- Low-traffic guard (alerting.min_events): each tier also needs that many events in its own long window, the
  window whose ratio it judges; a handful of requests cannot page.
- Latency SLIs count the bucket `le="<threshold>"` as good, matching every way client libraries print the bound
  (Go `1`, Python and OpenMetrics `1.0`, JavaScript `1e-7`): see `le_values`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...compile.promql import number
from ...durations import parse_duration
from ...plan import Plan
from ...plan.rules import Group, Rule, guarded
from ...plan.sli import Sli, error_ratio, event_rate, sli, total_rate
from ...plan.slos import (
    BUDGET,
    CURRENT_BURN,
    ERROR_RATE,
    INFO,
    OBJECTIVE,
    PERIOD_BURN,
    PERIOD_DAYS,
    RATIO,
    REMAINING,
    SHORT,
    TOTAL_RATE,
    alert_annotations,
    alert_labels,
    alert_name,
    alert_names,
    alert_windows,
    info_labels,
    record_labels,
    record_selector,
    window_name,
)
from ...slo import Tier, effective_tiers, error_budget
from .. import Artifact, BackendError, Renderer
from .operator import prometheusrule_text

if TYPE_CHECKING:
    from ...model import Spec

# --- the rules ----------------------------------------------------------------------------------------------------


def rule_group(plan: Plan, name: str) -> Group:
    """One SLO's rule group: SLI recordings, budget and burn-rate recordings, the info series, then the burn-rate
    alerts."""
    spec = plan.spec
    slo = spec.slos[name]
    s = sli(plan, name)
    labels = record_labels(spec, name)
    budget = number(error_budget(slo))
    short = window_name(SHORT)
    period = window_name(slo.period)

    def record(rec: str, expr: str, window: str | None = None, own: dict | None = None) -> Rule:
        own = own or ({**labels, "sloth_window": window} if window else labels)
        return Rule(expr=expr, record=rec, labels=dict(sorted(own.items())))

    if s.exprs is None:
        events, total = event_rate(s, short), total_rate(s, short)
        rules = [
            record(TOTAL_RATE, total, short),
            record(ERROR_RATE, f"{total} - {events}" if s.counts_good else events, short),
            record(
                RATIO.format(window=short),
                f"{record_selector(spec, name, ERROR_RATE)} / {record_selector(spec, name, TOTAL_RATE)}",
                short,
            ),
        ]
    else:  # expressions: no event rates to record, the 5m ratio is the expression over 5m
        rules = [record(RATIO.format(window=short), error_ratio(s, short, plan), short)]
    rules += [
        record(RATIO.format(window=w), error_ratio(s, w, plan), w) for w in alert_windows(slo) if w != short
    ]
    if period not in alert_windows(slo):
        if s.exprs is None:
            # Traffic-weighted: the period's bad events over its events, from the 5m rates recorded every cycle.
            over_period = (
                f"sum_over_time({record_selector(spec, name, ERROR_RATE)}[{period}]) / "
                f"sum_over_time({record_selector(spec, name, TOTAL_RATE)}[{period}])"
            )
        else:
            # An expression SLI gives ratios, not events: the period averages the recorded 5m ratio (as sloth does).
            over_period = (
                f"avg_over_time({record_selector(spec, name, RATIO.format(window=short))}[{period}])"
            )
        rules.append(record(RATIO.format(window=period), over_period, period))
    rules += [
        record(OBJECTIVE, f"vector({number(round(slo.objective / 100, 10))})"),
        record(BUDGET, f"vector({budget})"),
        record(PERIOD_DAYS, f"vector({number(round(parse_duration(slo.period) / 86400, 6))})"),
        record(CURRENT_BURN, f"{record_selector(spec, name, RATIO.format(window=short))} / {budget}"),
        record(PERIOD_BURN, f"{record_selector(spec, name, RATIO.format(window=period))} / {budget}"),
        record(REMAINING, f"1 - {record_selector(spec, name, PERIOD_BURN)}"),
        record(INFO, "vector(1)", own=info_labels(spec, name)),
    ]
    if slo.alerting.enabled:
        rules += [alert_rule(plan, name, t, s) for t in effective_tiers(slo) if t.enabled]
    return Group(f"{spec.service}.slo.{name}", spec.targets.prometheus.evaluation_interval, rules)


def alert_rule(plan: Plan, name: str, tier: Tier, s: Sli) -> Rule:
    """One tier: the long and the short window both above factor x budget (and enough events, when guarded).

    `max without (sloth_window)` keeps every series label (the SLO's `by:` labels, the selector's): one alert per
    objective, and routes on those labels match. The two windows' series then have the same labels, so `and`
    pairs each objective's long window with its own short window."""
    spec = plan.spec
    slo = spec.slos[name]
    threshold = f"({number(tier.factor)} * {number(error_budget(slo))})"
    long, short = window_name(tier.long), window_name(tier.short)
    when = (
        f"max without (sloth_window) ({record_selector(spec, name, RATIO.format(window=long))}) > {threshold} and "
        f"max without (sloth_window) ({record_selector(spec, name, RATIO.format(window=short))}) > {threshold}"
    )
    guard = (
        f"{s.agg}(increase({s.total}[{long}])) >= {slo.alerting.min_events}"
        if slo.alerting.min_events and s.total is not None
        else None
    )
    return Rule(
        expr=guarded(when, guard, set(s.keep)),
        alert=alert_name(spec, name, tier.action),
        for_=window_name(tier.for_) if parse_duration(tier.for_) else "",
        labels=alert_labels(spec, name, tier),
        annotations=alert_annotations(spec, name, tier),
    )


def rule_groups(plan: Plan) -> list[Group]:
    """Every SLO's rule group, in spec order."""
    spec = plan.spec
    _check_names(plan)
    return [rule_group(plan, name) for name in spec.slos]


def _check_names(plan: Plan) -> None:
    spec = plan.spec
    errors = [
        plan.error(
            "OBS411",
            f"SLO '{name}' alerts as '{alertname}', which is also an alert of the spec",
            ("alerts", alertname),
            "rename the alert, or give the SLO alerting.page.name / alerting.ticket.name",
        )
        for name in spec.slos
        for alertname in alert_names(spec, name)
        if alertname in spec.alerts
    ]
    if errors:
        raise BackendError(errors)


# --- build ---------------------------------------------------------------------------------------------------------


def paths(spec: Spec) -> dict[str, str]:
    """Where the SLO output goes: rules, tests and (with --format prometheusrule) the PrometheusRule."""
    base = f"prometheus/{spec.service}.slo"
    return {
        "rules": f"{base}.rules.yml",
        "tests": f"{base}.tests.yml",
        "prometheusrule": f"{base}.prometheusrule.yml",
    }


def build(plan: Plan, renderer: Renderer) -> list[Artifact]:
    """The SLO rule file and its promtool tests, or one PrometheusRule with --format prometheusrule."""
    spec = plan.spec
    if not spec.slos:
        return []
    groups = [g.as_template() for g in rule_groups(plan)]
    where = paths(spec)
    if plan.options.get("format") == "prometheusrule":
        # The tests need a plain rule file, so the PrometheusRule comes alone (as the backend's own rules do).
        return [
            Artifact(
                where["prometheusrule"],
                prometheusrule_text(plan, renderer, f"{spec.service}-slo-rules", groups),
            )
        ]
    from ...testgen.slos import test_groups, tests_evaluation_interval

    tests, notes = ([], []) if renderer.dry else test_groups(plan)  # generated tests only list what they skip
    return [
        Artifact(where["rules"], renderer.render("prometheus/slo.rules.yml.j2", groups=groups)),
        Artifact(
            where["tests"],
            renderer.render(
                "prometheus/slo.tests.yml.j2",
                rule_files=[Path(where["rules"]).name],
                tests=tests,
                notes=notes,
                evaluation_interval=tests_evaluation_interval(),
            ),
        ),
    ]
