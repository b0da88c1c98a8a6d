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
- One alerting rule per tier, all named `<Service><Slo>BudgetBurn`, with labels slo, service, severity (the
  spec's vocabulary), action (page|ticket) and slo_tier, so each tier keeps its own `for` and the tiers of one SLO
  stay distinct alerts in Alertmanager (`slo_tier`, not `tier`: services often carry a `tier` label of their own).
- Low-traffic guard (alerting.min_events): each tier also needs that many events in its own long window, the
  window whose ratio it judges; a handful of requests cannot page.
- Latency SLIs count the bucket `le="<threshold>"` as good, matching every way client libraries print the bound
  (Go `1`, Python and OpenMetrics `1.0`, JavaScript `1e-7`): see `le_values`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from ...compile.promql import matchers_text, number
from ...durations import format_duration, parse_duration
from ...plan import Plan
from ...plan.rules import Group, Rule, guarded
from ...plan.sli import Sli, error_ratio, sli
from ...plan.slos import (
    BUDGET,
    CURRENT_BURN,
    ERROR_RATE,
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
    alert_windows,
    percent,
    record_labels,
    record_names,
    window_name,
)
from ...slo import Tier, burn_threshold, can_fire, effective_tiers, error_budget, scenario_ratios
from .. import Artifact, BackendError, Renderer
from .operator import prometheusrule_text

# --- the rules ----------------------------------------------------------------------------------------------------


def _sel(spec: object, name: str, record: str) -> str:
    return record + record_names(spec, name)["selector"]


def rule_group(plan: Plan, name: str) -> Group:
    """One SLO's rule group: SLI recordings, budget and burn-rate recordings, then the burn-rate alerts."""
    spec = plan.spec
    slo = spec.slos[name]
    s = sli(plan, name)
    labels = record_labels(spec, name)
    budget = number(error_budget(slo))
    short = window_name(SHORT)
    period = window_name(slo.period)

    def record(rec: str, expr: str, window: str | None = None) -> Rule:
        own = {**labels, "sloth_window": window} if window else labels
        return Rule(expr=expr, record=rec, labels=dict(sorted(own.items())))

    events = f"(sum(rate({s.events}[{short}])) or vector(0))"
    total = f"sum(rate({s.total}[{short}]))"
    rules = [
        record(TOTAL_RATE, total, short),
        record(ERROR_RATE, f"{total} - {events}" if s.counts_good else events, short),
        record(RATIO.format(window=short), f"{_sel(spec, name, ERROR_RATE)} / {_sel(spec, name, TOTAL_RATE)}",
               short),
    ]
    rules += [record(RATIO.format(window=w), error_ratio(s, w), w) for w in alert_windows(slo) if w != short]
    if period not in alert_windows(slo):
        # Traffic-weighted: the period's bad events over its events, from the 5m rates recorded every cycle.
        rules.append(record(RATIO.format(window=period),
                            f"sum_over_time({_sel(spec, name, ERROR_RATE)}[{period}]) / "
                            f"sum_over_time({_sel(spec, name, TOTAL_RATE)}[{period}])", period))
    rules += [
        record(OBJECTIVE, f"vector({number(round(slo.objective / 100, 10))})"),
        record(BUDGET, f"vector({budget})"),
        record(PERIOD_DAYS, f"vector({number(round(parse_duration(slo.period) / 86400, 6))})"),
        record(CURRENT_BURN, f"{_sel(spec, name, RATIO.format(window=short))} / {budget}"),
        record(PERIOD_BURN, f"{_sel(spec, name, RATIO.format(window=period))} / {budget}"),
        record(REMAINING, f"1 - {_sel(spec, name, PERIOD_BURN)}"),
    ]
    if slo.alerting.enabled:
        rules += [alert_rule(plan, name, t, s) for t in effective_tiers(slo) if t.enabled]
    return Group(f"{spec.service}.slo.{name}", spec.targets.prometheus.evaluation_interval, rules)


def alert_rule(plan: Plan, name: str, tier: Tier, s: Sli) -> Rule:
    """One tier: the long and the short window both above factor x budget (and enough events, when guarded)."""
    spec = plan.spec
    slo = spec.slos[name]
    threshold = f"({number(tier.factor)} * {number(error_budget(slo))})"
    long, short = window_name(tier.long), window_name(tier.short)
    when = (f"max({_sel(spec, name, RATIO.format(window=long))}) > {threshold} and "
            f"max({_sel(spec, name, RATIO.format(window=short))}) > {threshold}")
    guard = f"sum(increase({s.total}[{long}])) >= {slo.alerting.min_events}" if slo.alerting.min_events else None
    return Rule(expr=guarded(when, guard, set()), alert=alert_name(spec, name),
                for_=window_name(tier.for_) if parse_duration(tier.for_) else "",
                labels=alert_labels(spec, name, tier), annotations=alert_annotations(spec, name, tier))


def rule_groups(plan: Plan) -> list[Group]:
    """Every SLO's rule group, in spec order."""
    spec = plan.spec
    _check_names(plan)
    return [rule_group(plan, name) for name in spec.slos]


def _check_names(plan: Plan) -> None:
    spec = plan.spec
    errors = [plan.error("OBS411", f"SLO '{name}' alerts as '{alert_name(spec, name)}', which is also an alert of the "
                        "spec", ("alerts", alert_name(spec, name)), "rename the alert", )
              for name in spec.slos if alert_name(spec, name) in spec.alerts]
    if errors:
        raise BackendError(errors)


# --- build ---------------------------------------------------------------------------------------------------------


def paths(spec: object) -> dict[str, str]:
    """Where the SLO output goes: rules, tests and (with --format prometheusrule) the PrometheusRule."""
    base = f"prometheus/{spec.service}.slo"
    return {"rules": f"{base}.rules.yml", "tests": f"{base}.tests.yml", "prometheusrule": f"{base}.prometheusrule.yml"}


def build(plan: Plan, renderer: Renderer) -> list[Artifact]:
    """The SLO rule file and its promtool tests, or one PrometheusRule with --format prometheusrule."""
    spec = plan.spec
    if not spec.slos:
        return []
    groups = [g.as_template() for g in rule_groups(plan)]
    where = paths(spec)
    if plan.options.get("format") == "prometheusrule":
        # The tests need a plain rule file, so the PrometheusRule comes alone (as the backend's own rules do).
        return [Artifact(where["prometheusrule"], prometheusrule_text(plan, renderer, f"{spec.service}-slo-rules", groups))]
    tests, notes = test_groups(plan)
    return [Artifact(where["rules"], renderer.render("prometheus/slo.rules.yml.j2", groups=groups)),
            Artifact(where["tests"], renderer.render("prometheus/slo.tests.yml.j2",
                                                rule_files=[Path(where["rules"]).name], tests=tests, notes=notes,
                                                evaluation_interval=_when(_STEP)))]


# --- promtool tests -------------------------------------------------------------------------------------------------
#
# Each SLO gets: a healthy service with no error series at all (recorded values read 0, the budget is whole);
# constant error ratios that page, only ticket and stay quiet (slo.scenario_ratios), checked when each tier's
# `for` has passed; and, with a min_events guard, a burst of failures under the guard (quiet) and the same burst
# over it (fires). Cost: series start at 0 at t=0, sampled every minute, so even a 3d window holds only the few
# hours of samples a test has (a ratio over the samples there are is the ratio a full window would show); rules
# are evaluated every 10m (promtool evaluates every group at every step, and the cost is per rule and step), so a
# test reaches the slowest tier's `for` (3h) in ~20 steps and a test file runs in seconds. `for` is thus rounded
# up to 10m steps in the tests. Expectations come from simulating the alert states on that grid under
# both range semantics (Prometheus 2 includes a window's left edge, 3 excludes it); times where they could differ
# are not asserted.

_RATE = 10000  # events per minute in the steady scenarios
_STEP = 10  # minutes between rule evaluations in the tests
# the low-traffic burst: from minute 10, events spread over 20 minutes, so a 5m window holds some of them at two
# evaluations in a row (a tier with a `for` needs two)
_BURST_START, _BURST_LENGTH = 10, 20


def _examples(pattern: str, limit: int = 12) -> list[str]:
    """A few strings the (fully anchored) regex matches, for synthesising test series."""
    from re import _parser  # the stdlib's regex parser: only its syntax tree is used

    def gen(items: list, depth: int = 0) -> list[str]:
        outs = [""]
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                alts = [chr(arg)]
            elif name == "NOT_LITERAL":
                alts = [c for c in "0a" if c != chr(arg)][:1]
            elif name == "ANY":
                alts = ["0", "a"]
            elif name == "IN":
                alts = [c for c in "0123456789abcdefghijklmnopqrstuvwxyz_-.ABCXYZ" if re.fullmatch(
                    _parser_text(arg), c)][:2]
            elif name == "BRANCH":
                alts = [x for branch in arg[1] for x in gen(branch, depth + 1)]
            elif name == "SUBPATTERN":
                alts = gen(arg[3], depth + 1)
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                lo, _hi, sub = arg
                inner = gen(sub, depth + 1) or [""]
                alts = [inner[0] * lo] + ([inner[0] * (lo + 1)] if lo == 0 else [])
            elif name == "AT":
                alts = [""]
            else:
                alts = []
            outs = [o + a for o in outs for a in alts][:limit]
        return outs

    try:
        tree = _parser.parse(pattern)
    except re.error:
        return []
    return [x for x in gen(list(tree.data)) if re.fullmatch(pattern, x)]


def _parser_text(items: list) -> str:
    """A character class from the regex parser's IN items, as regex text."""
    parts = []
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            parts.insert(0, "^")
        elif name == "LITERAL":
            parts.append(re.escape(chr(arg)))
        elif name == "RANGE":
            parts.append(f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}")
        elif name == "CATEGORY":
            parts.append({"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
                          "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w",
                          "CATEGORY_NOT_WORD": r"\W"}.get(str(arg), ""))
    return f"[{''.join(parts)}]"


_NEGATE = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}


