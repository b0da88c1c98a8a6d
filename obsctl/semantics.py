"""Semantic checks with stable IDs, and the parsed, resolved expressions every backend compiles from.

IDs are stable: users silence or grep them. OBS1xx: the model (see loader); OBS2xx: expressions;
OBS3xx: alerts and routing; OBS4xx: SLOs; OBS5xx: dashboards; OBS6xx: tests.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .diagnostics import Diagnostic, Location, did_you_mean
from .durations import parse_duration
from .expr import ast
from .expr.parser import ExprSyntaxError, parse, unquote
from .model import RegexMatch
from .routing_regex import fullmatch as re2_fullmatch
from .routing_regex import re2_error
from .yamlsource import SourceMap

# name -> (min args, max args). What each does per backend lives in the compilers.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "rate": (1, 2), "irate": (1, 2), "increase": (1, 2), "delta": (1, 2),
    "avg_over_time": (1, 2), "max_over_time": (1, 2), "min_over_time": (1, 2), "sum_over_time": (1, 2),
    "deriv": (1, 2), "changes": (1, 2), "absent": (1, 1),
    "sum": (1, 1), "avg": (1, 1), "count": (1, 2), "min": (1, 2), "max": (1, 2),
    "topk": (2, 2), "bottomk": (2, 2), "quantile": (2, 2), "histogram_quantile": (2, 2),
    "abs": (1, 1), "ceil": (1, 1), "floor": (1, 1), "round": (1, 2), "clamp_min": (2, 2), "clamp_max": (2, 2),
}
COUNTER_FUNCS = {"rate", "irate", "increase", "delta"}
GAUGE_FUNCS = {"avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "deriv", "changes"}
RANGE_FUNCS = COUNTER_FUNCS | GAUGE_FUNCS
AGGREGATIONS = {"sum", "avg", "count", "min", "max", "topk", "bottomk", "quantile"}
GROUPABLE = AGGREGATIONS


@dataclass
class RefInfo:
    """What a name in an expression refers to."""

    kind: str  # counter | gauge | histogram | summary | derived | event | probe
    target: str  # catalog name (the histogram for `h_bucket`)
    series: str = ""  # "", "bucket", "sum", "count" for histogram/summary parts


@dataclass
class Analysis:
    """Parsed expressions (by spec path) plus every diagnostic found."""

    exprs: dict[tuple, ast.Node] = field(default_factory=dict)
    refs: dict[str, RefInfo] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]


class _Checker:
    def __init__(self, spec: object, smap: SourceMap) -> None:
        self.spec = spec
        self.smap = smap
        self.out = Analysis()

    # -- reporting --------------------------------------------------------------------------------------
    def report(self, code: str, level: str, message: str, path: tuple, hint: str = "",
               pos: ast.Pos | None = None, key: bool = False) -> None:
        loc = self.smap.locate(path, prefer_key=key)
        if loc and pos is not None:
            loc = self._inside(loc, path, pos)
        self.out.diagnostics.append(Diagnostic(code, level, message, loc, ".".join(str(p) for p in path), hint))

    def _inside(self, loc: Location, path: tuple, pos: ast.Pos) -> Location:
        # Point into the expression: exact for one-line plain and quoted scalars, the line for block scalars.
        line = self.smap.line_text(loc)
        text = line[loc.column - 1:]
        if pos.line == 1 and text[:1] in ("'", '"'):
            return Location(loc.file, loc.line, loc.column + pos.column)
        if pos.line == 1 and text[:1] not in ("|", ">"):
            return Location(loc.file, loc.line, loc.column + pos.column - 1)
        if text[:1] in ("|", ">"):
            return Location(loc.file, loc.line + pos.line, pos.column)
        return loc

    # -- names --------------------------------------------------------------------------------------------
    def build_refs(self) -> None:
        s = self.spec
        refs = self.out.refs
        owners: dict[str, str] = {}
        for section, names in (("metrics", s.metrics), ("derived", s.derived), ("events", s.events),
                               ("sources.probes", s.sources.probes)):
            for name in names:
                if name in owners:
                    path = tuple(section.split(".")) + (name,)
                    self.report("OBS230", "error", f"'{name}' is defined in both {owners[name]} and {section}",
                                path, "names are shared by metrics, derived metrics, events and probes", key=True)
                owners[name] = section
        for name, m in s.metrics.items():
            refs[name] = RefInfo(m.kind, name)
            parts = {"histogram": ("bucket", "sum", "count"), "summary": ("sum", "count")}.get(m.kind, ())
            for part in parts:
                refs.setdefault(f"{name}_{part}", RefInfo("counter", name, part))
        for name in s.derived:
            refs[name] = RefInfo("derived", name)
        for name in s.events:
            refs[name] = RefInfo("event", name)
        for name in s.sources.probes:
            refs[name] = RefInfo("probe", name)

    # -- expressions -----------------------------------------------------------------------------------------
    def expr(self, text: str | None, path: tuple, allow_events: bool = True) -> ast.Node | None:
        if text is None:
            return None
        try:
            node = parse(text)
        except ExprSyntaxError as e:
            self.report("OBS200", "error", f"cannot parse expression: {e}", path,
                        e.hint or "expressions read like PromQL: rate(x), delta(x) / max(delta(y), 1), x >= 0.05",
                        ast.Pos(e.line, e.column))
            return None
        self.out.exprs[path] = node
        self._check_node(node, path, allow_events)
        return node

    def _check_node(self, node: ast.Node, path: tuple, allow_events: bool) -> None:
        kinds = set()
        for n in ast.walk(node):
            if isinstance(n, ast.Ref):
                info = self.out.refs.get(n.name)
                if info is None:
                    self.report("OBS201", "error", f"unknown name '{n.name}'", path,
                                did_you_mean(n.name, self.out.refs) or
                                "declare it under metrics:, derived:, events: or sources.probes:", n.pos)
                    continue
                kinds.add("event" if info.kind == "event" else "metric")
                if n.window:
                    self._duration(n.window, path, n.pos)
                if n.offset:
                    self._duration(n.offset, path, n.pos)
                self._check_matchers(n, info, path)
                if info.kind in ("histogram", "summary") and not info.series and not n.matchers:
                    if not self._inside_quantile(node, n):
                        self.report("OBS211", "error", f"'{n.name}' is a {info.kind}: use quantile(0.95, {n.name}) or "
                                    f"{n.name}_count / {n.name}_sum", path, "", n.pos)
            elif isinstance(n, ast.Var):
                if n.name not in self.spec.vars:
                    self.report("OBS220", "error", f"unknown variable '${n.name}'", path,
                                did_you_mean(n.name, self.spec.vars) or "define it under vars:", n.pos)
            elif isinstance(n, ast.DurationLit):
                self._duration(n.text, path, n.pos)
            elif isinstance(n, ast.Call):
                self._check_call(n, path)
        if "event" in kinds and "metric" in kinds:
            first_event = next(n for n in ast.walk(node) if isinstance(n, ast.Ref)
                               and self.out.refs.get(n.name, RefInfo("", "")).kind == "event")
            self.report("OBS213", "error", f"an expression cannot mix log events ('{first_event.name}') and metrics",
                        path, "they compile to different backends (LogQL and PromQL); use two alerts", first_event.pos)
        if "event" in kinds and not allow_events:
            self.report("OBS214", "error", "log events cannot be used here", path, "", node.pos)

    def _inside_quantile(self, root: ast.Node, ref: ast.Ref) -> bool:
        for n in ast.walk(root):
            if isinstance(n, ast.Call) and n.func == "quantile" and len(n.args) == 2 and n.args[1] is ref:
                return True
        return False

    def _duration(self, text: str, path: tuple, pos: ast.Pos) -> None:
        try:
            parse_duration(text)
        except ValueError as e:
            self.report("OBS204", "error", str(e), path, getattr(e, "hint", ""), pos)

    def _check_matchers(self, ref: ast.Ref, info: RefInfo, path: tuple) -> None:
        for m in ref.matchers:
            if m.op in ("=~", "!~"):
                try:
                    re.compile(m.value)
                except re.error as e:
                    self.report("OBS205", "error", f"invalid regex for label '{m.label}': {e}", path, "", ref.pos)
        if info.kind in ("counter", "gauge", "histogram", "summary") and info.target in self.spec.metrics:
            declared = set(self.spec.metrics[info.target].labels)
            extra = {"le"} if info.series == "bucket" else ({"quantile"} if info.kind == "summary" else set())
            for m in ref.matchers:
                if declared and m.label not in declared | extra | set(self.spec.selector_of(info.target)):
                    self.report("OBS215", "warning", f"'{info.target}' declares no label '{m.label}'", path,
                                did_you_mean(m.label, declared) or f"declared labels: {', '.join(sorted(declared))}",
                                ref.pos)
        if info.kind in ("derived", "event", "probe") and ref.matchers:
            self.report("OBS216", "error", f"label matchers apply to catalog metrics, not to the {info.kind} '{ref.name}'",
                        path, "put the matchers in the derived expression or the event's stream", ref.pos)

    def _check_call(self, n: ast.Call, path: tuple) -> None:
        if n.func not in FUNCTIONS:
            self.report("OBS202", "error", f"unknown function '{n.func}'", path,
                        did_you_mean(n.func, FUNCTIONS) or f"functions: {', '.join(sorted(FUNCTIONS))}", n.pos)
            return
        lo, hi = FUNCTIONS[n.func]
        if not lo <= len(n.args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            self.report("OBS203", "error", f"{n.func}() takes {want} argument(s), got {len(n.args)}", path, "", n.pos)
            return
        if n.by is not None and n.func not in GROUPABLE:
            self.report("OBS206", "error", f"'by'/'without' applies to aggregations, not to {n.func}()", path, "", n.pos)
        first = n.args[0]
        info = self.out.refs.get(first.name) if isinstance(first, ast.Ref) else None
        if n.func in RANGE_FUNCS or (n.func == "count" and info and info.kind == "event"):
            if not isinstance(first, ast.Ref):
                self.report("OBS207", "error", f"{n.func}() takes a metric name as its first argument", path,
                            f"e.g. {n.func}(api_requests_total) or {n.func}(api_requests_total[5m])", n.pos)
                return
            if len(n.args) == 2 and not isinstance(n.args[1], ast.DurationLit):
                self.report("OBS207", "error", f"the second argument of {n.func}() is a window like 5m", path, "", n.pos)
            if info is None:
                return
            if n.func in COUNTER_FUNCS and info.kind in ("gauge", "probe"):
                alt = "deriv() or max_over_time()" if n.func != "rate" else "deriv()"
                self.report("OBS210", "error", f"{n.func}() of the gauge '{first.name}'", path,
                            f"{n.func}() needs a counter; for a gauge use {alt}", n.pos)
            elif n.func in COUNTER_FUNCS and info.kind in ("histogram", "summary") and not info.series:
                self.report("OBS210", "error", f"{n.func}() of the {info.kind} '{first.name}'", path,
                            f"use {first.name}_count for the number of observations", n.pos)
            elif n.func in GAUGE_FUNCS and info.kind == "counter":
                self.report("OBS210", "warning", f"{n.func}() of the counter '{first.name}'", path,
                            "counters only go up and reset; use rate() or delta()", n.pos)
            elif n.func in RANGE_FUNCS and info.kind == "derived":
                self.report("OBS210", "error", f"{n.func}() of the derived metric '{first.name}'", path,
                            "derived metrics already have a window; apply the function inside its expression", n.pos)
            elif n.func in RANGE_FUNCS and info.kind == "event" and n.func not in ("rate",):
                self.report("OBS210", "error", f"{n.func}() of the log event '{first.name}'", path,
                            f"count log events with count({first.name}, 10m) or rate({first.name})", n.pos)
        elif n.func == "quantile":
            target = n.args[1]
            tinfo = self.out.refs.get(target.name) if isinstance(target, ast.Ref) else None
            if not isinstance(n.args[0], ast.Number | ast.Var):
                self.report("OBS211", "error", "quantile() takes a number like 0.95 first", path, "", n.pos)
            elif isinstance(n.args[0], ast.Number) and not 0 <= n.args[0].value <= 1:
                self.report("OBS211", "error", f"quantile {n.args[0].value} is outside 0..1", path,
                            "write 0.95 for the 95th percentile", n.pos)
            if tinfo is not None and tinfo.kind not in ("histogram", "summary") and isinstance(target, ast.Ref):
                if tinfo.kind != "event":
                    self.report("OBS211", "error", f"quantile() of '{target.name}', which is a {tinfo.kind}", path,
                                "quantile() needs a histogram (or a summary) from the metrics catalog", n.pos)
        elif n.func == "histogram_quantile":
            buckets = [r for r in ast.walk(n.args[1]) if isinstance(r, ast.Ref)
                       and self.out.refs.get(r.name, RefInfo("", "")).series == "bucket"]
            if not buckets:
                self.report("OBS212", "error", "histogram_quantile() without a histogram's _bucket series", path,
                            "write quantile(0.95, my_histogram) and obsctl adds rate(my_histogram_bucket) by (le)",
                            n.pos)
            for agg in ast.walk(n.args[1]):
                if isinstance(agg, ast.Call) and agg.func in AGGREGATIONS and agg.by is not None:
                    keeps_le = ("le" in agg.by) != agg.without
                    if not keeps_le:
                        self.report("OBS212", "error", f"{agg.func}() inside histogram_quantile() drops the 'le' label",
                                    path, "aggregate with 'by (le, ...)'", agg.pos)
        elif n.func in ("max", "min") and len(n.args) == 2:
            if not any(isinstance(a, ast.Number | ast.Var) for a in n.args):
                self.report("OBS208", "error", f"{n.func}(a, b) needs a number as one argument", path,
                            f"{n.func}(x, 1) keeps x at least/at most 1; for series use {n.func}(x) to aggregate", n.pos)
        elif n.func == "count" and len(n.args) == 2:
            self.report("OBS207", "error", "count(x, window) counts log events; for metrics write count(x)", path, "",
                        n.pos)

    # -- sections -----------------------------------------------------------------------------------------------
    def run(self) -> Analysis:
        s = self.spec
        self.build_refs()
        for name, d in s.derived.items():
            self.expr(d.expr, ("derived", name, "expr"), allow_events=False)
            self._self_reference(name, ("derived", name, "expr"))
        for name, p in s.sources.probes.items():
            if not p.url.startswith(("http://", "https://")):
                self.report("OBS240", "error", f"probe '{name}' needs an http:// or https:// URL",
                            ("sources", "probes", name, "url"))
        self.scrape_jobs()
        for name, ev in s.events.items():
            if s.sources.logs is None:
                self.report("OBS241", "error", f"event '{name}' needs a log source", ("events", name), "add sources: {logs: {type: loki}}", key=True)
                break
            if ev.match == "regex":
                try:
                    re.compile(ev.message)
                except re.error as e:
                    self.report("OBS205", "error", f"invalid regex: {e}", ("events", name, "message"))
        self.alerts()
        self.routing()
        self.slos()
        self.dashboards()
        self.tests()
        return self.out

    def scrape_jobs(self) -> None:
        src = self.spec.sources.metrics
        jobs = src.jobs(self.spec.service)
        seen: set[str] = set()
        for i, job in enumerate(src.scrape):
            if job.job in seen:
                self.report("OBS243", "error", f"two scrape jobs are named '{job.job}'",
                            ("sources", "metrics", "scrape", i, "job"), "Prometheus needs unique job names")
            seen.add(job.job)
        want = src.selector.get("job")
        # A static `job` label wins over the job's name in Prometheus' target labels.
        names = {job.labels.get("job", job.job) for job in jobs}
        if jobs and want is not None and want not in names:
            self.report("OBS242", "warning", f"the selector's job '{want}' is the job label of no scrape job, so "
                        "queries select none of the series the scrape config collects",
                        ("sources", "metrics", "selector", "job"),
                        did_you_mean(want, names) or f"scrape jobs: {', '.join(sorted(names))}")

    def _self_reference(self, name: str, path: tuple) -> None:
        node = self.out.exprs.get(path)
        seen = {name}
        stack = [node] if node else []
        while stack:
            cur = stack.pop()
            for n in ast.walk(cur):
                if isinstance(n, ast.Ref) and n.name in self.spec.derived:
                    if n.name in seen:
                        self.report("OBS209", "error", f"derived metric '{name}' refers to itself", path, "", n.pos)
                        return
                    seen.add(n.name)
                    inner = self.out.exprs.get(("derived", n.name, "expr"))
                    if inner is not None:
                        stack.append(inner)

    def shared_labels(self) -> None:
        """Labels added to every alert must not change what routing and tests key on."""
        for path, labels in ((("labels",), self.spec.labels),
                             (("targets", "prometheus", "rule_labels"), self.spec.targets.prometheus.rule_labels)):
            for key, value in labels.items():
                if key in ("severity", "alertname", "service"):
                    self.report("OBS306", "error", f"label '{key}' is set by obsctl on every alert", path + (key,),
                                "severities come from each alert's severity:, the service from service:", key=True)
                err = template_error(value)
                if err:
                    self.report("OBS303", "error", f"label '{key}' is not a valid Prometheus template: {err}",
                                path + (key,))

    def alerts(self) -> None:
        s = self.spec
        self.shared_labels()
        severities = set(s.routing.severities) if s.routing else set()
        for name, a in s.alerts.items():
            base = ("alerts", name)
            when = self.expr(a.when, base + ("when",))
            guard = self.expr(a.only_if, base + ("only_if",))
            if when is not None and not _has_comparison(when):
                self.report("OBS304", "warning", "the condition has no comparison, so it fires whenever a series exists",
                            base + ("when",), "compare with a threshold, e.g. api_error_rate_5m >= 0.05", when.pos)
            if guard is not None and not _has_comparison(guard):
                self.report("OBS305", "error", "a volume guard needs a comparison", base + ("only_if",),
                            "e.g. only_if: delta(api_requests_total) >= 100", guard.pos)
            if when is not None and guard is not None:
                if _uses_events(when, self.out.refs) != _uses_events(guard, self.out.refs):
                    self.report("OBS213", "error", "the condition and its volume guard must both use metrics or both "
                                "log events", base + ("only_if",), "", guard.pos)
            if a.probe and a.probe not in s.sources.probes:
                self.report("OBS201", "error", f"unknown probe '{a.probe}'", base + ("probe",),
                            did_you_mean(a.probe, s.sources.probes) or "declare it under sources.probes:")
            if s.routing is None:
                if name == next(iter(s.alerts)):
                    self.report("OBS300", "warning", "alerts but no routing: section; nothing will be notified",
                                ("alerts",), "add routing: {severities: ..., receivers: ...}", key=True)
            elif a.severity not in severities:
                self.report("OBS301", "error", f"severity '{a.severity}' has no route", base + ("severity",),
                            did_you_mean(a.severity, severities) or f"routing.severities defines: {', '.join(sorted(severities))}")
            if not (a.runbook or s.runbook):
                self.report("OBS302", "warning", f"alert '{name}' has no runbook", base, "add runbook: to the alert, or a "
                            "default runbook: at the top of the spec", key=True)
            for fld in ("summary", "description", "title"):
                err = template_error(getattr(a, fld))
                if err:
                    self.report("OBS303", "error", f"{fld} is not a valid Prometheus template: {err}", base + (fld,),
                                "templates look like {{ $value }}, {{ $labels.route }}, {{ $value | humanizePercentage }}")
            for key, value in a.annotations.items():
                if key in ("summary", "description", "runbook_url", "title"):
                    self.report("OBS308", "error", f"annotation '{key}' comes from the alert's own field",
                                base + ("annotations", key), f"set {'runbook' if key == 'runbook_url' else key}: "
                                "on the alert instead", key=True)
                err = template_error(value)
                if err:
                    self.report("OBS303", "error", f"annotation '{key}' is not a valid Prometheus template: {err}",
                                base + ("annotations", key))
            for key, value in a.labels.items():
                err = template_error(value)
                if err:
                    self.report("OBS303", "error", f"label '{key}' is not a valid Prometheus template: {err}",
                                base + ("labels", key))
            err = template_error(a.runbook or "")
            if err:
                self.report("OBS303", "error", f"runbook is not a valid Prometheus template: {err}", base + ("runbook",))
            for key in a.labels:
                if key in ("severity", "alertname"):
                    self.report("OBS306", "error", f"label '{key}' is set by obsctl", base + ("labels", key), key=True)
            if a.overrides.logql and a.overrides.promql:
                self.report("OBS307", "error", "give a PromQL or a LogQL override, not both", base + ("overrides",))

    def routing(self) -> None:
        r = self.spec.routing
        if r is None:
            return
        receivers = set(r.receivers)
        used: set[str] = set()
        intervals = set(r.time_intervals)

        def check_receivers(names: list[str], path: tuple) -> None:
            for i, rec in enumerate(names):
                used.add(rec)
                if rec not in receivers:
                    self.report("OBS310", "error", f"unknown receiver '{rec}'", path + (i,),
                                did_you_mean(rec, receivers) or "declare it under routing.receivers:")

        def check_intervals(names: list[str], path: tuple) -> None:
            for i, ti in enumerate(names):
                if ti not in intervals:
                    self.report("OBS312", "error", f"unknown time interval '{ti}'", path + (i,),
                                did_you_mean(ti, intervals) or "declare it under routing.time_intervals:")

        for sev, spec in r.severities.items():
            check_receivers(spec.receivers, ("routing", "severities", sev, "receivers"))
            check_intervals(spec.active_time_intervals, ("routing", "severities", sev, "active_time_intervals"))
            check_intervals(spec.mute_time_intervals, ("routing", "severities", sev, "mute_time_intervals"))
        for i, route in enumerate(r.routes):
            check_receivers(route.receivers, ("routing", "routes", i, "receivers"))
            check_intervals(route.active_time_intervals, ("routing", "routes", i, "active_time_intervals"))
            check_intervals(route.mute_time_intervals, ("routing", "routes", i, "mute_time_intervals"))
        if r.default_receiver:
            check_receivers([r.default_receiver], ("routing", "default_receiver"))
        for name, rec in r.receivers.items():
            if "," in name:
                self.report("OBS325", "error", f"receiver name '{name}' holds a comma",
                            ("routing", "receivers", name), "amtool lists the receivers an alert reaches joined by "
                            "commas, so route tests could not tell it from two receivers: rename it (e.g. with '-')",
                            key=True)
            if name not in used:
                self.report("OBS311", "warning", f"receiver '{name}' receives nothing: no severity or route names it",
                            ("routing", "receivers", name), "", key=True)
            if rec.slack and not rec.slack.api_url_file:
                self.report("OBS313", "error", "slack needs api_url_file (the webhook URL is a secret)",
                            ("routing", "receivers", name, "slack"), "api_url_file: /etc/alertmanager/secrets/slack-url")
            if rec.opsgenie and not rec.opsgenie.api_key_file:
                self.report("OBS313", "error", "opsgenie needs api_key_file", ("routing", "receivers", name, "opsgenie"),
                            "api_key_file: /etc/alertmanager/secrets/opsgenie-key")
            if rec.email and not r.smtp:
                self.report("OBS314", "error", "email receivers need routing.smtp (smarthost and from)",
                            ("routing", "receivers", name, "email"))
        sevs = set(r.severities)
        for i, inh in enumerate(r.inhibit):
            for side in ("source", "target"):
                val = getattr(inh, side).get("severity")
                if isinstance(val, RegexMatch):
                    if not re2_error(val.regex) and not any(re2_fullmatch(val.regex, s) for s in sevs):
                        self.report("OBS315", "warning", f"inhibit {side} severity regex '{val.regex}' matches no "
                                    "declared severity", ("routing", "inhibit", i, side, "severity", "regex"))
                    continue
                for v in ([val] if isinstance(val, str) else val or []):
                    if v not in sevs:
                        self.report("OBS315", "warning", f"inhibit {side} severity '{v}' is not a declared severity",
                                    ("routing", "inhibit", i, side, "severity"), did_you_mean(v, sevs))
        matches = [(("routing", "routes", i, "match"), route.match) for i, route in enumerate(r.routes)]
        matches += [(("routing", "inhibit", i, side), getattr(inh, side))
                    for i, inh in enumerate(r.inhibit) for side in ("source", "target")]
        for path, match in matches:
            for label, val in match.items():
                if isinstance(val, RegexMatch):
                    self._routing_regex(val, path + (label,))

    def _routing_regex(self, val: object, path: tuple) -> None:
        err = re2_error(val.regex)
        if err:
            self.report("OBS205", "error", f"invalid regex for Alertmanager: {err}", path + ("regex",),
                        "Alertmanager uses Go's RE2 syntax; it anchors the regex (it matches the whole value)")
        elif val.example is not None and not re2_fullmatch(val.regex, val.example):
            self.report("OBS324", "error", f"the example '{val.example}' does not match the regex '{val.regex}' "
                        "(anchored: it must match the whole value)", path + ("example",))

    def slos(self) -> None:
        from .slo import burn_threshold, can_fire, effective_tiers, error_budget

        s = self.spec
        severities = set(s.routing.severities) if s.routing else set()
        for name, slo in s.slos.items():
            base = ("slos", name)
            sli = slo.sli
            for part in ("good", "bad", "total"):
                node = self.expr(getattr(sli, part), base + ("sli", part), allow_events=True)
                if node is not None and not _is_event_selector(node, self.out.refs):
                    self.report("OBS403", "error", f"sli.{part} names the events to count: a counter or a log event, "
                                "optionally with label matchers", base + ("sli", part),
                                "e.g. total: api_requests_total, bad: api_requests_total{code=~\"5..\"}", node.pos)
            if sli.latency:
                m = s.metrics.get(sli.latency.metric)
                lpath = base + ("sli", "latency", "metric")
                if m is None:
                    self.report("OBS201", "error", f"unknown metric '{sli.latency.metric}'", lpath,
                                did_you_mean(sli.latency.metric, s.metrics))
                elif m.kind != "histogram":
                    self.report("OBS401", "error", f"a latency SLI needs a histogram; '{sli.latency.metric}' is a {m.kind}",
                                lpath)
                elif m.buckets and sli.latency.threshold not in m.buckets:
                    self.report("OBS401", "error", f"threshold {sli.latency.threshold:g} is not a bucket boundary of "
                                f"'{sli.latency.metric}'", base + ("sli", "latency", "threshold"),
                                f"buckets: {', '.join(f'{b:g}' for b in m.buckets)}")
                elif not m.buckets:
                    self.report("OBS404", "warning", f"'{sli.latency.metric}' declares no buckets; obsctl cannot check "
                                "that the threshold is a bucket boundary", lpath, "add buckets: [...] to the metric")
            al = slo.alerting
            for fld in ("page_severity", "ticket_severity"):
                sev = getattr(al, fld)
                if sev is not None and s.routing is not None and sev not in severities:
                    self.report("OBS301", "error", f"severity '{sev}' has no route", base + ("alerting", fld),
                                did_you_mean(sev, severities))
            if al.enabled and s.routing is not None and not al.page_severity and not al.ticket_severity:
                self.report("OBS405", "warning", f"SLO '{name}' alerts with no severity", base + ("alerting",),
                            "set alerting.page_severity and alerting.ticket_severity", key=True)
            budget = error_budget(slo)
            period = parse_duration(slo.period)
            for i, tier in enumerate(effective_tiers(slo)):
                tpath = base + ("alerting", "tiers", i) if al.tiers else base + ("objective",)
                if parse_duration(tier.long) > period:
                    self.report("OBS406", "error", f"tier '{tier.name}': window {tier.long} is longer than the period "
                                f"{slo.period}", tpath)
                # the alert compares `ratio > factor x budget` and a ratio is at most 1: at exactly 1 it cannot fire
                if al.enabled and tier.enabled and not can_fire(slo, tier):
                    self.report("OBS402", "warning", f"tier '{tier.name}' can never fire: burn rate {tier.factor:g} x "
                                f"budget {budget:.4g} needs an error ratio above {burn_threshold(slo, tier):.0%}", tpath,
                                f"disable this tier (enabled: false) or give it a factor below {1 / budget:.4g}")
                if parse_duration(tier.short) >= parse_duration(tier.long):
                    self.report("OBS407", "error", f"tier '{tier.name}': the short window must be shorter than the long",
                                tpath)

    def dashboards(self) -> None:
        from .naming import dashboard_uid

        owners: dict[str, str] = {}
        if self.spec.slos:
            owners[dashboard_uid(self.spec.service, "slos")] = "the SLO dashboard"
        for dname, d in self.spec.dashboards.items():
            uid = dashboard_uid(self.spec.service, dname, d.uid)
            if uid in owners:
                self.report("OBS512", "error", f"dashboard '{dname}': uid '{uid}' is also the uid of {owners[uid]}",
                            ("dashboards", dname), "rename the dashboard or give it its own uid:", key=True)
            owners.setdefault(uid, f"dashboard '{dname}'")
        for dname, d in self.spec.dashboards.items():
            base = ("dashboards", dname, "panels")
            for i, item in enumerate(d.panels):
                if hasattr(item, "row"):
                    for j, p in enumerate(item.panels):
                        self._panel(p, base + (i, "panels", j))
                else:
                    self._panel(item, base + (i,))

    def _panel(self, p: object, path: tuple) -> None:
        exprs = [(p.expr, path + ("expr",))] if p.expr else [(q.expr, path + ("queries", k, "expr"))
                                                               for k, q in enumerate(p.queries)]
        if p.type == "text":
            if not p.text:
                self.report("OBS501", "error", "a text panel needs text:", path, key=True)
            return
        if not any(e for e, _ in exprs) and not (p.overrides.promql or p.overrides.logql) and not any(
                q.overrides.promql or q.overrides.logql for q in p.queries):
            self.report("OBS502", "error", f"panel '{p.title}' has no query", path, "add expr: or queries:")
        for text, epath in exprs:
            node = self.expr(text, epath)
            if node is None:
                continue
            events = _uses_events(node, self.out.refs)
            if p.type == "logs" and not (isinstance(node, ast.Ref) and self.out.refs.get(node.name, RefInfo("", "")).kind
                                         == "event"):
                self.report("OBS503", "error", "a logs panel shows a log event: name one", epath, "e.g. expr: refresh_ok")
            elif p.type == "logs" and (node.window or node.offset):
                self.report("OBS503", "error", "a logs panel shows a log event's lines as they come, with no window or "
                            "offset", epath, f"e.g. expr: {node.name}", node.pos)
            elif p.type != "logs" and isinstance(node, ast.Ref) and events:
                self.report("OBS504", "error", f"'{node.name}' is a log event: count it for a {p.type} panel", epath,
                            f"e.g. count({node.name}) or use type: logs", node.pos)

    def tests(self) -> None:
        names = set(self.spec.alerts)
        for i, t in enumerate(self.spec.tests):
            for j, exp in enumerate(t.expect):
                for fld in ("firing", "quiet"):
                    for k, a in enumerate(getattr(exp, fld)):
                        if a not in names:
                            self.report("OBS601", "error", f"unknown alert '{a}'", ("tests", i, "expect", j, fld, k),
                                        did_you_mean(a, names))


def _has_comparison(node: ast.Node) -> bool:
    if isinstance(node, ast.BinOp):
        if node.op in ast.COMPARISONS:
            return True
        if node.op in ("and", "or", "unless"):
            return _has_comparison(node.left) or _has_comparison(node.right)
    return False


def _uses_events(node: ast.Node, refs: dict[str, RefInfo]) -> bool:
    return any(isinstance(n, ast.Ref) and refs.get(n.name, RefInfo("", "")).kind == "event" for n in ast.walk(node))


def _is_event_selector(node: ast.Node, refs: dict[str, RefInfo]) -> bool:
    if not isinstance(node, ast.Ref) or node.window or node.offset:
        return False
    info = refs.get(node.name)
    return info is None or info.kind in ("counter", "event")


# Go text/template actions as Prometheus parses them in labels and annotations (promtool's Go 1.19 text/template:
# its lexer and the checks its parser makes before anything runs).
_TEMPLATE_FUNCS = {
    "humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toTime", "title",
    "toUpper", "toLower", "stripPort", "match", "reReplaceAll", "graphLink", "tableLink", "parseDuration",
    "stripDomain", "query", "first", "label", "value", "strvalue", "sortByLabel", "args", "safeHtml", "pathPrefix",
    "externalURL", "printf", "len", "index", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "print",
    "println", "html", "js", "urlquery", "slice", "call",
}
_KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
# Prometheus declares these before the template's own text (`{{$labels := .Labels}}...`).
_PROMETHEUS_VARS = ("$", "$labels", "$externalLabels", "$externalURL", "$value")


def template_error(text: str) -> str:
    """Why `text` is not a valid Prometheus alert template, or '' when it is.

    As Go's text/template reads it: `}}` outside an action is plain text, and an action ends at the first `}}`
    outside its quoted strings ("...", `...`, '.')."""
    if not text or "{{" not in text:
        return ""
    state = _TemplateState(list(_PROMETHEUS_VARS))
    pos = 0
    while (start := text.find("{{", pos)) != -1:
        end = _action_end(text, start + 2)
        if isinstance(end, str):
            return end
        body = _TRIM.sub("", text[start + 2:end])
        pos = end + 2
        if body.lstrip(" \t\r\n").startswith("/*"):
            continue
        try:
            state.action(_lex_action(body))
        except _TemplateSyntax as e:
            return str(e)
    if state.blocks:
        return f"'{{{{ {state.blocks[-1].kind} }}}}' is never closed with '{{{{ end }}}}'"
    return ""


def _action_end(text: str, i: int) -> int | str:
    """Where the action whose body starts at `i` closes (its `}}`), or why it does not."""
    if text.startswith(("/*", "- /*"), i):  # a comment: right after the delimiter, up to */ and the delimiter
        close = text.find("*/", i)
        if close == -1:
            return "unclosed comment"
        if not text.startswith(("*/}}", "*/ -}}"), close):
            return "comment ends before closing delimiter"
        return text.find("}}", close)
    if text[i:].lstrip("- ").startswith("/*"):
        return "a comment must follow '{{' directly: {{/* ... */}} or {{- /* ... */ -}}"
    while i < len(text):
        if text.startswith("}}", i):
            return i
        quote = text[i]
        if quote in "\"'`":
            j = i + 1
            while j < len(text) and text[j] != quote:
                if text[j] == "\n" and quote != "`":
                    return "unterminated quoted string"
                j += 2 if text[j] == "\\" and quote != "`" else 1
            if j >= len(text):
                return "unterminated quoted string"
            if quote == "'" and not (j - i == 2 or text[i + 1] == "\\"):
                return "malformed character constant"
            i = j
        i += 1
    return "unclosed action: '{{' without '}}'"


_TRIM = re.compile(r"^-(?=[ \t\r\n])|(?<=[ \t\r\n])-$")  # trim markers: "{{- " and " -}}" ("{{-3}}" is -3)


class _TemplateSyntax(Exception):
    pass


# One token of an action: (kind, text). Kinds follow Go's lexer: space, string, raw, char, number, var, field,
# dot, ident, keyword, bool, nil, pipe, declare, assign, lparen, rparen, other (any other printable character).
_Token = tuple[str, str]
_NUMBER_START = re.compile(r"[+\-0-9]|\.[0-9]")
_ALNUM = re.compile(r"[\w]*", re.UNICODE)  # Go's isAlphaNumeric: '_', letters, digits
_TERMINATORS = " \t\r\n.,|:)("


def _scan_number(body: str, i: int) -> int | None:
    """Go's lexer scanNumber from `i`: the end of the number, or None for bad number syntax."""
    n = len(body)
    if i < n and body[i] in "+-":
        i += 1
    digits = "0123456789_"
    if i < n and body[i] == "0":
        i += 1
        if i < n and body[i] in "xXoObB":
            digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[body[i].lower()]
            i += 1
    while i < n and body[i] in digits:
        i += 1
    if i < n and body[i] == ".":
        i += 1
        while i < n and body[i] in digits:
            i += 1
    if len(digits) == 11 and i < n and body[i] in "eE" or len(digits) == 23 and i < n and body[i] in "pP":
        i += 1
        if i < n and body[i] in "+-":
            i += 1
        while i < n and body[i] in "0123456789_":
            i += 1
    if i < n and body[i] == "i":
        i += 1
    if i < n and (body[i].isalnum() or body[i] == "_"):
        return None
    return i


