"""promtool unit tests for the Prometheus alerts: the spec's own `tests:` section plus scenarios generated per alert.

Generated scenarios, per enabled Prometheus alert:
  * fires    — inputs that hold the condition (and its volume guard): quiet one interval before `for` has
               elapsed (earlier when a spec test checks the alert then), firing after it, with the exact
               labels and annotations Prometheus will produce;
  * quiet    — the guard holds but the condition does not: nothing fires;
  * guarded  — the condition holds but the volume guard does not: nothing fires.
Inputs are synthetic series for the metrics the rule reads (found by walking its PromQL, recording rules
inlined), with values picked by evaluating the rule (obsctl.testgen.promsim) until a choice holds with a
margin: nudging any input by 20-25% does not flip the outcome. Expected labels and annotations come from the
same evaluation; annotations are rendered like Prometheus does (obsctl.testgen.gotemplate). What cannot be
generated is never dropped silently: it is listed in the file as a `# not generated:` comment, which
`obsctl test` reports; a test of the spec's own `tests:` that cannot be turned into a promtool test (a typo in
its series or values notation, an alert promtool cannot evaluate) is listed the same way and fails `obsctl test`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import promql_parser as pp

from ..durations import format_duration, parse_duration
from ..expr import ast
from ..workers import map_in_order
from . import gotemplate
from .regex_examples import example

if TYPE_CHECKING:
    from ..backends import Renderer
    from ..plan import Plan
from .promsim import (
    MAX_SAMPLES,
    Evaluator,
    Sample,
    Series,
    Unsupported,
    World,
    fmt_number,
    parse,
    parse_series,
    parse_values,
    series_text,
)

NOT_GENERATED = "# not generated: "
NEVER_FIRES = "can never fire: "  # a `# not generated:` reason that `obsctl test` reports as a failure
SPEC_TEST = "spec test "
DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
COUNTER_STEPS = [1, 10, 100, 1000, 0, 5, 50, 500, 2, 20, 200, 2000, 10000, 5000, 100000, 1000000]
MAX_COMBINATIONS = 4096
PARALLEL_FROM_ALERTS = 200  # below this, starting workers costs more than it saves
MAX_VARIABLES = 6
MAX_HORIZON_MS = (
    6 * 3600 * 1000
)  # simulated time per scenario: promtool evaluates the whole rule file each step


@dataclass
class Check:
    eval_time: int  # ms
    alertname: str
    alerts: list[dict] = field(default_factory=list)  # [{"labels": {...}, "annotations": {...}}]


@dataclass
class TestGroup:
    name: str
    interval: int  # ms
    series: list[tuple[str, str]]  # (series notation, values notation)
    checks: list[Check]


@dataclass
class Skipped:
    alert: str
    scenario: str
    reason: str


@dataclass
class AlertRule:
    name: str
    when: str
    guard: str | None
    expr: str
    for_ms: int
    keep_firing_for_ms: int
    labels: dict[str, str]
    annotations: dict[str, str]


# -- the rules under test -------------------------------------------------------------------------------------


def _rules(groups: list) -> tuple[list[AlertRule], dict[str, tuple[object, dict[str, str]]]]:
    records = {}
    alerts = []
    for g in groups:
        for r in g.rules:
            if r.record:
                records[r.record] = (parse(r.expr), dict(r.labels))
            else:
                alerts.append(
                    AlertRule(
                        r.alert,
                        r.when,
                        r.guard,
                        r.expr,
                        _ms(r.for_),
                        _ms(r.keep_firing_for),
                        r.labels,
                        r.annotations,
                    )
                )
    return alerts, records


def _ms(duration: str) -> int:
    return int(parse_duration(duration or "0s") * 1000)


def _children(node: object) -> list[object]:
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return [node.expr]
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, pp.AggregateExpr):
        return [node.expr] + ([node.param] if node.param is not None else [])
    if isinstance(node, pp.Call):
        return list(node.args)
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    return []


@dataclass
class _Leaf:
    name: str
    matchers: list[tuple[str, object, str]]
    in_range: str | None  # the range function applied to it, if any


def _leaves(node: object, records: dict, func: str | None = None, seen: tuple = ()) -> list[_Leaf]:
    if isinstance(node, pp.VectorSelector):
        if node.name in records:
            if node.name in seen:
                raise Unsupported("recording rules that refer to themselves")
            return _leaves(records[node.name][0], records, None, seen + (node.name,))
        return [_Leaf(node.name or "", [(m.name, m.op, m.value) for m in node.matchers.matchers], func)]
    if isinstance(node, pp.Call):
        func = node.func.name
    out = []
    for c in _children(node):
        out += _leaves(c, records, func if isinstance(c, pp.MatrixSelector) else None, seen)
    return out


def _numbers(node: object, records: dict) -> list[float]:
    if isinstance(node, pp.NumberLiteral):
        return [float(node.val)]
    if isinstance(node, pp.VectorSelector) and node.name in records:
        return _numbers(records[node.name][0], records)
    return [v for c in _children(node) for v in _numbers(c, records)]


def _max_range(node: object, records: dict) -> int:
    if isinstance(node, pp.MatrixSelector):
        off = node.vector_selector.offset
        return int((node.range.total_seconds() + (off.total_seconds() if off else 0)) * 1000)
    if isinstance(node, pp.VectorSelector):
        off = int(node.offset.total_seconds() * 1000) if node.offset else 0
        return off + (_max_range(records[node.name][0], records) if node.name in records else 0)
    return max([_max_range(c, records) for c in _children(node)], default=0)


# -- synthetic inputs -----------------------------------------------------------------------------------------


def _matches(labels: dict[str, str], matchers: list[tuple[str, object, str]]) -> bool:
    for name, op, value in matchers:
        v = labels.get(name, "")
        if op == pp.MatchOp.Equal and v != value or op == pp.MatchOp.NotEqual and v == value:
            return False
        if op in (pp.MatchOp.Re, pp.MatchOp.NotRe):
            hit = re.fullmatch(value, v, flags=re.DOTALL) is not None
            if hit != (op == pp.MatchOp.Re):
                return False
    return True


def _concrete(leaf: _Leaf) -> dict[str, str]:
    """A label set satisfying every matcher of the selector."""
    labels: dict[str, str] = {}
    for name, op, value in leaf.matchers:
        if op == pp.MatchOp.Equal:
            labels[name] = value
        elif op == pp.MatchOp.Re:
            ex = example(value)
            if ex is None:
                raise Unsupported(f"no example value for {name}=~{value!r}")
            if ex:
                labels[name] = ex
    for name, op, value in leaf.matchers:
        if op in (pp.MatchOp.NotEqual, pp.MatchOp.NotRe) and not _matches(labels, [(name, op, value)]):
            labels[name] = next(
                (c for c in ("x", "other", "1", "none") if _matches({name: c}, [(name, op, value)])), "x"
            )
    if not _matches(labels, leaf.matchers):
        raise Unsupported(f"cannot build a series for {leaf.name} that matches all its matchers")
    return {k: v for k, v in labels.items() if v != "" and k != "__name__"}


@dataclass
class _Family:
    """Input series that share one variable (or two, for a histogram)."""

    kind: str  # counter | gauge | histogram
    name: str
    labels: dict[str, str]
    bounds: list[float] = field(default_factory=list)
    # one series (or histogram) per variant, all fed the same values: the labels the catalog declares and the
    # selectors leave free, with two values each, so a rule that drops or mismatches labels shows it
    variants: list[dict[str, str]] = field(default_factory=lambda: [{}])

    def variables(self, gauge_candidates: list[float], counter_candidates: list[float]) -> list[list[float]]:
        if self.kind == "counter":
            return [counter_candidates]
        if self.kind == "gauge":
            return [gauge_candidates]
        # observations per interval, and the bucket they fall in (len(bounds) = above the last bound)
        return [[10.0, 100.0, 1.0, 1000.0], [float(i) for i in range(len(self.bounds) + 1)]]

    def series(self, values: list[float], steps: int) -> list[tuple[dict[str, str], str]]:
        return [s for v in self.variants for s in self._series({**v, **self.labels}, values, steps)]

    def _series(
        self, base: dict[str, str], values: list[float], steps: int
    ) -> list[tuple[dict[str, str], str]]:
        if self.kind == "counter":
            return [(base | {"__name__": self.name}, f"0+{fmt_number(values[0])}x{steps}")]
        if self.kind == "gauge":
            return [(base | {"__name__": self.name}, f"{fmt_number(values[0])}x{steps}")]
        n, k = values[0], int(values[1])
        obs = (
            self.bounds[k] if k < len(self.bounds) else (self.bounds[-1] * 2 if self.bounds[-1] > 0 else 1.0)
        )
        out = []
        for i, b in enumerate(self.bounds + [math.inf]):
            le = "+Inf" if math.isinf(b) else fmt_number(b)
            inc = n if i >= k else 0.0
            out.append((base | {"__name__": f"{self.name}_bucket", "le": le}, f"0+{fmt_number(inc)}x{steps}"))
        out.append((base | {"__name__": f"{self.name}_sum"}, f"0+{fmt_number(n * obs)}x{steps}"))
        out.append((base | {"__name__": f"{self.name}_count"}, f"0+{fmt_number(n)}x{steps}"))
        return out


def _families(plan: Plan, leaves: list[_Leaf]) -> list[_Family]:
    from ..plan.probes import probe_job

    spec = plan.spec
    probe_jobs = {p.url: probe_job(spec, n) for n, p in spec.sources.probes.items()}
    fams: dict[tuple, _Family] = {}
    # values other selectors give a label (code="500"): a free label takes them first, so the series still meet
    known: dict[str, list[str]] = {}
    for leaf in leaves:
        for label, op, value in leaf.matchers:
            if op == pp.MatchOp.Equal and value:
                known.setdefault(label, [])
                if value not in known[label]:
                    known[label].append(value)
    for leaf in leaves:
        name, kind, bounds = leaf.name, None, []
        if not name:
            raise Unsupported("a selector without a metric name")
        m = spec.metrics.get(name)
        for part in ("_bucket", "_sum", "_count"):
            base = spec.metrics.get(name.removesuffix(part)) if name.endswith(part) else None
            if base is not None and base.kind == "histogram":
                name, kind, bounds = (
                    name.removesuffix(part),
                    "histogram",
                    list(base.buckets or DEFAULT_BUCKETS),
                )
            elif base is not None and base.kind == "summary":
                kind = "counter"
        if kind is None:
            if m is not None and m.kind in ("counter", "gauge"):
                kind = m.kind
            elif m is not None and m.kind == "histogram":
                raise Unsupported(f"the histogram {name} read without _bucket/_sum/_count")
            elif m is not None and m.kind == "summary":
                kind = "gauge"
            else:
                kind = "counter" if leaf.in_range in ("rate", "increase", "irate", "resets") else "gauge"
        matchers = [x for x in leaf.matchers if not (kind == "histogram" and x[0] == "le")]
        labels = _concrete(_Leaf(name, matchers, leaf.in_range))
        if name == "probe_success" and labels.get("instance") in probe_jobs:
            labels.setdefault("job", probe_jobs[labels["instance"]])
        key = (kind, name, tuple(sorted(labels.items())))
        fams.setdefault(
            key, _Family(kind, name, labels, bounds, _variants(plan, name, labels, matchers, known))
        )
    return list(fams.values())


def _variants(
    plan: Plan, name: str, labels: dict[str, str], matchers: list, known: dict[str, list[str]]
) -> list[dict[str, str]]:
    """Two label sets for a metric's series: each label the catalog declares (and `defaults.by`) that no matcher
    fixes gets two distinct values, so an expression that keeps it sees two series to tell apart."""
    m = plan.spec.metrics.get(name)
    fixed = {x[0] for x in matchers} | set(labels) | {"__name__", "le"}
    free = [
        x
        for x in dict.fromkeys([*(m.labels if m is not None else []), *plan.spec.defaults.by])
        if x not in fixed
    ]
    if not free or m is None:
        return [{}]

    def values(label: str) -> list[str]:
        return list(dict.fromkeys([*known.get(label, []), f"{label}-1", f"{label}-2"]))[:2]

    return [{x: values(x)[i] for x in free} for i in (0, 1)]


def _counter_candidates(numbers: list[float]) -> list[float]:
    """Increments per interval: round numbers first, then ones scaled from the rule's thresholds (a raw counter
    compared with 1e7 needs big steps), then fractions (a volume guard of 10 per hour needs less than 1/min)."""
    cands = [float(x) for x in COUNTER_STEPS]
    for c in numbers:
        for x in (c, c / 2, c / 5, c / 10, c / 60, c * 2):
            if x >= 1:
                cands.append(float(round(x)))
    cands += [0.1, 0.5, 1e7, 1e8]
    return list(dict.fromkeys(cands))


def _gauge_candidates(numbers: list[float]) -> list[float]:
    cands: list[float] = [1.0, 0.0, 10.0, 100.0]
    for c in numbers:
        for x in (c * 2, c / 2, c * 10, c / 10, c + 1, c - 1, -c):
            cands.append(float(f"{x:.6g}"))
    cands += [1000.0, 0.5, 0.1, 0.01]
    return list(dict.fromkeys(cands))


# -- search ---------------------------------------------------------------------------------------------------


@dataclass
class _Problem:
    plan: Plan
    rule: AlertRule
    records: dict
    families: list[_Family]
    candidates: list[list[float]]  # one list per variable
    owners: list[tuple[int, int]]  # variable -> (family index, slot)
    interval: int  # ms
    window: int  # ms, the longest range the rule reads
    # outcome() per (values, t): the searches for "fires", "quiet" and "guarded" try the same candidates
    outcomes: dict[tuple, tuple[bool, bool, bool]] = field(default_factory=dict)
    texts: dict[tuple, str] = field(default_factory=dict)  # series notation per label set

    def world(self, values: list[float], steps: int) -> tuple[World, list[tuple[str, str]]]:
        series, text = [], []
        seen: set[tuple] = set()
        for fi, fam in enumerate(self.families):
            vals = [values[v] for v, (f, _) in enumerate(self.owners) if f == fi]
            for labels, notation in fam.series(vals, steps):
                key = tuple(sorted(labels.items()))
                if key in seen:  # a variant that is another selector's series (code="500"): that one feeds it
                    continue
                seen.add(key)
                series.append(Series(labels, parse_values(notation)))
                if key not in self.texts:  # the same label sets for every candidate
                    self.texts[key] = series_text(labels)
                text.append((self.texts[key], notation))
        return World(series, self.interval, self.records), text

    def outcome(self, values: list[float], t: int) -> tuple[bool, bool, bool]:
        """(condition holds, guard holds, the alert expression returns something) at time t."""
        key = (*values, t)
        if key not in self.outcomes:
            self.outcomes[key] = self._outcome(values, t)
        return self.outcomes[key]

    def _outcome(self, values: list[float], t: int) -> tuple[bool, bool, bool]:
        world, _ = self.world(values, t // self.interval + 1)
        ev = Evaluator(world)
        cond = bool(ev.vector(self.rule.when, t))
        guard = bool(ev.vector(self.rule.guard, t)) if self.rule.guard else True
        return cond, guard, bool(ev.vector(self.rule.expr, t)) if self.rule.guard else cond


@functools.lru_cache(maxsize=256)
def _combinations(sizes: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Every choice of one candidate per variable, the most preferred (lowest indexes) first. The same few
    shapes recur for every alert, so the order is computed once per shape."""
    return tuple(sorted(itertools.product(*[range(n) for n in sizes]), key=lambda idx: (sum(idx), idx)))