def _holds(op: str, want: str, value: str) -> bool:
    if op == "=":
        return value == want
    if op == "!=":
        return value != want
    matched = re.fullmatch(want, value) is not None
    return matched if op == "=~" else not matched


def _label_values(matchers: list[tuple[str, str, str]], good: bool) -> dict[str, str] | None:
    """Label values meeting every matcher ('' = label absent), read as good or bad events where there is a choice;
    None when none of the tried values do."""
    out: dict[str, str] = {}
    for label in dict.fromkeys(m[0] for m in matchers):
        mine = [(op, v) for k, op, v in matchers if k == label]
        cands = [v for op, v in mine if op == "="] + [x for op, v in mine if op == "=~" for x in _examples(v)]
        words = ("200", "500") if "code" in label else ("success", "failure") if any(
            k in label for k in ("status", "result", "outcome")) else ("other", "other")
        cands += [*(words if good else words[::-1]), "obsctl", "0", ""]
        value = next((c for c in cands if all(_holds(op, v, c) for op, v in mine)), None)
        if value is None:
            return None
        out[label] = value
    return out


def _series_text(metric: str, labels: dict[str, str]) -> str:
    pairs = [(k, "=", v) for k, v in sorted(labels.items()) if v != ""]
    return f"{metric}{{{matchers_text(pairs)}}}" if pairs else metric