def _lex_action(body: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(body)
    depth = 0
    while i < n:
        c = body[i]
        if c in " \t\r\n":
            j = i
            while j < n and body[j] in " \t\r\n":
                j += 1
            out.append(("space", body[i:j]))
            i = j
        elif c in "\"'`":
            j = body.index(c, i + 1) if c == "`" else i + 1
            while c != "`" and body[j] != c:
                j += 2 if body[j] == "\\" else 1
            kind = {"\"": "string", "'": "char", "`": "raw"}[c]
            out.append((kind, body[i:j + 1]))
            i = j + 1
        elif c == "|":
            out.append(("pipe", c))
            i += 1
        elif c == ":":
            if not body.startswith(":=", i):
                raise _TemplateSyntax("expected :=")
            out.append(("declare", ":="))
            i += 2
        elif c == "=":
            out.append(("assign", c))
            i += 1
        elif c == "(":
            depth += 1
            out.append(("lparen", c))
            i += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise _TemplateSyntax(f"unexpected right paren {c!r}")
            out.append(("rparen", c))
            i += 1
        elif c in "$." and not _NUMBER_START.match(body, i):
            j = i + 1 + len(_ALNUM.match(body, i + 1).group())
            if j < n and body[j] not in _TERMINATORS:
                raise _TemplateSyntax(f"bad character {body[j]!r}")
            word = body[i:j]
            out.append(("dot" if word == "." else "var" if c == "$" else "field", word))
            i = j
        elif _NUMBER_START.match(body, i):
            j = _scan_number(body, i)
            if j is not None and j < n and body[j] in "+-":  # a complex constant: 1+2i, no spaces, ends in i
                k = _scan_number(body, j)
                j = k if k is not None and body[k - 1] == "i" else None
            if j is None:
                end = i + 1
                while end < n and body[end] not in " \t\r\n|)(":
                    end += 1
                raise _TemplateSyntax(f"bad number syntax: {body[i:end]!r}")
            out.append(("number", body[i:j]))
            i = j
        elif c.isalpha() or c == "_":
            j = i + len(_ALNUM.match(body, i).group())
            if j < n and body[j] not in _TERMINATORS:
                raise _TemplateSyntax(f"bad character {body[j]!r}")
            word = body[i:j]
            kind = "keyword" if word in _KEYWORDS else "bool" if word in ("true", "false") else \
                "nil" if word == "nil" else "ident"
            out.append((kind, word))
            i = j
        else:
            out.append(("other", c))
            i += 1
    if depth:
        raise _TemplateSyntax("unclosed left paren")
    return out


def _go_number_error(text: str) -> str:
    """What Go's parser says of a number token (text/template's newNumber), or ''."""
    split = re.search(r"(?<=[0-9a-fA-F._])[+-]", text)
    if split and text.endswith("i"):  # a complex constant, 1+2i: both parts must be floats
        ok = _go_float(text[:split.start()]) is not None and _go_float(text[split.start():-1]) is not None
        return "" if ok else f"illegal number syntax: {text!r}"
    if text.endswith("i") and _go_float(text[:-1]) is not None:
        return ""
    if _go_int(text) is not None:
        return ""
    if _go_float(text) is None:
        return f"illegal number syntax: {text!r}"
    if not re.search(r"[.eEpP]", text):  # parses as a float only because it is too large for an integer
        return f"integer overflow: {text!r}"
    return ""


def _go_int(text: str) -> int | None:
    """strconv.ParseInt / ParseUint with base 0 and 64 bits: the value, or None."""
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    if re.fullmatch(r"0[0-7_]+", body):
        body = "0o" + body[1:].removeprefix("_")  # a leading 0 is octal in Go, an error in Python
    try:
        value = sign * int(body, 0)
    except ValueError:
        return None
    return value if -(2 ** 63) <= value < 2 ** 64 else None


def _go_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64): the value, or None (bad syntax, or out of range)."""
    body = text[1:] if text[:1] in "+-" else text
    if "__" in body or body.startswith("_") or body.endswith("_"):
        return None
    try:
        if body[:2].lower() == "0x":
            digits = body[2:].removeprefix("_")
            if "p" not in body.lower() or re.search(r"(?<![0-9a-fA-F])_|_(?![0-9a-fA-F])", digits):
                return None  # Go's hexadecimal floats need their exponent, and '_' only between digits
            value = float.fromhex(body[:2] + body[2:].replace("_", ""))
        elif re.fullmatch(r"(?=\.?[0-9])[0-9_]*\.?[0-9_]*([eE][+-]?[0-9][0-9_]*)?", body) and \
                not re.search(r"(?<![0-9])_|_(?![0-9])", body):
            value = float(body.replace("_", ""))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return None if math.isinf(value) else value


@dataclass
class _Block:
    kind: str  # if, with, range, define, block
    vars: int  # how many variables were visible when it opened: `end` forgets the rest
    in_else: bool = False
    outer: list[str] | None = None  # define and block bodies are templates of their own: the variables outside


class _TemplateState:
    """What the parser tracks across actions: open blocks and the variables in scope."""

    def __init__(self, variables: list[str]) -> None:
        self.vars = variables
        self.blocks: list[_Block] = []

    def range_depth(self) -> int:
        depth = 0
        for b in reversed(self.blocks):
            if b.kind in ("define", "block"):
                break
            depth += b.kind == "range" and not b.in_else
        return depth

    def action(self, tokens: list[_Token]) -> None:
        toks = tokens
        first = next((t for t in toks if t[0] != "space"), None)
        if first is None:
            raise _TemplateSyntax("missing value for command")
        rest = toks[toks.index(first) + 1:]
        word = first[1] if first[0] == "keyword" else ""
        if word in ("break", "continue"):
            extra = next((t for t in rest if t[0] != "space"), None)
            if extra is not None:
                raise _TemplateSyntax(f"unexpected {extra[1]!r} in {{{{{word}}}}}")
            if not self.range_depth():
                raise _TemplateSyntax(f"{{{{{word}}}}} outside {{{{range}}}}")
        elif word == "end":
            if next((t for t in rest if t[0] != "space"), None) is not None:
                raise _TemplateSyntax("unexpected token in {{end}}")
            if not self.blocks:
                raise _TemplateSyntax("unexpected {{end}}")
            block = self.blocks.pop()
            if block.outer is not None:
                self.vars[:] = block.outer
            else:
                del self.vars[block.vars:]
        elif word == "else":
            top = self.blocks[-1] if self.blocks else None
            if top is None or top.kind in ("define", "block"):
                raise _TemplateSyntax("unexpected {{else}}")
            if top.in_else:
                raise _TemplateSyntax("expected end; found {{else}}")
            top.in_else = True
            nxt = next((t for t in rest if t[0] != "space"), None)
            if nxt is not None:
                if nxt != ("keyword", "if") or top.kind != "if":
                    raise _TemplateSyntax(f"unexpected {nxt[1]!r} in else")
                top.in_else = False  # `else if` is an else holding an if that shares the `end`
                self.pipeline(rest[rest.index(nxt) + 1:], "if")
        elif word in ("if", "with", "range"):
            self.blocks.append(_Block(word, len(self.vars)))
            self.pipeline(rest, word)
        elif word in ("define", "block", "template"):
            name = next((t for t in rest if t[0] != "space"), None)
            if name is None or name[0] not in ("string", "raw"):
                raise _TemplateSyntax(f"unexpected {name[1] if name else 'end'!r} in {word} clause")
            after = rest[rest.index(name) + 1:]
            if word == "define":
                if self.blocks:
                    raise _TemplateSyntax("unexpected <define> in command")
                if any(t[0] != "space" for t in after):
                    raise _TemplateSyntax("unexpected token in define clause")
                self.blocks.append(_Block("define", 1, outer=list(self.vars)))
                self.vars[:] = ["$"]  # only $ is declared in a definition
            elif word == "block":
                self.pipeline(after, "block clause")
                self.blocks.append(_Block("block", 1, outer=list(self.vars)))
                self.vars[:] = ["$"]
            elif any(t[0] != "space" for t in after):
                self.pipeline(after, "template clause")
        else:
            self.pipeline(toks, "command")

    def pipeline(self, tokens: list[_Token], context: str) -> None:
        """Go's pipeline(): declarations, then commands separated by '|'; `tokens` may end inside parentheses."""
        toks = tokens
        i = _skip(toks, 0)
        # declarations: $x :=, $x =, and in a range $i, $e :=
        if i < len(toks) and toks[i][0] == "var":
            j = _skip(toks, i + 1)
            if j < len(toks) and toks[j][0] in ("declare", "assign"):
                self.vars.append(toks[i][1])
                i = _skip(toks, j + 1)
            elif j < len(toks) and toks[j] == ("other", ","):
                k = _skip(toks, j + 1)
                if context != "range":
                    raise _TemplateSyntax(f"too many declarations in {context}")
                if k < len(toks) and toks[k][0] == "var":
                    m = _skip(toks, k + 1)
                    if m < len(toks) and toks[m][0] in ("declare", "assign"):
                        self.vars += [toks[i][1], toks[k][1]]
                        i = _skip(toks, m + 1)
                    else:
                        raise _TemplateSyntax(f"missing := in {context}")
                else:
                    raise _TemplateSyntax("range can only initialize variables")
        commands = 0
        while True:
            i = _skip(toks, i)
            if i >= len(toks):
                break
            kind = toks[i][0]
            if kind not in ("bool", "char", "dot", "field", "ident", "number", "nil", "raw", "string", "var", "lparen"):
                raise _TemplateSyntax(f"unexpected {toks[i][1]!r} in {context}")
            first, i = self.command(toks, i)
            if commands and first in ("bool", "char", "dot", "nil", "number", "raw", "string"):
                raise _TemplateSyntax(f"non executable command in pipeline stage {commands + 1}")
            commands += 1
        if not commands:
            raise _TemplateSyntax(f"missing value for {context}")

    def command(self, toks: list[_Token], i: int) -> tuple[str, int]:
        """One command from toks[i]: its first operand's kind, and where the pipeline goes on (after its '|')."""
        first = ""
        while True:
            i = _skip(toks, i)
            if i < len(toks):
                kind = self.operand(toks, i)
                if kind:
                    first = first or kind
                    i = self.after_operand(toks, i, kind)
            if i >= len(toks):
                break
            tok = toks[i]
            if tok[0] == "space":
                continue
            if tok[0] == "pipe":
                i += 1
                break
            raise _TemplateSyntax(f"unexpected {tok[1]!r} in operand")
        if not first:
            raise _TemplateSyntax("empty command")
        return first, i

    def operand(self, toks: list[_Token], i: int) -> str:
        """Check the term at toks[i]; its kind, or '' when toks[i] starts no term."""
        kind, text = toks[i]
        if kind == "ident" and text not in _TEMPLATE_FUNCS:
            raise _TemplateSyntax(f"function {text!r} not defined")
        if kind == "var" and text not in self.vars:
            raise _TemplateSyntax(f"undefined variable {text!r}")
        if kind == "number":
            err = _go_number_error(text)
            if err:
                raise _TemplateSyntax(err)
        if kind in ("string", "char"):
            try:
                unquote(text)
            except ValueError as e:
                if "UTF-8" not in str(e):  # Go's Unquote keeps raw bytes; only PromQL needs valid UTF-8
                    raise _TemplateSyntax(f"invalid syntax: {text}") from None
        if kind == "lparen":
            return kind
        return kind if kind in ("bool", "char", "dot", "field", "ident", "number", "nil", "raw", "string",
                                "var") else ""

    def after_operand(self, toks: list[_Token], i: int, kind: str) -> int:
        """Past the operand at toks[i] (a parenthesised pipeline as a whole) and the fields chained to it."""
        if kind == "lparen":
            depth, j = 0, i
            while True:
                depth += {"lparen": 1, "rparen": -1}.get(toks[j][0], 0)
                if depth == 0:
                    break
                j += 1
            self.pipeline(toks[i + 1:j], "parenthesized pipeline")
            i = j
        i += 1
        if i < len(toks) and toks[i][0] == "field":
            if kind in ("bool", "string", "raw", "number", "char", "nil", "dot"):
                raise _TemplateSyntax(f"unexpected . after term {toks[i - 1][1]!r}")
            while i < len(toks) and toks[i][0] == "field":
                i += 1
        return i


def _skip(toks: list[_Token], i: int) -> int:
    while i < len(toks) and toks[i][0] == "space":
        i += 1
    return i


def analyse(spec: object, smap: SourceMap) -> Analysis:
    """Run every semantic check over a validated spec."""
    return _Checker(spec, smap).run()