def _search(p: _Problem, goal: str) -> list[float] | None:
    """Input values (in order of preference) for which `goal` holds, with a margin when one exists."""
    n = len(p.candidates)
    if n > MAX_VARIABLES:
        raise Unsupported(f"the rule reads {n} inputs; the generator handles up to {MAX_VARIABLES}")
    per = max(2, int(MAX_COMBINATIONS ** (1 / max(n, 1))))
    cands = [c[:per] for c in p.candidates]
    combos = _combinations(tuple(len(c) for c in cands))
    t = p.window + 2 * p.interval

    def ok(values: list[float]) -> bool:
        cond, guard, whole = p.outcome(values, t)
        return {
            "fires": cond and guard and whole,
            "quiet": not cond and guard,
            "guarded": cond and not guard,
        }[goal]

    fallback = None
    for idx in combos:
        values = [cands[v][i] for v, i in enumerate(idx)]
        if not ok(values):
            continue
        if fallback is None:
            fallback = values
        robust = True
        for v, (fi, slot) in enumerate(p.owners):
            if p.families[fi].kind == "histogram" and slot == 1 or values[v] == 0:
                continue
            for f in (0.8, 1.25):
                nudged = list(values)
                nudged[v] = values[v] * f
                if not ok(nudged):
                    robust = False
                    break
            if not robust:
                break
        if robust:
            return values
    return fallback