def sli_series(s: Sli) -> list[tuple[str, str]] | None:
    """Series for an SLI and what each counts: "event" (the good or bad events), "rest" (the other events of
    the total's metric) or "total" (every event, when the total is another metric). None if no labels fit."""
    good = s.counts_good
    if s.events.metric != s.total.metric:
        event = _label_values(list(s.events.matchers), good)
        total = _label_values(list(s.total.matchers), not good)
        if event is None or total is None:
            return None
        return [(_series_text(s.events.metric, event), "event"), (_series_text(s.total.metric, total), "total")]
    event = _label_values(list(s.total.matchers + s.events.matchers), good)
    if event is None:
        return None
    for m in s.events.matchers:
        if m in s.total.matchers:
            continue
        rest = _label_values(list(s.total.matchers) + [(m[0], _NEGATE[m[1]], m[2])], not good)
        if rest is not None:
            return [(_series_text(s.events.metric, event), "event"), (_series_text(s.total.metric, rest), "rest")]
    return None


def _when(minutes: int) -> str:
    return format_duration(minutes * 60)


def _humanize_percentage(ratio: float) -> str:
    """What Prometheus' humanizePercentage prints: Go's %.4g of the percentage."""
    return "%.4g%%" % (ratio * 100)


class _Scenario:
    """One promtool test group of one SLO: input series, then alert and PromQL expectations."""

    def __init__(self, plan: Plan, name: str, title: str) -> None:
        self.plan, self.name = plan, name
        self.title = f"{alert_name(plan.spec, name)}: {title}"  # `obsctl test` reports "<alert>: <scenario>"
        self.slo = plan.spec.slos[name]
        self.series: list[dict] = []
        self.alerts: list[dict] = []
        self.exprs: list[dict] = []
        self.burst = False  # a low-traffic burst scenario

    def expect_alerts(self, minute: int, firing: list[Tier], value: float) -> None:
        """At `minute` exactly these tiers fire, with `value` (the long window's error ratio) as $value."""
        spec = self.plan.spec
        self.alerts.append({"eval_time": _when(minute), "alertname": alert_name(spec, self.name), "exp_alerts": [
            {"exp_labels": alert_labels(spec, self.name, t),
             "exp_annotations": alert_annotations(spec, self.name, t, _humanize_percentage(value))} for t in firing]})

    def expect_value(self, minute: int, expr: str, value: float, labels: str = "{}") -> None:
        self.exprs.append({"expr": expr, "eval_time": _when(minute), "exp_samples": [{"labels": labels,
                                                                                       "value": value}]})

    def as_test(self) -> dict:
        out = {"name": self.title, "interval": "1m", "input_series": self.series}
        if self.alerts:
            out["alert_rule_test"] = self.alerts
        if self.exprs:
            out["promql_expr_test"] = self.exprs
        return out


