"""promtool tests of the SLO rules (obsctl.backends.prometheus.slo): a healthy service, error ratios that page,
only ticket and stay quiet, and low traffic under and over the guard, each checked when the tiers' `for` has passed.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from ..compile.promql import matchers_text, number
from ..durations import format_duration, parse_duration
from ..plan import Plan
from ..plan.sli import Sli, sli
from ..plan.slos import (
    BUDGET,
    CURRENT_BURN,
    OBJECTIVE,
    PERIOD_BURN,
    RATIO,
    REMAINING,
    alert_annotations,
    alert_labels,
    alert_name,
    alert_names,
    alert_windows,
    percent,
    record_labels,
    record_selector,
    window_name,
)
from ..slo import Tier, burn_threshold, can_fire, effective_tiers, error_budget, scenario_ratios
from .gotemplate import humanize_percentage
from .regex_examples import examples as _examples

if TYPE_CHECKING:
    from ..model import SLO, Spec

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
        words = (
            ("200", "500")
            if "code" in label
            else ("success", "failure")
            if any(k in label for k in ("status", "result", "outcome"))
            else ("other", "other")
        )
        cands += [*(words if good else words[::-1]), "obsctl", "0", ""]
        value = next((c for c in cands if all(_holds(op, v, c) for op, v in mine)), None)
        if value is None:
            return None
        out[label] = value
    return out


def _series_text(metric: str, labels: dict[str, str]) -> str:
    pairs = [(k, "=", v) for k, v in sorted(labels.items()) if v != ""]
    return f"{metric}{{{matchers_text(pairs)}}}" if pairs else metric


def kept_values(s: Sli) -> dict[str, str]:
    """The value every generated series carries for each label the SLI's aggregations keep: the selectors'
    pinned value, else `obsctl` (one objective of a `by:` SLO)."""
    pinned = {k: v for k, op, v in (s.total.matchers if s.total else ()) if op == "="}
    return {k: pinned.get(k, "obsctl") for k in s.keep}


def sli_series(s: Sli) -> list[tuple[str, str]] | None:
    """Series for an SLI and what each counts: "event" (the good or bad events), "rest" (the other events of
    the total's metric) or "total" (every event, when the total is another metric). None if no labels fit."""
    good = s.counts_good
    kept = kept_values(s)

    def text(metric: str, labels: dict[str, str]) -> str:
        return _series_text(metric, {**kept, **labels})

    if s.events.metric != s.total.metric:
        event = _label_values(list(s.events.matchers), good)
        total = _label_values(list(s.total.matchers), not good)
        if event is None or total is None:
            return None
        return [(text(s.events.metric, event), "event"), (text(s.total.metric, total), "total")]
    event = _label_values(list(s.total.matchers + s.events.matchers), good)
    if event is None:
        return None
    for m in s.events.matchers:
        if m in s.total.matchers:
            continue
        rest = _label_values(list(s.total.matchers) + [(m[0], _NEGATE[m[1]], m[2])], not good)
        if rest is not None:
            return [(text(s.events.metric, event), "event"), (text(s.total.metric, rest), "rest")]
    return None


def _when(minutes: int) -> str:
    return format_duration(minutes * 60)


class _Scenario:
    """One promtool test group of one SLO: input series, then alert and PromQL expectations."""

    def __init__(self, plan: Plan, name: str, title: str, kept: dict[str, str] | None = None) -> None:
        self.plan, self.name = plan, name
        self.title = f"{alert_name(plan.spec, name)}: {title}"  # `obsctl test` reports "<alert>: <scenario>"
        self.slo = plan.spec.slos[name]
        self.kept = kept or {}  # the values of the labels the SLI keeps, on every series of this test
        self.series: list[dict] = []
        self.alerts: list[dict] = []
        self.exprs: list[dict] = []
        self.burst = False  # a low-traffic burst scenario

    def expect_alerts(self, minute: int, firing: list[Tier], value: float) -> None:
        """At `minute` exactly these tiers fire, with `value` (the long window's error ratio) as $value."""
        spec = self.plan.spec
        # the alerts keep the records' series labels (alert_rule's `max without (sloth_window)`)
        series = {**record_labels(spec, self.name), **self.kept}
        for alertname in alert_names(spec, self.name):  # promtool expects alerts per alertname
            self.alerts.append(
                {
                    "eval_time": _when(minute),
                    "alertname": alertname,
                    "exp_alerts": [
                        {
                            "exp_labels": dict(
                                sorted({**series, **alert_labels(spec, self.name, t)}.items())
                            ),
                            "exp_annotations": alert_annotations(
                                spec, self.name, t, humanize_percentage(value)
                            ),
                        }
                        for t in firing
                        if alert_name(spec, self.name, t.action) == alertname
                    ],
                }
            )

    def expect_value(self, minute: int, expr: str, value: float, labels: str = "{}") -> None:
        self.exprs.append(
            {"expr": expr, "eval_time": _when(minute), "exp_samples": [{"labels": labels, "value": value}]}
        )

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
        alert = alert_name(plan.spec, name)
        if s.exprs is not None:
            which = ", ".join(f"sli.{p}" for p in s.exprs)
            notes.append(
                f"{alert}: every scenario: the SLI is written as expressions ({which}), so obsctl does not know "
                "which series feed it; test its rules with promtool by hand"
            )
            continue
        series = sli_series(s)
        if series is None:
            notes.append(
                f"{alert}: every scenario: no label values found that match both {s.events} and {s.total}"
            )
            continue
        scenarios = _scenarios(plan, name, s, series)
        tests += [sc.as_test() for sc in scenarios]
        notes += [f"{alert}: {why}" for why in _missing(plan.spec.slos[name], scenarios)]
    return tests, notes


def _missing(slo: SLO, scenarios: list) -> list[str]:
    if not _tiers(slo):
        return []
    out = [
        f"{role} scenario: no constant error ratio {what} with these tiers"
        for role, what in (("page", "pages"), ("ticket", "tickets without paging"), ("quiet", "stays quiet"))
        if scenario_ratios(slo)[role] is None
    ]
    if slo.alerting.min_events < 2:
        out.append("low-traffic burst: alerting.min_events is under 2, so no burst can stay under the guard")
    elif not any(sc.burst for sc in scenarios):
        out.append(
            "low-traffic burst: no tier can fire on a burst (each tier's `for` outlasts its short window)"
        )
    return out


def _tiers(slo: SLO) -> list[Tier]:
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
    sc = _Scenario(
        plan,
        name,
        "no errors (and no error series) records a 0% error ratio and a whole budget",
        kept_values(s),
    )
    at = 3 * _STEP
    for text, role in series:
        if s.counts_good or role != "event":
            sc.series.append(
                {"series": text, "values": _ramp(_per_minute(role, s.counts_good, rate, 0.0), at)}
            )
    period = window_name(slo.period)
    for w in dict.fromkeys(alert_windows(slo) + [period]):
        rec = RATIO.format(window=w)
        sc.expect_value(at, record_selector(spec, name, rec), 0, _record_series(spec, name, rec, w, sc.kept))
    sc.expect_value(
        at, record_selector(spec, name, REMAINING), 1, _record_series(spec, name, REMAINING, period, sc.kept)
    )
    sc.expect_value(
        at,
        record_selector(spec, name, OBJECTIVE),
        round(slo.objective / 100, 10),
        _record_series(spec, name, OBJECTIVE, None),
    )
    sc.expect_value(
        at, record_selector(spec, name, BUDGET), error_budget(slo), _record_series(spec, name, BUDGET, None)
    )
    if _tiers(slo):
        sc.expect_alerts(at, [], 0)
    return sc


def _record_series(
    spec: Spec, name: str, record: str, window: str | None, kept: dict[str, str] | None = None
) -> str:
    labels = {**record_labels(spec, name), **(kept or {})}
    if window:
        labels["sloth_window"] = window
    return _series_text(record, labels)


def _steady(
    plan: Plan,
    name: str,
    s: Sli,
    series: list[tuple[str, str]],
    rate: float,
    ratio: float,
    outcome: str,
    check_records: bool,
) -> _Scenario:
    """A constant error ratio from t=0: a tier's condition holds from the first evaluation with two samples on,
    so each tier fires once its `for` has passed, when the ratio is above its threshold."""
    slo = plan.spec.slos[name]
    tiers = _tiers(slo)
    burn = f"{ratio / error_budget(slo):.3g}x the budget"
    sc = _Scenario(plan, name, f"{percent(ratio)} errors ({burn}) {outcome}", kept_values(s))
    first = {
        t.name: min([m for m, f in _simulate(t, lambda m: m >= _STEP, 24 * 60).items() if f] or [0])
        for t in tiers
    }
    times = sorted(set(first.values()))
    if outcome == "pages":  # tickets are the other scenarios' business: stop once every page tier fired
        times = [m for m in times if m <= max(first[t.name] for t in tiers if t.action == "page")]
    for text, role in series:
        sc.series.append(
            {"series": text, "values": _ramp(_per_minute(role, s.counts_good, rate, ratio), times[-1] + 1)}
        )
    for minute in times:
        sc.expect_alerts(
            minute,
            [
                t
                for t in tiers
                if can_fire(slo, t) and ratio > burn_threshold(slo, t) and first[t.name] <= minute
            ],
            ratio,
        )
    if check_records:
        _expect_recorded(sc, times[-1], ratio)
    return sc


def _expect_recorded(sc: _Scenario, minute: int, ratio: float) -> None:
    """Every recorded ratio and burn rate near its exact value (counted, so no float is compared exactly)."""
    spec, name, slo = sc.plan.spec, sc.name, sc.slo
    burn = ratio / error_budget(slo)
    checks = [
        (RATIO.format(window=w), ratio) for w in dict.fromkeys(alert_windows(slo) + [window_name(slo.period)])
    ]
    checks += [(CURRENT_BURN, burn), (PERIOD_BURN, burn), (REMAINING, 1 - burn)]
    for rec, want in checks:
        tolerance = number(float(f"{abs(want) * 1e-6 + 1e-12:.3g}"))
        sc.expect_value(
            minute, f"count(abs({record_selector(spec, name, rec)} - {number(want)}) <= {tolerance})", 1
        )


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
        return lambda t: (
            steps(short, t, closed) > 0 and steps(long, t, closed) * events / length * stretch >= min_events
        )

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
            out.append(
                {m: frozenset(n for n, f in per_tier.items() if f[m]) for m in range(0, horizon + 1, _STEP)}
            )
        return out

    loud, quiet = firing(big), firing(small)
    times = []
    for t in live:
        agreed = [
            m
            for m in sorted(loud[0])
            if t.name in loud[0][m] and all(w[m] == loud[0][m] for w in loud) and all(not w[m] for w in quiet)
        ]
        if agreed:
            times.append(agreed[len(agreed) // 2])
    times = sorted(set(times))
    if not times:
        return []
    out = []
    for events, states, title in (
        (
            small,
            quiet,
            f"a burst of {small} failing event{'s' * (small != 1)}, under min_events {guard}, stays quiet",
        ),
        (big, loud, f"the same burst with {big} failing events (over min_events) fires"),
    ):
        sc = _Scenario(plan, name, title, kept_values(s))
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


def tests_evaluation_interval() -> str:
    """The evaluation interval the SLO tests run at (coarser than production: see above)."""
    return _when(_STEP)