# -- expected alerts ------------------------------------------------------------------------------------------


def _expected(rule: AlertRule, samples: list[Sample]) -> list[dict]:
    """exp_alerts entries: labels = series labels + rule labels (no __name__), annotations rendered."""
    out = []
    for s in samples:
        labels = {k: v for k, v in s.labels.items() if k != "__name__"}
        for k, v in rule.labels.items():
            labels[k] = gotemplate.render(v, s.value, s.labels) if "{{" in v else v
        ann = {
            k: gotemplate.render(v, s.value, s.labels) if "{{" in v else v
            for k, v in rule.annotations.items()
        }
        out.append({"labels": dict(sorted(labels.items())), "annotations": dict(sorted(ann.items()))})
    return sorted(out, key=lambda a: sorted(a["labels"].items()))


def _timeline(ev: Evaluator, rule: AlertRule, until: int, interval: int) -> dict[int, list[Sample]]:
    """Firing alert samples per evaluation time up to `until`, following Prometheus 2.42: pending until `for` has
    passed since the series appeared, then firing; `keep_firing_for` keeps a firing alert (with its last value)
    after the condition clears."""
    return dict(_steps(ev, rule, until, interval))


def _steps(ev: Evaluator, rule: AlertRule, until: int, interval: int) -> Iterator[tuple[int, list[Sample]]]:
    """_timeline one evaluation at a time, so a caller that has seen what it needs stops evaluating."""
    active: dict[tuple, list] = {}  # key -> [active since, last sample, firing, keep-firing since]
    for t in range(0, until + 1, interval):
        now = {}
        for s in ev.vector(rule.expr, t):
            now[tuple(sorted((a, b) for a, b in s.labels.items() if a != "__name__"))] = s
        for k, s in now.items():
            state = active.setdefault(k, [t, s, False, None])
            state[1], state[3] = s, None
        for k in list(active):
            state = active[k]
            if k not in now:
                if state[2] and rule.keep_firing_for_ms:
                    state[3] = t if state[3] is None else state[3]
                    if t - state[3] < rule.keep_firing_for_ms:
                        continue
                del active[k]
            elif t - state[0] >= rule.for_ms:
                state[2] = True
        yield t, [state[1] for state in active.values() if state[2]]