def test_groups(plan: Plan) -> tuple[list[dict], list[str]]:
    """promtool test groups for every SLO, and what was not generated ("<alert>: <scenario>: <reason>")."""
    tests: list[dict] = []
    notes: list[str] = []
    for name in plan.spec.slos:
        s = sli(plan, name)
        series = sli_series(s)
        alert = alert_name(plan.spec, name)
        if series is None:
            notes.append(f"{alert}: every scenario: no label values found that match both {s.events} and {s.total}")
            continue
        scenarios = _scenarios(plan, name, s, series)
        tests += [sc.as_test() for sc in scenarios]
        notes += [f"{alert}: {why}" for why in _missing(plan.spec.slos[name], scenarios)]
    return tests, notes


def _missing(slo: object, scenarios: list) -> list[str]:
    if not _tiers(slo):
        return []
    out = [f"{role} scenario: no constant error ratio {what} with these tiers"
           for role, what in (("page", "pages"), ("ticket", "tickets without paging"), ("quiet", "stays quiet"))
           if scenario_ratios(slo)[role] is None]
    if slo.alerting.min_events < 2:
        out.append("low-traffic burst: alerting.min_events is under 2, so no burst can stay under the guard")
    elif not any(sc.burst for sc in scenarios):
        out.append("low-traffic burst: no tier can fire on a burst (each tier's `for` outlasts its short window)")
    return out


def _tiers(slo: object) -> list[Tier]:
    return [t for t in effective_tiers(slo) if t.enabled] if slo.alerting.enabled else []


def _simulate(tier: Tier, condition: object, until: int) -> dict[int, bool]:
    """Whether the tier's alert fires at each evaluation up to `until`, given its condition per evaluation."""
    out: dict[int, bool] = {}
    active = None
    for t in range(0, until + 1, _STEP):
        if condition(t):
            active = t if active is None else active
            out[t] = (t - active) * 60 >= parse_duration(tier.for_)
        else:
            active, out[t] = None, False
    return out


def _scenarios(plan: Plan, name: str, s: Sli, series: list[tuple[str, str]]) -> list[_Scenario]:
    slo = plan.spec.slos[name]
    tiers = _tiers(slo)
    rate = _RATE * max(1, math.ceil(slo.alerting.min_events / _RATE))  # a minute of traffic passes the guard
    out = [_healthy(plan, name, s, series, rate)]
    what = {"page": "pages", "ticket": "tickets but never pages", "quiet": "stays quiet"}
    for role, ratio in (scenario_ratios(slo) if tiers else {}).items():
        if ratio is not None:
            out.append(_steady(plan, name, s, series, rate, ratio, what[role], role == "page"))
    if tiers and slo.alerting.min_events >= 2:
        out += _low_traffic(plan, name, s, series, tiers)
    return out


def _per_minute(role: str, counts_good: bool, rate: float, ratio: float) -> float:
    """Events per minute of one series when `ratio` of all events fail."""
    event_share = 1 - ratio if counts_good else ratio
    return round(rate * {"event": event_share, "rest": 1 - event_share, "total": 1.0}[role], 6)


def _ramp(per_minute: float, minutes: int) -> str:
    return f"0+{number(per_minute)}x{minutes}" if per_minute else f"0x{minutes}"


def _healthy(plan: Plan, name: str, s: Sli, series: list[tuple[str, str]], rate: float) -> _Scenario:
    """No failure and, where the SLI counts bad events, no error series at all: every ratio reads 0, not no data."""
    spec = plan.spec
    slo = spec.slos[name]
    sc = _Scenario(plan, name, "no errors (and no error series) records a 0% error ratio and a whole budget")
    at = 3 * _STEP
    for text, role in series:
        if s.counts_good or role != "event":
            sc.series.append({"series": text, "values": _ramp(_per_minute(role, s.counts_good, rate, 0.0), at)})
    period = window_name(slo.period)
    for w in dict.fromkeys(alert_windows(slo) + [period]):
        rec = RATIO.format(window=w)
        sc.expect_value(at, _sel(spec, name, rec), 0, _record_series(spec, name, rec, w))
    sc.expect_value(at, _sel(spec, name, REMAINING), 1, _record_series(spec, name, REMAINING, period))
    sc.expect_value(at, _sel(spec, name, OBJECTIVE), round(slo.objective / 100, 10),
                    _record_series(spec, name, OBJECTIVE, None))
    sc.expect_value(at, _sel(spec, name, BUDGET), error_budget(slo), _record_series(spec, name, BUDGET, None))
    if _tiers(slo):
        sc.expect_alerts(at, [], 0)
    return sc


def _record_series(spec: object, name: str, record: str, window: str | None) -> str:
    labels = record_labels(spec, name)
    if window:
        labels["sloth_window"] = window
    return _series_text(record, labels)


def _steady(plan: Plan, name: str, s: Sli, series: list[tuple[str, str]], rate: float, ratio: float,
            outcome: str, check_records: bool) -> _Scenario:
    """A constant error ratio from t=0: a tier's condition holds from the first evaluation with two samples on,
    so each tier fires once its `for` has passed, when the ratio is above its threshold."""
    slo = plan.spec.slos[name]
    tiers = _tiers(slo)
    burn = f"{ratio / error_budget(slo):.3g}x the budget"
    sc = _Scenario(plan, name, f"{percent(ratio)} errors ({burn}) {outcome}")
    first = {t.name: min([m for m, f in _simulate(t, lambda m: m >= _STEP, 24 * 60).items() if f] or [0])
             for t in tiers}
    times = sorted(set(first.values()))
    if outcome == "pages":  # tickets are the other scenarios' business: stop once every page tier fired
        times = [m for m in times if m <= max(first[t.name] for t in tiers if t.action == "page")]
    for text, role in series:
        sc.series.append({"series": text, "values": _ramp(_per_minute(role, s.counts_good, rate, ratio),
                                                          times[-1] + 1)})
    for minute in times:
        sc.expect_alerts(minute, [t for t in tiers if can_fire(slo, t) and ratio > burn_threshold(slo, t)
                                  and first[t.name] <= minute], ratio)
    if check_records:
        _expect_recorded(sc, times[-1], ratio)
    return sc