def _as_of(
    steps: Iterator[tuple[int, list[Sample]]], t: int, interval: int, before: list[Sample]
) -> list[Sample]:
    """The firing alerts as of time `t`: those of the last evaluation step at or before it, as promtool checks an
    `eval_time` between two steps (`before`: the alerts of the step the iterator last gave, if any). A check time
    off the grid (a 5m window with a 2m interval) used to end in a KeyError."""
    samples = before
    for at, alerts in steps:
        samples = alerts
        if at + interval > t:
            break
    return samples


class _Times:
    """Evaluation times per alert are kept unique across the file, so a promtool failure names one scenario."""

    def __init__(self, interval: int) -> None:
        self.used: set[tuple[str, int]] = set()
        self.interval = interval

    def take(self, alert: str, t: int) -> int:
        """`t`, or the first free time after it: for checks whose outcome holds from `t` on."""
        while (alert, t) in self.used:
            t += self.interval
        self.used.add((alert, t))
        return t

    def take_before(self, alert: str, t: int) -> int | None:
        """`t`, or the last free time before it (None when there is none): for a "quiet before `for`" check,
        which a later time would turn into a firing one."""
        while (alert, t) in self.used:
            t -= self.interval
        if t < 0:
            return None
        self.used.add((alert, t))
        return t