def _expect_recorded(sc: _Scenario, minute: int, ratio: float) -> None:
    """Every recorded ratio and burn rate near its exact value (counted, so no float is compared exactly)."""
    spec, name, slo = sc.plan.spec, sc.name, sc.slo
    burn = ratio / error_budget(slo)
    checks = [(RATIO.format(window=w), ratio) for w in dict.fromkeys(alert_windows(slo) + [window_name(slo.period)])]
    checks += [(CURRENT_BURN, burn), (PERIOD_BURN, burn), (REMAINING, 1 - burn)]
    for rec, want in checks:
        tolerance = number(float(f"{abs(want) * 1e-6 + 1e-12:.3g}"))
        sc.expect_value(minute, f"count(abs({_sel(spec, name, rec)} - {number(want)}) <= {tolerance})", 1)


def _burst_worlds(tier: Tier, events: int, min_events: int) -> list[object]:
    """The tier's condition per evaluation during a burst where every event fails, under each reading of range
    windows: Prometheus 2 (left edge included), 3 (excluded), 3 with increase() extrapolating a minute."""
    start, length = _BURST_START, _BURST_LENGTH
    short, long = parse_duration(tier.short) / 60, parse_duration(tier.long) / 60

    def steps(window: float, t: int, closed: bool) -> int:
        # minutes whose increase lies inside the window: samples i-1 and i both in it
        low = t - window + (0 if closed else 1)
        return sum(1 for i in range(start + 1, start + length + 1) if i - 1 >= low and i <= t)

    def world(closed: bool, stretch: float) -> object:
        return lambda t: (steps(short, t, closed) > 0
                          and steps(long, t, closed) * events / length * stretch >= min_events)

    return [world(True, 1.0), world(False, 1.0), world(False, long / (long - 1))]


def _low_traffic(plan: Plan, name: str, s: Sli, series: list[tuple[str, str]], tiers: list[Tier]) -> list:
    """A burst where every event fails: with half min_events it stays quiet; with twice min_events each tier fires
    while its short window still holds the burst."""
    slo = plan.spec.slos[name]
    live = [t for t in tiers if can_fire(slo, t)]
    small, big, guard = slo.alerting.min_events // 2, slo.alerting.min_events * 2, slo.alerting.min_events
    horizon = _BURST_START + _BURST_LENGTH + max(parse_duration(t.short) / 60 for t in live) if live else 0
    horizon = int(math.ceil(horizon / _STEP) * _STEP)

    def firing(events: int) -> list[dict[int, frozenset[str]]]:
        """Per reading of windows: evaluation minute -> the tiers firing."""
        out = []
        for w in range(3):
            per_tier = {t.name: _simulate(t, _burst_worlds(t, events, guard)[w], horizon) for t in live}
            out.append({m: frozenset(n for n, f in per_tier.items() if f[m]) for m in range(0, horizon + 1, _STEP)})
        return out

    loud, quiet = firing(big), firing(small)
    times = []
    for t in live:
        agreed = [m for m in sorted(loud[0]) if t.name in loud[0][m] and all(w[m] == loud[0][m] for w in loud)
                  and all(not w[m] for w in quiet)]
        if agreed:
            times.append(agreed[len(agreed) // 2])
    times = sorted(set(times))
    if not times:
        return []
    out = []
    for events, states, title in (
            (small, quiet, f"a burst of {small} failing event{'s' * (small != 1)}, under min_events {guard}, stays quiet"),
            (big, loud, f"the same burst with {big} failing events (over min_events) fires")):
        sc = _Scenario(plan, name, title)
        sc.burst = True
        ramp = " ".join(number(round(i * events / _BURST_LENGTH, 6)) for i in range(1, _BURST_LENGTH + 1))
        end = max(times[-1], _BURST_START + _BURST_LENGTH + 1)
        for text, role in series:
            # every event fails: the bad series (or the not-good one) and the total ramp up, good ones stay flat
            jumps = role in ("total", "rest" if s.counts_good else "event")
            values = f"0x{_BURST_START} {ramp} {number(events)}x{end - _BURST_START - _BURST_LENGTH - 1}"
            sc.series.append({"series": text, "values": values if jumps else f"0x{end}"})
        for minute in times:
            sc.expect_alerts(minute, [t for t in live if t.name in states[0][minute]], 1.0)
        out.append(sc)
    return out