def _generate(
    plan: Plan, rule: AlertRule, records: dict, interval: int, times: _Times
) -> tuple[list[TestGroup], list[Skipped]]:
    groups: list[TestGroup] = []
    skipped: list[Skipped] = []
    for_text = format_duration(rule.for_ms / 1000)
    after = f" for longer than {for_text}" if rule.for_ms else ""
    if plan.spec.alerts[rule.name].probe and not plan.spec.alerts[rule.name].overrides.promql:
        titles = {"fires": f"fires when the probe fails{after}", "quiet": "quiet while the probe succeeds"}
    else:
        titles = {
            "fires": f"fires above the threshold{after}",
            "quiet": "quiet below the threshold",
            "guarded": "quiet under the volume guard",
        }
    goals = ["fires", "quiet"] + (["guarded"] if rule.guard else [])
    try:
        whole = parse(rule.expr)
        leaves = _leaves(whole, records)
        families = _families(plan, leaves)
        numbers = _numbers(whole, records)
        cands, owners = [], []
        for fi, fam in enumerate(families):
            for slot, c in enumerate(fam.variables(_gauge_candidates(numbers), _counter_candidates(numbers))):
                cands.append(c)
                owners.append((fi, slot))
        window = max(_max_range(whole, records), interval)
        if window + rule.for_ms > MAX_HORIZON_MS:
            raise Unsupported(
                f"it needs {format_duration((window + rule.for_ms) / 1000)} of history; promtool would "
                f"evaluate the whole rule file every {format_duration(interval / 1000)} over that span "
                f"(the generator stops at {format_duration(MAX_HORIZON_MS / 1000)})"
            )
        problem = _Problem(plan, rule, records, families, cands, owners, interval, window)
    except (Unsupported, ValueError) as e:
        return [], [Skipped(rule.name, titles[g], str(e)) for g in goals]
    never = _never_matches(plan, rule, problem)
    if never:
        skipped.append(Skipped(rule.name, titles["fires"], NEVER_FIRES + never))
        goals = [g for g in goals if g != "fires"]
    for goal in goals:
        try:
            values = _search(problem, goal)
            if values is None:
                skipped.append(Skipped(rule.name, titles[goal], "no input values found that make it hold"))
                continue
            horizon = window + rule.for_ms + 4 * interval
            steps = horizon // interval + 8
            world, series = problem.world(values, steps)
            # Evaluated step by step and only as far as needed: up to the check's time when it fires, to the
            # first firing step (or the horizon) when it must stay quiet.
            steps_of = _steps(Evaluator(world), rule, horizon, interval)
            if goal == "fires":
                found = next(((t, alerts) for t, alerts in steps_of if alerts), None)
                if found is None:
                    skipped.append(
                        Skipped(rule.name, titles[goal], "the generated input did not make it fire")
                    )
                    continue
                first, samples = found
                checks = []
                quiet_at = times.take_before(rule.name, first - interval) if rule.for_ms else None
                if quiet_at is not None:  # still pending: every time before `first` is quiet in this scenario
                    checks.append(Check(quiet_at, rule.name, []))
                t = times.take(rule.name, max(first, window + interval))
                if t > horizon:
                    world, series = problem.world(values, t // interval + 8)
                    samples = _as_of(_steps(Evaluator(world), rule, t, interval), t, interval, [])
                elif t > first:  # the same inputs up to t: on from `first`
                    samples = _as_of(steps_of, t, interval, samples)
                checks.append(Check(t, rule.name, _expected(rule, samples)))
            else:
                if any(alerts for _, alerts in steps_of):
                    skipped.append(Skipped(rule.name, titles[goal], "the generated input made it fire"))
                    continue
                checks = [Check(times.take(rule.name, horizon), rule.name, [])]
            last = max(c.eval_time for c in checks)
            series = [(s, _fit(v, last // interval + 1)) for s, v in series]
            groups.append(TestGroup(f"{rule.name}: {titles[goal]}", interval, series, checks))
        except (Unsupported, gotemplate.Unsupported, ValueError) as e:
            skipped.append(Skipped(rule.name, titles[goal], str(e)))
    return groups, skipped


def _values_only(node: ast.Node) -> ast.Node:
    """The condition with each comparison turned into a subtraction: the same vector matching, no threshold."""
    if isinstance(node, ast.BinOp):
        op = "-" if node.op in ast.COMPARISONS and not node.return_bool else node.op
        return dataclasses.replace(node, op=op, left=_values_only(node.left), right=_values_only(node.right))
    return node


def _never_matches(plan: Plan, rule: AlertRule, p: _Problem) -> str:
    """Why the rule returns nothing even with every input series present (its sides, or its condition and its
    volume guard, have no label set in common), or "" when it can return something or that cannot be told."""
    from ..compile.promql import CompileError
    from ..plan.rules import guarded

    a = plan.alerts.get(rule.name)
    if a is None or a.when is None or a.probe or a.overrides.promql:
        return ""
    if any(
        isinstance(n, ast.Call)
        and n.func.startswith("absent")
        or isinstance(n, ast.BinOp)
        and n.op == "unless"
        for tree in (a.when, a.guard)
        if tree is not None
        for n in ast.walk(tree)
    ):
        return ""  # these return something only when series are missing
    try:
        pq = plan.promql()
        when = pq.compile(_values_only(a.when))
        guard = pq.compile(_values_only(a.guard)) if a.guard is not None else None
        world, _ = p.world([c[0] for c in p.candidates], (p.window + 2 * p.interval) // p.interval + 2)
        ev = Evaluator(world)
        t = p.window + 2 * p.interval
        if not ev.vector(when, t):
            return "with every input series present, its condition matches no series (its sides share no label set)"
        if guard is not None and ev.vector(guard, t) and not ev.vector(guarded(when, guard, a.guard_on), t):
            return "with every input series present, its volume guard never joins its condition (no label set in common)"
    except (CompileError, Unsupported, ValueError, KeyError):
        return ""
    return ""


def _fit(notation: str, steps: int) -> str:
    """Shorten `a+bxN` to the samples a check needs (N extra samples beyond the last eval do no harm, but
    keep the file small)."""
    head, _, _ = notation.rpartition("x")
    return f"{head}x{steps}"


# -- the spec's tests: section --------------------------------------------------------------------------------


def _spec_tests(
    plan: Plan, rules: dict[str, AlertRule], records: dict, times: _Times, dry: bool = False
) -> tuple[list[TestGroup], list[Skipped]]:
    """The spec's `tests:` as promtool test groups, and the expectations that cannot become one. `dry`
    (validate) evaluates each expectation at its own time only, not the alert's whole timeline: the same
    constructs and labels, so the same refusals, at a fraction of the cost."""
    groups, skipped = [], []
    for t in plan.spec.tests:
        label = spec_test_label(t.name)
        interval = int(parse_duration(t.interval) * 1000)
        try:
            series = [Series(parse_series(s), parse_values(v)) for s, v in t.series.items()]
        except Unsupported as e:  # a typo in the user's notation: obsctl test reports the test as failed
            alerts = dict.fromkeys(a for exp in t.expect for a in exp.firing + exp.quiet) or ["-"]
            skipped += [Skipped(a, label, str(e)) for a in alerts]
            continue
        ev = Evaluator(World(series, interval, records))
        checks = []
        for exp in t.expect:
            at = int(parse_duration(exp.at) * 1000)
            for name, fires in [(a, True) for a in exp.firing] + [(a, False) for a in exp.quiet]:
                a = plan.spec.alerts.get(name)
                if a is None or not a.enabled or plan.alerts[name].ruler != "prometheus":
                    why = (
                        "the alert is disabled"
                        if a is not None and not a.enabled
                        else "the alert is evaluated by the Loki ruler; promtool runs PromQL only"
                    )
                    skipped.append(Skipped(name, label, why))
                    continue
                if at // interval > MAX_SAMPLES:
                    skipped.append(
                        Skipped(
                            name,
                            label,
                            f"at {exp.at} is {at // interval:,} steps of {t.interval}; a test evaluates at "
                            f"most {MAX_SAMPLES:,}",
                        )
                    )
                    continue
                times.used.add((name, at))
                if not fires:
                    checks.append(Check(at, name, []))
                    continue
                rule = rules[name]
                try:
                    timeline = not dry and at % interval == 0
                    samples = _timeline(ev, rule, at, interval).get(at, []) if timeline else []
                    if not samples:
                        samples = ev.vector(rule.expr, at) or [Sample({}, math.nan)]
                    checks.append(Check(at, name, _expected(rule, samples)))
                except (Unsupported, gotemplate.Unsupported, ValueError) as e:
                    skipped.append(
                        Skipped(name, label, f"cannot compute the expected labels and annotations: {e}")
                    )
        if checks:
            groups.append(
                TestGroup(
                    f"spec test: {t.name}",
                    interval,
                    [(series_text(s.labels), v) for s, v in zip(series, t.series.values(), strict=True)],
                    checks,
                )
            )
    return groups, skipped


# -- the file -------------------------------------------------------------------------------------------------


def generate(plan: Plan, groups: list, spec_only: bool = False) -> tuple[list[TestGroup], list[Skipped]]:
    """Every test group for the Prometheus rules in `groups` (spec tests first), and what was not generated.
    `spec_only` (a dry run): the spec's own tests alone (what can fail a build), not the generated scenarios."""
    if spec_only and not plan.spec.tests:
        return [], []  # nothing that can fail: no rule need be read
    alerts, records = _rules(groups)
    interval = int(parse_duration(plan.spec.targets.prometheus.evaluation_interval) * 1000)
    times = _Times(interval)
    out, skipped = _spec_tests(plan, {a.name: a for a in alerts}, records, times, dry=spec_only)
    if spec_only:
        return out, skipped
    # Alerts of different names are independent (the times an alert's checks take are its own), so they are
    # generated on several cores; rules that share a name stay together and in order, and so does the output.
    by_name: dict[str, list[int]] = {}
    for i, rule in enumerate(alerts):
        by_name.setdefault(rule.name, []).append(i)

    def one_name(indexes: list[int]) -> list[tuple[int, tuple[list[TestGroup], list[Skipped]]]]:
        return [(i, _generate(plan, alerts[i], records, interval, times)) for i in indexes]

    generated = map_in_order(one_name, list(by_name.values()), PARALLEL_FROM_ALERTS)
    for _, (g, s) in sorted((pair for part in generated for pair in part), key=lambda pair: pair[0]):
        out += g
        skipped += s
    for name, a in plan.spec.alerts.items():
        if a.enabled and plan.alerts[name].ruler == "loki":
            skipped.append(
                Skipped(name, "generated scenarios", "evaluated by the Loki ruler; promtool runs PromQL only")
            )
    return out, skipped


def _yaml_group(g: TestGroup) -> dict:
    return {
        "name": g.name,
        "interval": format_duration(g.interval / 1000),
        "series": g.series,
        "checks": [
            {"eval_time": format_duration(c.eval_time / 1000), "alertname": c.alertname, "alerts": c.alerts}
            for c in sorted(g.checks, key=lambda c: (c.eval_time, c.alertname))
        ],
    }


def test_file(plan: Plan, renderer: Renderer, groups: list, rule_file: str) -> str:
    """The promtool unit-test file for `rule_file` (a path relative to the test file)."""
    # a dry run (validate) needs only what can fail: the spec's tests; generated scenarios are only ever listed
    tests, skipped = generate(plan, groups, spec_only=renderer.dry)
    _refuse_dropped_spec_tests(plan, skipped)
    order = [g.name for g in groups] if len(groups) > 1 else []
    return renderer.render(
        "prometheus/tests.yml.j2",
        rule_files=[rule_file],
        evaluation_interval=plan.spec.targets.prometheus.evaluation_interval,
        group_eval_order=order,
        tests=[_yaml_group(g) for g in tests],
        not_generated=[not_generated_line(s) for s in skipped],
    )


test_file.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name


def _refuse_dropped_spec_tests(plan: Plan, skipped: list[Skipped]) -> None:
    """What the spec's own `tests:` expect is never dropped silently: a build whose tests file would leave out one of
    those expectations fails, naming the test and why (generated scenarios that cannot be made are only listed)."""
    from ..diagnostics import BackendError

    index = {spec_test_label(t.name): i for i, t in enumerate(plan.spec.tests)}
    errors = []
    for s in skipped:
        if s.scenario in index:
            i = index[s.scenario]
            errors.append(
                plan.error(
                    "OBS602",
                    f"test '{plan.spec.tests[i].name}' expects {s.alert}, which cannot become a promtool "
                    f"test: {s.reason}",
                    ("tests", i, "expect"),
                    "fix the series notation or `at:`, or remove the expectation (promtool tests only Prometheus alerts)",
                )
            )
    if errors:
        raise BackendError(errors)


def not_generated_line(s: Skipped) -> str:
    """`<alert>: <scenario>: <reason>` on one line. The reason's whitespace is collapsed (tool messages span
    lines); the scenario is kept as it is, since a spec test's JSON-quoted name must read back exactly. The
    template escapes what is left that could end the comment (the `comment` filter)."""
    return f"{s.alert}: {s.scenario}: {' '.join(s.reason.split())}"


def not_generated(text: str) -> list[str]:
    """The `# not generated:` lines of a test file, for `obsctl test` to report."""
    return [
        line[len(NOT_GENERATED) :].strip() for line in text.splitlines() if line.startswith(NOT_GENERATED)
    ]


def spec_test_label(name: str) -> str:
    """How a `# not generated:` line names a test of the spec's `tests:` section: its name JSON-quoted, so the
    line reads back exactly (a name may hold ': ' or quotes), e.g. `spec test "queue backs up"`."""
    return SPEC_TEST + json.dumps(name, ensure_ascii=False)


def read_not_generated(line: str) -> tuple[str, str | None, str, str]:
    """(alert, spec test name or None for a generated scenario, scenario, reason) of a `not_generated()` line,
    which reads `<alert>: <scenario>: <reason>`. Alert names and generated scenario titles hold no ': '; a spec
    test's name is JSON-quoted (spec_test_label)."""
    alert, _, rest = line.partition(": ")
    if rest.startswith(SPEC_TEST + '"'):
        try:
            name, end = json.JSONDecoder().raw_decode(rest, len(SPEC_TEST))
        except ValueError:
            pass
        else:
            return alert, name, f"spec test: {name}", rest[end:].removeprefix(":").strip()
    scenario, _, reason = rest.partition(": ")
    return alert, None, scenario, reason
