"""Datadog backend: API payloads for monitors, SLOs and dashboards, plus the Agent's HTTP check configuration.

Output (paths relative to the build directory):
    datadog/monitors/<service>.<Alert>.json            POST /api/v1/monitor, one per alert
    datadog/monitors/<service>.slo-<slo>-<tier>.json   POST /api/v1/monitor, burn-rate ("slo alert") monitors
    datadog/slos/<service>.<slo>.json                  POST /api/v1/slo, metric SLOs
    datadog/dashboards/<service>.<dashboard>.json      POST /api/v1/dashboard
    datadog/conf.d/http_check.d/<service>.yaml  the Agent HTTP check the probe monitors read (when there are probes)
Every file name starts with `<service>.` (service names have no '.'), so services share one output directory.

How the spec maps (each monitor's message says what applied to it):
- Metric alerts are query alerts. `for` has no Datadog field: each point of the query is the expression over
  its own window (see obsctl.compile.datadog), and `min(last_<for>)` (`max` for `<`/`<=`) requires the
  condition at every point of the `for` window. Without `for` or guard, counter arithmetic uses the count form
  `sum(last_<window>): a.as_count() / b.as_count()`, which is exactly delta(a) / delta(b).
- Volume guards (`only_if: x >= n`): Datadog query alerts have no AND of two queries (composite monitors need
  monitor ids, unknown offline). When `x` occurs in the condition through arithmetic only (seed 000: the
  guarded denominator), it becomes `cutoff_min(x, n)`: below n the point has no value and cannot fire. Otherwise
  the build fails naming the alert, unless `alerts.<name>.datadog.query` gives the monitor query.
- Log-event alerts are log alerts: `logs("<search>").index(..).rollup("count").last("<w>") <op> <n>`. Datadog
  makes a JSON log's `msg` its official message, searched as full text where a phrase also matches longer
  messages, so an exact event excludes the spec's other events containing it (`"refresh cycle completed"
  -"refresh cycle completed with errors"`); see Datadog.log_search. "== 0" becomes "< 1" with
  `on_missing_data: default`, under which a count over no logs at all is 0, so the monitor fires.
- HTTP probes are service-check monitors on the Agent's `http.can_connect` (the emitted http_check runs at the
  probe's interval); `for` becomes "the last N checks were critical", N = for / interval.
- SLOs are metric SLOs (numerator: good events, denominator: total), timeframe the nearest of 7d/30d/90d.
  Burn-rate tiers are "slo alert" monitors; Datadog's long window is 1h..48h, so longer windows are mapped to
  48h with the short window scaled alike. The SLO id exists only once the SLO is created: the query holds the
  placeholder `<SLO_ID:<slo file stem>>` (`slo_id_placeholder`), which the deploy step replaces after
  POST /api/v1/slo returns the id.
- Messages: title, summary, description (Prometheus `{{ $value }}` -> `{{value}}`, `{{ $labels.x }}` ->
  `{{x.name}}`; other templates lose their braces and read as text; '@' in spec text becomes '＠' so text never
  notifies anyone), runbook, the mapping notes, then the Datadog handles of the receivers routing sends the alert
  to. Priority from `routing.severities.<sev>.datadog`, renotify interval from its repeat_interval.
- JSON carries no comments: the generated-by note ends each message and each description.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..compile.datadog import (
    METRIC_NAME,
    METRIC_NAME_RULE,
    Formula,
    logs_query,
    no_offset,
    num,
    raw_leaf,
    refuse_matching,
)
from ..compile.promql import CompileError
from ..durations import parse_duration
from ..expr import ast
from ..naming import slug
from ..plan import Plan
from ..plan.routing import expected_receivers
from ..slo import effective_tiers, error_budget, latency_matchers
from ..verify import Finding, Problem, read_yaml
from . import Artifact, BackendError, Renderer

if TYPE_CHECKING:
    from ..model import SLO, Alert, Panel, Spec

MONITOR_DIR = "datadog/monitors"
SLO_DIR = "datadog/slos"
DASHBOARD_DIR = "datadog/dashboards"
SLO_TIMEFRAMES = {"7d": 7, "30d": 30, "90d": 90}
LONG_MIN, LONG_MAX = 3600, 48 * 3600  # Datadog burn-rate long window bounds
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
_TEMPLATE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_TAG_CHARS = re.compile(r"[^\w.\-/:]")
_VALID_TAG = re.compile(r"[A-Za-z][\w.\-/]*:[^\s,]+")  # fullmatch: `$` lets "a:b\n" through
_PALETTES = {
    "red": "white_on_red",
    "green": "white_on_green",
    "yellow": "white_on_yellow",
    "orange": "white_on_yellow",
    "blue": "blue",
    "grey": "white_on_gray",
    "gray": "white_on_gray",
}
_MARKERS = {"red": "error", "orange": "warning", "yellow": "warning", "green": "ok"}
_SCALAR = {"stat": "query_value", "gauge": "query_value", "bar": "toplist", "table": "toplist"}
_UNITS = {"ms": "ms", "s": "s", "percent": "%", "reqps": "req/s", "bytes": "B"}
_LIVE_SPANS = {"1m", "5m", "10m", "15m", "30m", "1h", "4h", "1d", "2d", "1w"}


def slo_id_placeholder(slo_file_stem: str) -> str:
    """What burn-rate monitor queries hold instead of the SLO id, e.g. `<SLO_ID:asset-ws.availability>`."""
    return f"<SLO_ID:{slo_file_stem}>"


# --- the backend interface ---------------------------------------------------------------------------------


def http_check_file(spec: Spec) -> str:
    """The Agent reads every YAML file in conf.d/http_check.d/: one per service, so services share a directory."""
    return f"datadog/conf.d/http_check.d/{spec.service}.yaml"


def build(plan: Plan, renderer: Renderer) -> list[Artifact]:
    b = _Builder(plan, renderer.dry)
    if any(e.code == "OBS711" for e in b.errors):
        raise BackendError(b.errors)  # every query would repeat the bad name: report the setting once
    monitors, slos, dashboards = b.monitors(), b.slos(), b.dashboards()
    if b.errors:
        raise BackendError(b.errors)
    out = []
    for kind, items in (("monitor", monitors), ("slo", slos), ("dashboard", dashboards)):
        folder = {"monitor": MONITOR_DIR, "slo": SLO_DIR, "dashboard": DASHBOARD_DIR}[kind]
        for stem, payload in items:
            text = renderer.render(f"datadog/{kind}.json.j2", **{kind: payload})
            out.append(Artifact(f"{folder}/{stem}.json", text if text.endswith("\n") else text + "\n"))
    if plan.spec.sources.probes:
        text = renderer.render("datadog/http_check.yaml.j2", instances=b.http_check_instances())
        out.append(Artifact(http_check_file(plan.spec), text if text.endswith("\n") else text + "\n"))
    return out


VERIFY_READS_FILES = False  # verify() reads Artifact.text only


def verify(artifacts: list[Artifact], staging: Path) -> list[Finding]:
    """Every payload parses and passes strict datadog-api-client deserialisation and obsctl's semantic checks."""
    import yaml

    from ..verify.datadog import validate_dashboard, validate_monitor, validate_slo

    problems: list[Finding] = []
    for a in artifacts:
        if a.path.startswith("datadog/conf.d/http_check.d/"):
            try:
                doc = read_yaml(a.text)
            except yaml.YAMLError as e:
                problems.append(Problem(a.path, f"not YAML: {e}"))
                continue
            if not isinstance(doc, dict) or not all(
                isinstance(i, dict) and i.get("url") and i.get("name") for i in doc.get("instances") or [None]
            ):
                problems.append(Problem(a.path, "every instance needs a name and a url"))
            continue
        try:
            payload = json.loads(a.text)
        except json.JSONDecodeError as e:
            problems.append(Problem(a.path, f"not JSON: {e}"))
            continue
        if a.path.startswith(MONITOR_DIR + "/"):
            problems += validate_monitor(payload, a.path)
        elif a.path.startswith(SLO_DIR + "/"):
            problems += validate_slo(payload, a.path)
        elif a.path.startswith(DASHBOARD_DIR + "/"):
            problems += validate_dashboard(payload, a.path)
        else:
            problems.append(Problem(a.path, "not a Datadog payload obsctl writes"))
    return problems


# --- building ---------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, plan: Plan, dry: bool = False) -> None:
        self._slo_by: tuple[str, ...] = ()  # the `by:` labels of the SLO being built
        self.dry = dry  # validate: the queries (where mapping fails), not the prose around them
        self.plan = plan
        self.spec = plan.spec
        self.dd = plan.spec.targets.datadog
        self.c = plan.datadog()
        self.errors: list = []
        for i, tag in enumerate(self.dd.tags):
            if not _VALID_TAG.fullmatch(tag):
                self.errors.append(
                    plan.error(
                        "OBS710",
                        f"Datadog tag '{tag}' is not key:value",
                        ("targets", "datadog", "tags", i),
                        "e.g. cost-center:platform",
                    )
                )
        self.check_names()

    def check_names(self) -> None:
        """The name settings are pasted into every metric query as they are: each must be (part of) a Datadog
        metric name, or `namespace: "my ns{x}"` would write `sum:my ns{x}.reqs{*}`."""
        dd = self.dd
        bad: list[tuple[tuple, str, str]] = []  # (spec path, value, example)
        if dd.namespace and not METRIC_NAME.fullmatch(dd.namespace):
            bad.append((("targets", "datadog", "namespace"), dd.namespace, "asset_ws"))
        # the suffix ends a name, so it need not start with a letter ('.count', '_count')
        if dd.counter_suffix and not re.fullmatch(r"[A-Za-z0-9_.]+", dd.counter_suffix.removeprefix(".")):
            bad.append((("targets", "datadog", "counter_suffix"), dd.counter_suffix, ".count"))
        bad += [
            (("targets", "datadog", "metric_names", k), v, "api.requests.count")
            for k, v in dd.metric_names.items()
            if not METRIC_NAME.fullmatch(v)
        ]
        bad += [
            (("metrics", k, "datadog_name"), m.datadog_name, "api.requests.count")
            for k, m in self.spec.metrics.items()
            if m.datadog_name is not None and not METRIC_NAME.fullmatch(m.datadog_name)
        ]
        for path, value, example in bad:
            self.fail(
                "OBS711",
                f"{'.'.join(path)} '{value}' is not usable in a Datadog metric name",
                path,
                f"{METRIC_NAME_RULE}, e.g. {example}",
            )

    def fail(self, code: str, message: str, path: tuple, hint: str = "") -> None:
        self.errors.append(self.plan.error(code, message, path, hint))

    # -- shared pieces ----------------------------------------------------------------------------------------
    def tags(self, extra: list[tuple[str, str]]) -> list[str]:
        pairs = [("service", self.spec.service)]
        if self.plan.env:
            pairs.append(("env", self.plan.env))
        if self.spec.team:
            pairs.append(("team", self.spec.team))
        pairs += extra
        # An empty label value is no label in Prometheus; Datadog refuses a tag `key:` with nothing after it.
        out = [_tag(k, v) for k, v in pairs if v != ""] + list(self.dd.tags) + ["managed-by:obsctl"]
        return list(dict.fromkeys(out))

    def name(self, text: str) -> str:
        env = f"[{self.plan.env}]" if self.plan.env else ""
        # Datadog renders templates and handles in monitor names too: spec titles are defused like messages.
        return f"[obsctl]{env} {self.spec.service} {_text(text)}"

    def handles(self, labels: dict[str, str]) -> list[str]:
        routing = self.spec.routing
        if routing is None:
            return []
        out = []
        for rec in expected_receivers(self.spec, labels):
            receiver = routing.receivers.get(rec)
            if receiver is not None and receiver.datadog:
                handle = receiver.datadog if receiver.datadog.startswith("@") else f"@{receiver.datadog}"
                out.append(handle)
        return list(dict.fromkeys(out))

    def message(
        self, title: str, texts: list[str], runbook: str | None, notes: list[str], handles: list[str]
    ) -> str:
        parts = [_text(title)] + [_text(t) for t in texts if t]
        if runbook:
            parts.append(f"Runbook: {_text(runbook)}")
        if notes:  # notes quote spec text (event messages, matchers, guards): defused like the rest
            parts.append("How obsctl mapped this to Datadog:\n" + "\n".join(f"- {_text(n)}" for n in notes))
        if handles:
            parts.append("Notify: " + " ".join(handles))
        parts.append(self.plan.header)
        return "\n\n".join(parts)

    def options(self, severity: str | None, own_renotify: int | None = None) -> dict:
        """Options every monitor shares: renotify from the severity's repeat_interval, tags in the title."""
        opts: dict = {}
        routing = self.spec.routing
        renotify = own_renotify
        if renotify is None and routing is not None:
            sev = routing.severities.get(severity or "")
            repeat = (sev.repeat_interval if sev else None) or routing.repeat_interval
            renotify = math.ceil(parse_duration(repeat) / 60)
        if renotify:
            opts["renotify_interval"] = renotify
            opts["renotify_statuses"] = ["alert"]
        opts["include_tags"] = True
        opts["notify_audit"] = False
        return opts

    def priority(self, severity: str | None, own: int | None = None) -> int | None:
        if own is not None:
            return own
        routing = self.spec.routing
        sev = routing.severities.get(severity or "") if routing else None
        return sev.datadog if sev else None

    # -- alerts ---------------------------------------------------------------------------------------------
    def monitors(self) -> list[tuple[str, dict]]:
        out = []
        for name, a in self.spec.alerts.items():
            if not a.enabled:
                continue
            try:
                m = self.alert(name, a)
            except CompileError as e:
                where = (
                    ("only_if",)
                    if "volume guard" in str(e)
                    else ("when",)
                    if a.when
                    else ("probe",)
                    if a.probe
                    else ()
                )
                self.fail(
                    "OBS701",
                    f"alert '{name}': Datadog cannot express {e}",
                    ("alerts", name, *where),
                    _hint(e, f"give alerts.{name}.datadog.query: the Datadog monitor query to use instead"),
                )
                continue
            out.append((f"{self.spec.service}.{name}", m))
        for stem, m in self.slo_monitors():
            out.append((stem, m))
        return out

    def alert(self, name: str, a: Alert) -> dict:
        labels = {**self.plan.alerts[name].labels, "alertname": name}
        notes: list[str] = []
        opts_extra: dict = {}
        raw = a.datadog.query or a.overrides.datadog
        if raw:
            mtype, query, thresholds = _raw_monitor(raw.strip())
            notes.append("The monitor query is the spec's Datadog override.")
        elif a.probe:
            mtype, query, thresholds, opts_extra = self.probe_monitor(a, notes)
        elif not a.when:
            given = " and ".join(k for k in ("promql", "logql") if getattr(a.overrides, k))
            raise CompileError(f"an alert given only as overrides.{given} (no 'when' to compile)")
        else:
            node = self.plan.alerts[name].when
            if self.plan.alerts[name].reads_events:
                mtype, query, thresholds, opts_extra = self.log_monitor(a, node, notes)
            else:
                mtype, query, thresholds, opts_extra = self.metric_monitor(name, a, node, notes)
        if self.dry:  # names, messages and tags are composed from checked text and cannot fail
            return {"type": mtype, "query": query, "options": {"thresholds": thresholds, **opts_extra}}
        if a.keep_firing_for and parse_duration(a.keep_firing_for) > 0:
            notes.append(
                f"keep_firing_for: {a.keep_firing_for} is not applied: Datadog resolves when the query does."
            )
        texts = [a.summary, a.description, *(f"{k}: {v}" for k, v in sorted(a.annotations.items()))]
        if a.when and not raw:
            cond = a.when + (f" for {a.for_}" if parse_duration(a.for_) else "")
            texts.append(f"Condition (obsctl): {cond}" + (f", only if {a.only_if}" if a.only_if else ""))
        options = {
            "thresholds": thresholds,
            **opts_extra,
            **self.options(a.severity, a.datadog.renotify_interval),
        }
        monitor = {
            "name": self.name(f"{name}: {a.title or name}"),
            "type": mtype,
            "query": query,
            "message": self.message(
                a.title or name, texts, a.runbook or self.spec.runbook, notes, self.handles(labels)
            ),
            # the spec's and the alert's labels; the Prometheus-only rule_labels stay out
            "tags": self.tags([("severity", a.severity), *sorted({**self.spec.labels, **a.labels}.items())]),
        }
        prio = self.priority(a.severity, a.datadog.priority)
        if prio is not None:
            monitor["priority"] = prio
        monitor["options"] = options
        return monitor

    def metric_monitor(self, name: str, a: Alert, node: ast.Node, notes: list[str]) -> tuple:
        guard = self.plan.alerts[name].guard
        if isinstance(node, ast.BinOp) and node.op == "and":
            if guard is not None:
                raise CompileError(
                    "'and' in the condition together with a volume guard (one cutoff per query)"
                )
            return self.band_monitor(name, a, node, notes)
        expr, op, value = _comparison(node, self.spec)
        for_s = int(parse_duration(a.for_))
        counted = self.c.count_query(expr) if for_s == 0 and guard is None else None
        count_notes = self.c.take_notes()
        if counted is not None:
            notes += count_notes
            text, secs = counted
            window = _window(secs, notes)
            query = f"sum(last_{window}):{text} {op} {num(value)}"
            notes.append(
                f"Datadog sums each query over the last {window} and then computes the expression, as "
                "delta() does over that window."
            )
            return "query alert", query, {"critical": float(value)}, self.metric_options(window, False)
        g = None
        if guard is not None:
            g = _comparison(guard, self.spec)
        guard_note = None
        if g is not None:
            fn = "cutoff_min" if g[1] == ">=" else "cutoff_max"
            guard_note = (
                f"Volume guard 'only_if: {a.only_if}' folded into the query with {fn}(..., {num(g[2])}): "
                "points where it does not hold have no value, so they cannot fire (Datadog skips them "
                "in the window rather than restarting it)."
            )
        return self._rolling(a, node, g, notes, guard_note)

    def _rolling(
        self, a: Alert, node: ast.Node, g: tuple | None, notes: list[str], guard_note: str | None = None
    ) -> tuple:
        expr, op, value = _comparison(node, self.spec)
        for_s = int(parse_duration(a.for_))
        formula = self.c.formula(expr, guard=g)
        text = formula.inline()
        if op in ("==", "!="):
            # x == v at every point <=> the largest |x - v| is 0; x != v at every point <=> the smallest is above 0
            # (notes are prose like the spec's: _text turns {{ $value }} into Datadog's {{value}})
            notes.append(
                f"'{op} {num(value)}' is compared as |x - {num(value)}| {'<=' if op == '==' else '>'} 0, so "
                "that min/max over the window can hold it at every point ({{ $value }} shows that difference)."
            )
            text = f"abs({text})" if value == 0 else f"abs({text} - {num(value)})"
            op, value = ("<=", 0.0) if op == "==" else (">", 0.0)
        agg = "min" if op in (">", ">=") else "max"
        window = _window(max(for_s, 60), notes)
        query = f"{agg}(last_{window}):{text} {op} {num(value)}"
        if for_s:
            notes.append(
                f"Datadog has no 'for': each point of the query is the expression over its own window "
                f"(moving_rollup), and {agg}(last_{window}) requires the condition at every point of the "
                f"last {window}, so it held for {a.for_}."
            )
        else:
            notes.append(
                f"Each point of the query is the expression over its own window (moving_rollup); "
                f"{agg}(last_{window}) is Datadog's shortest evaluation window."
            )
        if guard_note:
            notes.append(guard_note)
        notes += formula.notes
        if "clamp_min(" in query or "clamp_max(" in query:
            notes.append("max(x, n) / min(x, n) are Datadog's clamp_min / clamp_max, applied point by point.")
        return "query alert", query, {"critical": float(value)}, self.metric_options(window, for_s > 0)

    def band_monitor(self, name: str, a: Alert, node: ast.BinOp, notes: list[str]) -> tuple:
        """`x > a and x <= b`: the second comparison folds in like a volume guard (cutoff_max(x, b) > a)."""
        first_error = None
        for cond, bound in ((node.left, node.right), (node.right, node.left)):
            attempt: list[str] = []
            try:
                g = _comparison(bound, self.spec)
                if g[1] not in (">=", "<="):
                    raise CompileError(
                        f"'and' of two comparisons where the second is '{g[1]}' (cutoff_min and "
                        "cutoff_max keep values equal to the limit: write >= or <=)"
                    )
                result = self._rolling(a, cond, g, attempt)
            except CompileError as e:
                first_error = first_error or e
                continue
            fn = "cutoff_min" if g[1] == ">=" else "cutoff_max"
            notes += attempt
            notes.append(
                f"The 'and' keeps the value only where its other comparison holds: {fn}(..., {num(g[2])}) "
                "leaves no value elsewhere."
            )
            return result
        raise first_error

    def metric_options(self, window: str, full_window: bool) -> dict:
        opts: dict = {"notify_no_data": self.dd.notify_no_data}
        if self.dd.notify_no_data:
            opts["no_data_timeframe"] = max(2, 2 * _minutes(window))
        # `for` needs the whole window covered; without it, sparse series must still evaluate
        opts["require_full_window"] = full_window
        return opts

    def log_monitor(self, a: Alert, node: ast.Node, notes: list[str]) -> tuple:
        expr, op, value = _comparison(node, self.spec)
        if a.only_if:
            raise CompileError("a volume guard on log events (a log alert counts one search)")
        if parse_duration(a.for_):
            raise CompileError(
                f"'for: {a.for_}' on a log-event alert (a log alert has no per-point evaluation)"
            )
        if not (
            isinstance(expr, ast.Call)
            and expr.func in ("count", "rate")
            and expr.args
            and isinstance(expr.args[0], ast.Ref)
            and not expr.by
        ):
            raise CompileError(
                "arithmetic on log event counts (a log alert compares one count with a number)"
            )
        ref = expr.args[0]
        no_offset(ref)
        w = ref.window or (expr.args[1].text if len(expr.args) > 1 else self.spec.defaults.window)
        secs = int(parse_duration(w))
        if expr.func == "rate":
            value = value * secs
            notes.append(f"rate() compared as the count over {w} (rate x {secs} s).")
        if op == "==" and value == 0:
            op, value = "<", 1.0
        elif op == "!=" and value == 0:
            op, value = ">=", 1.0
        elif op in ("==", "!="):
            raise CompileError(f"'{op} {num(value)}' on a log count")
        window = _window(secs, notes)
        if secs > 48 * 3600:
            raise CompileError(f"a {w} window on a log alert (Datadog's longest is 48h)")
        query = f"{logs_query(self.c.log_search(ref.name), window, self.dd.logs_index)} {op} {num(value)}"
        ev = self.spec.events[ref.name]
        longer = self.c.longer_messages(ref.name)
        if ev.match == "exact" and longer:
            shown = ", ".join(f"'{m}'" for m in longer)
            notes.append(
                f"Exact message '{ev.message}': Datadog searches the official log message as full text, "
                f"where a phrase also matches longer messages, so the search excludes {shown}."
            )
        elif ev.match == "exact" and "@" in self.c.log_search(ref.name):
            notes.append(f"Exact message '{ev.message}': the search compares the whole attribute.")
        if op in ("<", "<="):
            notes.append(
                "on_missing_data: default counts no matching log line at all as 0, so the monitor fires "
                "when the logs stop entirely."
            )
        return "log alert", query, {"critical": float(value)}, {"on_missing_data": "default"}

    def probe_monitor(self, a: Alert, notes: list[str]) -> tuple:
        probe = self.spec.sources.probes[a.probe]
        interval = max(1, int(parse_duration(probe.interval)))
        for_s = int(parse_duration(a.for_))
        checks = max(1, math.ceil(for_s / interval))
        if checks > 100:
            raise CompileError(f"'for: {a.for_}' at a {probe.interval} probe interval (more than 100 checks)")
        url = probe.url.replace("\\", "\\\\").replace('"', '\\"')
        query = f'"http.can_connect".over("url:{url}").by("host","url").last({checks}).count_by_status()'
        notes.append(
            f"The Agent's http_check ({http_check_file(self.spec)}) runs every {probe.interval}; "
            f"the monitor alerts when the last {checks} checks were critical (no connection, timeout or a "
            f"non-2xx status), which is the probe failing for {a.for_}."
        )
        opts: dict = {"notify_no_data": self.dd.notify_no_data}
        if self.dd.notify_no_data:
            opts["no_data_timeframe"] = max(2, math.ceil(2 * checks * interval / 60))
        return "service check", query, {"critical": checks, "ok": 1}, opts

    def http_check_instances(self) -> list[dict]:
        out = []
        for name, p in self.spec.sources.probes.items():
            inst = {
                "name": name,
                "url": p.url,
                "timeout": max(1, math.ceil(parse_duration(p.timeout))),
                "min_collection_interval": max(1, int(parse_duration(p.interval))),
            }
            if (
                p.module == "http_2xx"
            ):  # blackbox's http_2xx accepts 2xx only; http_check also accepts 1xx/3xx
                inst["http_response_status_code"] = "2\\d\\d"
            inst["tags"] = self.tags([("probe", name)])
            out.append(inst)
        return out

    # -- SLOs -------------------------------------------------------------------------------------------------
    def slo_stem(self, name: str) -> str:
        return f"{self.spec.service}.{slug(name)}"

    def slos(self) -> list[tuple[str, dict]]:
        out = []
        for name, slo in self.spec.slos.items():
            try:
                numerator, denominator, notes = self.sli(name, slo)
            except CompileError as e:
                self.fail(
                    "OBS702",
                    f"SLO '{name}': Datadog cannot express {e}",
                    ("slos", name, "sli"),
                    _hint(
                        e, f"give targets.datadog.slo_queries.{name}: {{numerator: ..., denominator: ...}}"
                    ),
                )
                continue
            timeframe, tf_note = _timeframe(slo.period)
            if tf_note:
                notes.append(tf_note)
            desc = [slo.description or f"{num(slo.objective)}% of {name} events are good over {slo.period}."]
            if notes:
                desc.append("How obsctl mapped this to Datadog:\n" + "\n".join(f"- {n}" for n in notes))
            desc.append(self.plan.header)
            payload = {
                "name": f"{self.spec.service} {name}" + (f" ({self.plan.env})" if self.plan.env else ""),
                "type": "metric",
                "description": "\n\n".join(desc),
                "query": {"numerator": numerator, "denominator": denominator},
                "thresholds": [{"timeframe": timeframe, "target": float(slo.objective)}],
                "tags": self.tags([("slo", name), *sorted(slo.labels.items())]),
            }
            out.append((self.slo_stem(name), payload))
        return out

    def sli(self, name: str, slo: SLO) -> tuple[str, str, list[str]]:
        self._slo_by = tuple(slo.by)
        own = self.dd.slo_queries.get(name)
        if own is not None:
            return (
                own.numerator,
                own.denominator,
                ["Numerator and denominator are the spec's Datadog queries."],
            )
        sli = slo.sli
        if sli.error_ratio or any(ast.has_window(n) for n in self.plan.slos[name].sli.values()):
            raise CompileError(
                "an SLI written as expressions with ${window} (a Datadog metric SLO counts good and total "
                "events)"
            )
        if sli.latency:
            lat = sli.latency
            ref = ast.Ref(lat.metric, [ast.Matcher(k, op, v) for k, op, v in latency_matchers(lat.selector)])
            bound = str(
                float(lat.threshold) or 0
            )  # the Agent's OpenMetrics check writes le="0.5" as upper_bound:0.5
            info = self.plan.ref(f"{lat.metric}_bucket")
            if info is None:
                raise CompileError(f"the latency SLI on '{lat.metric}', which is not a histogram")
            bucket = ast.Ref(f"{lat.metric}_bucket", ref.matchers + [ast.Matcher("upper_bound", "=", bound)])
            count = ast.Ref(f"{lat.metric}_count", ref.matchers)
            good = self._events_query(bucket, f"the latency SLI on '{lat.metric}'")
            total = self._events_query(count, f"the latency SLI on '{lat.metric}'")
            return (
                good,
                total,
                [
                    f"Good events are the histogram bucket upper_bound:{bound} (the Agent's OpenMetrics "
                    "check keeps buckets cumulative by default, like Prometheus' le)."
                ],
            )
        total = self._events_query(self.plan.slos[name].sli["total"], "sli.total")
        if sli.good:
            return self._events_query(self.plan.slos[name].sli["good"], "sli.good"), total, []
        bad = self._events_query(self.plan.slos[name].sli["bad"], "sli.bad")
        return f"{total} - {bad}", total, ["Good events are total minus bad events."]

    def _events_query(self, node: ast.Node, what: str) -> str:
        if not isinstance(node, ast.Ref):
            raise CompileError(f"{what} (not an event selector)")
        info = self.plan.ref(node.name)
        if info is None or info.kind != "counter":
            kind = info.kind if info else "unknown name"
            raise CompileError(
                f"{what} on the {kind} '{node.name}' (a Datadog metric SLO counts metric events; "
                "log events need a log-based metric)"
            )
        # `by:` groups the SLO's queries: Datadog then tracks the objective per group, as Prometheus does
        by = list(self._slo_by) or None
        return self.c._metric_query(node, ("sum", by), ".as_count()", {})

    def slo_monitors(self) -> list[tuple[str, dict]]:
        out = []
        for name, slo in self.spec.slos.items():
            if not slo.alerting.enabled:
                continue
            stem = self.slo_stem(name)
            timeframe, tf_note = _timeframe(slo.period)
            budget = error_budget(slo)
            for tier in effective_tiers(slo):
                if not tier.enabled:
                    continue
                notes = [
                    f"Burn rate above {num(tier.factor)} over both the long and the short window: "
                    f"{num(round(tier.factor * parse_duration(tier.long) / parse_duration(slo.period) * 100, 2))}% "
                    f"of the {slo.period} error budget in {tier.long}."
                ]
                if tf_note:
                    notes.append(tf_note)
                if tier.factor * budget >= 1:
                    continue  # can never fire (semantics warns, OBS402); Datadog rejects such burn rates
                long_s, short_s = int(parse_duration(tier.long)), int(parse_duration(tier.short))
                long_m, short_m = long_s, short_s
                if long_s > LONG_MAX or long_s < LONG_MIN:
                    long_m = min(max(long_s, LONG_MIN), LONG_MAX)
                    short_m = max(60, round(short_s * long_m / long_s / 60) * 60)
                    notes.append(
                        f"Datadog's long window is 1h to 48h: the workbook's {tier.long}/{tier.short} "
                        f"windows are mapped to {_dur(long_m)}/{_dur(short_m)} (same ratio); the factor "
                        f"{num(tier.factor)} is kept."
                    )
                if parse_duration(tier.for_):
                    notes.append(
                        f"The tier's 'for: {tier.for_}' is not applied: Datadog burn-rate alerts have no "
                        "hold time (the short window already filters blips)."
                    )
                if slo.alerting.min_events:
                    notes.append(
                        f"The low-traffic guard (min_events: {slo.alerting.min_events}) has no Datadog "
                        "equivalent on burn-rate alerts: this monitor may fire on low traffic."
                    )
                notes.append(
                    f"Deploy: create {SLO_DIR}/{stem}.json first, then replace {slo_id_placeholder(stem)} "
                    "in the query with the id Datadog returns."
                )
                query = (
                    f'burn_rate("{slo_id_placeholder(stem)}").over("{timeframe}")'
                    f'.long_window("{_dur(long_m)}").short_window("{_dur(short_m)}") > {num(tier.factor)}'
                )
                sev = (
                    self.plan.slos[name].alerts_by_tier[tier.name].severity
                )  # as the Prometheus rules have it
                labels = {
                    "severity": sev,
                    "service": self.spec.service,
                    **self.spec.labels,
                    **slo.labels,
                    **getattr(slo.alerting, tier.action).labels,
                    "slo": name,
                    "action": tier.action,
                    "slo_tier": tier.name,
                }
                if self.spec.team:
                    labels["team"] = self.spec.team
                own = getattr(slo.alerting, tier.action).name
                title = f"{own} ({tier.name})" if own else f"SLO {name}: error budget burn ({tier.name})"
                monitor = {
                    "name": self.name(title),
                    "type": "slo alert",
                    "query": query,
                    "message": self.message(
                        title,
                        [slo.description],
                        slo.runbook or self.spec.runbook,
                        notes,
                        self.handles(labels),
                    ),
                    "tags": self.tags(
                        [
                            *([("severity", sev)] if sev else []),
                            ("slo", name),
                            ("action", tier.action),
                            ("slo_tier", tier.name),
                        ]
                    ),
                }
                prio = self.priority(sev)
                if prio is not None:
                    monitor["priority"] = prio
                monitor["options"] = {"thresholds": {"critical": float(tier.factor)}, **self.options(sev)}
                out.append((f"{self.spec.service}.slo-{slug(name)}-{slug(tier.name)}", monitor))
        return out

    # -- dashboards ----------------------------------------------------------------------------------------------
    def dashboards(self) -> list[tuple[str, dict]]:
        out = []
        for key, d in self.spec.dashboards.items():
            base = ("dashboards", key)
            variables = {}
            tvars = []
            for v in d.variables:
                if v.type == "interval":
                    continue  # Datadog picks the rollup interval itself
                prefix = v.name
                m = re.search(r"label_values\((?:[^,()]*,)?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", v.query)
                if v.type == "query" and m:
                    prefix = m.group(1)
                variables[v.name] = prefix
                tv = {
                    "name": v.name,
                    "prefix": prefix,
                    "available_values": list(v.values),
                    "defaults": [v.values[0]]
                    if v.type == "custom" and v.values and not v.include_all
                    else ["*"],
                }
                tvars.append(tv)
            widgets = []
            for i, item in enumerate(d.panels):
                if hasattr(item, "row"):
                    inner = [
                        w
                        for j, p in enumerate(item.panels)
                        if (w := self.widget(p, base + ("panels", i, "panels", j), variables))
                    ]
                    widgets.append(
                        {
                            "definition": {
                                "type": "group",
                                "layout_type": "ordered",
                                "title": item.row,
                                "show_title": True,
                                "widgets": inner,
                            }
                        }
                    )
                elif (w := self.widget(item, base + ("panels", i), variables)) is not None:
                    widgets.append(w)
            desc = [d.description] if d.description else []
            desc.append(self.plan.header)
            payload: dict = {
                "title": d.title + (f" ({self.plan.env})" if self.plan.env else ""),
                "description": "\n\n".join(desc),
                "layout_type": "ordered",
            }
            if self.spec.team:
                payload["tags"] = [_tag("team", self.spec.team)]
            if tvars:
                payload["template_variables"] = tvars
            timeframe = _live_timeframe(d.time.from_, d.time.to)
            if timeframe:
                payload["default_timeframe"] = timeframe
            payload["widgets"] = widgets
            out.append((f"{self.spec.service}.{slug(key)}", payload))
        return out

    def widget(self, p: Panel, path: tuple, variables: dict[str, str]) -> dict | None:
        try:
            return {"definition": self.definition(p, path, variables)}
        except CompileError as e:
            self.fail(
                "OBS703",
                f"panel '{p.title}': Datadog cannot express {e}",
                path,
                _hint(e, "give the panel (or its query) overrides.datadog: a Datadog metric query"),
            )
            return None

    def definition(self, p: Panel, path: tuple, variables: dict[str, str]) -> dict:
        if p.type == "text":
            return {"type": "note", "content": p.text or p.description or p.title}
        if p.type == "logs":
            node = self.plan.panel_expr(path + ("expr",))
            info = self.plan.ref(node.name) if isinstance(node, ast.Ref) else None
            if info is None or info.kind != "event":
                raise CompileError("a logs panel that does not name a log event")
            return {
                "type": "log_stream",
                "title": p.title,
                "query": self.c.log_search(node.name),
                "indexes": [self.dd.logs_index],
                "columns": ["host", "service"],
                "message_display": "inline",
                "show_date_column": True,
                "show_message_column": True,
                "sort": {"column": "time", "order": "desc"},
            }
        kind = _SCALAR.get(p.type, "timeseries")
        if kind == "query_value" and len(p.queries) > 1:
            kind = (
                "toplist"  # a query value widget shows one value: several become a top list of latest values
            )
        scalar = kind != "timeseries"
        queries = []  # (legend, Formula | raw text)
        limits: dict[int, dict] = {}  # query index -> toplist limit, from topk()/bottomk()

        def compiled(node: ast.Node) -> Formula:
            if (
                kind == "toplist"
                and isinstance(node, ast.Call)
                and node.func in ("topk", "bottomk")
                and isinstance(node.args[0], ast.Number)
                and node.by is None
            ):
                # a top list shows the k largest (smallest) latest values: topk() at the last point, exactly
                limits[len(queries)] = {
                    "count": int(node.args[0].value),
                    "order": "desc" if node.func == "topk" else "asc",
                }
                node = node.args[1]
            return self.c.formula(node, events=True, scalar=scalar, variables=variables)

        if p.overrides.datadog:
            queries.append((p.legend, _raw_formula(p.overrides.datadog)))
        elif p.expr:
            queries.append((p.legend, compiled(self.plan.panel_expr(path + ("expr",)))))
        for k, q in enumerate(p.queries):
            if q.overrides.datadog:
                queries.append((q.legend, _raw_formula(q.overrides.datadog)))
            elif q.expr:
                queries.append((q.legend, compiled(self.plan.panel_expr(path + ("queries", k, "expr")))))
        if not queries:
            raise CompileError("a panel without a query")
        if any(
            not f.leaves for _, f in queries
        ):  # a Datadog formula computes over queries; a constant has none
            raise CompileError("a constant as a panel query (it names no metric or log event)")
        requests = _requests(queries, kind, self.dd.logs_index)
        if scalar and any("q" in r for r in requests) and len(requests) > 1:
            raise CompileError("raw and compiled queries together in one scalar panel")
        d: dict = {"type": kind, "title": p.title}
        if p.description:
            d["description"] = p.description
        windows = set().union(*(f.event_windows for _, f in queries))
        if len(windows) > 1:
            raise CompileError("log counts over different windows in one scalar panel")
        if windows:
            d["time"] = _widget_time(windows.pop())
        if kind == "timeseries":
            for r in requests:
                r["display_type"] = "area" if p.stack else "line"
            d["requests"] = requests
            d["show_legend"] = p.legend_mode != "hidden"
            markers = [
                {"value": f"y = {num(t.value)}", "display_type": f"{_MARKERS.get(t.color, 'info')} dashed"}
                for t in p.thresholds
                if t.value is not None
            ]
            if markers:
                d["markers"] = markers
            axis = {k: num(v) for k, v in (("min", p.min), ("max", p.max)) if v is not None}
            if axis:
                d["yaxis"] = axis
        elif kind == "query_value":
            req = requests[0]
            if p.thresholds:
                req["conditional_formats"] = _conditional_formats(p.thresholds)
            d["requests"] = [req]
            d["autoscale"] = True
            d["precision"] = p.decimals if p.decimals is not None else 2
            if p.unit in _UNITS:
                d["custom_unit"] = _UNITS[p.unit]
        else:
            for r in requests:
                for i, f in enumerate(r.get("formulas", [])):
                    f["limit"] = limits.get(i, {"count": 10, "order": "desc"})
            d["requests"] = requests
        return d


# --- helpers -----------------------------------------------------------------------------------------------


def _requests(queries: list[tuple[str, object]], kind: str, index: str) -> list[dict]:
    """One formula request for the compiled queries (their leaves named query1..n), one legacy `q` request per raw
    Datadog query (an override, or an expression over a derived metric's override)."""
    scalar = kind != "timeseries"
    out: list[dict] = []
    compiled: list[dict] = []
    formulas: list[dict] = []
    seen: dict = {}
    for legend, f in queries:
        if f.has_raw:
            text = f.inline()
            req: dict = {"q": text}
            if (
                kind == "query_value"
            ):  # the only legacy scalar request with an aggregator (a toplist has none)
                req["aggregator"] = "last"
            elif not scalar and legend and "{{" not in legend:
                req["metadata"] = [{"expression": text, "alias_name": legend}]
            out.append(req)
            continue
        text, named = f.named(seen)
        compiled += [_query(qname, leaf, scalar, index) for qname, leaf in named]
        formula: dict = {"formula": text}
        if (
            legend and "{{" not in legend
        ):  # Datadog names grouped series by their tags; aliases are plain text
            formula["alias"] = legend
        formulas.append(formula)
    if compiled:
        req = {
            "queries": compiled,
            "formulas": formulas,
            "response_format": "scalar" if scalar else "timeseries",
        }
        out.insert(0, req)
    return out


def _raw_formula(text: str) -> Formula:
    return Formula("\x000\x00", [raw_leaf(text)])


def _query(name: str, leaf: object, scalar: bool, index: str) -> dict:
    if leaf.kind == "logs":
        compute: dict = {"aggregation": "count"}
        if leaf.interval and not scalar:
            compute["interval"] = leaf.interval * 1000
        return {
            "data_source": "logs",
            "name": name,
            "search": {"query": leaf.query},
            "indexes": [index],
            "compute": compute,
        }
    q = {"data_source": "metrics", "name": name, "query": leaf.query}
    if scalar:
        q["aggregator"] = "last"
    return q


def _conditional_formats(thresholds: list) -> list[dict]:
    out = []
    steps = list(thresholds)
    for i, t in enumerate(steps):
        palette = _PALETTES.get(t.color.lower(), "custom_bg" if t.color.startswith("#") else "white_on_gray")
        fmt: dict
        if t.value is None:
            nxt = next((s.value for s in steps[i + 1 :] if s.value is not None), None)
            if nxt is None:
                continue
            fmt = {"comparator": "<", "value": float(nxt), "palette": palette}
        else:
            fmt = {"comparator": ">=", "value": float(t.value), "palette": palette}
        if palette == "custom_bg":
            fmt["custom_bg_color"] = t.color
        out.append(fmt)
    return out


def _widget_time(secs: int) -> dict:
    text = _dur(secs)
    if text in _LIVE_SPANS:
        return {"live_span": text}
    unit, value = ("hour", secs // 3600) if secs % 3600 == 0 else ("minute", math.ceil(secs / 60))
    return {"type": "live", "unit": unit, "value": value}


def _live_timeframe(start: str, end: str) -> dict | None:
    m = re.fullmatch(r"now-(\d+)([mhdw])", start)
    if end != "now" or not m:
        return None
    unit = {"m": "minute", "h": "hour", "d": "day", "w": "week"}[m.group(2)]
    return {"type": "live", "unit": unit, "value": int(m.group(1))}


def _raw_monitor(query: str) -> tuple[str, str, dict]:
    """(type, query, thresholds) of an override query; the threshold comes from its trailing `<op> <number>`."""
    if query.startswith('"'):
        m = re.search(r"\.last\((\d+)\)", query)
        checks = int(m.group(1)) if m else 1
        return "service check", query, {"critical": checks, "ok": 1}
    if query.startswith("logs("):
        mtype = "log alert"
    elif query.startswith(("burn_rate(", "error_budget(")):
        mtype = "slo alert"
    elif query.startswith("events("):
        mtype = "event-v2 alert"
    else:
        mtype = "query alert"
    m = re.search(r"(<=|>=|==|!=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*$", query)
    if not m:
        raise CompileError("the override query: it must end with '<operator> <number>', e.g. '>= 0.05'")
    return mtype, query, {"critical": float(m.group(2))}


def _comparison(node: ast.Node, spec: Spec) -> tuple[ast.Node, str, float]:
    """(expression, operator, number) of `expr <op> number` (or `number <op> expr`, flipped)."""
    if not isinstance(node, ast.BinOp) or node.op not in _FLIP:
        raise CompileError("a condition that is not a comparison with a number")
    refuse_matching(node)
    right = _constant(node.right, spec)
    if right is not None:
        return node.left, node.op, right
    left = _constant(node.left, spec)
    if left is not None:
        return node.right, _FLIP[node.op], left
    raise CompileError("a comparison of two queries (a Datadog monitor compares its query with a number)")


def _constant(node: ast.Node, spec: Spec) -> float | None:
    if isinstance(node, ast.Number):
        return node.value
    if isinstance(node, ast.Neg):
        inner = _constant(node.operand, spec)
        return None if inner is None else -inner
    if isinstance(node, ast.Var):
        value = spec.vars.get(node.name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    return None


def _window(secs: int, notes: list[str]) -> str:
    """A Datadog evaluation window (`5m`, `1h`): whole minutes, at most a week."""
    if secs > 7 * 86400:
        raise CompileError(f"a {_dur(secs)} evaluation window (Datadog's longest is 1w)")
    if secs % 60:
        notes.append(f"The {secs}s window is rounded up to whole minutes, Datadog's smallest unit.")
    return _dur(max(60, math.ceil(secs / 60) * 60))


def _dur(secs: int) -> str:
    if secs % 3600 == 0:
        return f"{secs // 3600}h"
    return f"{math.ceil(secs / 60)}m"


def _minutes(window: str) -> int:
    return int(parse_duration(window) // 60)


def _timeframe(period: str) -> tuple[str, str | None]:
    days = parse_duration(period) / 86400
    best = min(SLO_TIMEFRAMES, key=lambda k: (abs(SLO_TIMEFRAMES[k] - days), -SLO_TIMEFRAMES[k]))
    if SLO_TIMEFRAMES[best] == days:
        return best, None
    return best, (
        f"The SLO period {period} is not a Datadog timeframe (7d, 30d, 90d): mapped to the nearest, {best}."
    )


def _tag(key: str, value: str) -> str:
    return f"{key}:{_TAG_CHARS.sub('_', str(value)).lower()}"


def _hint(error: Exception, override: str) -> str:
    if str(error).startswith("the metric name '"):
        return "give the metric a Datadog name: metrics.<name>.datadog_name or targets.datadog.metric_names"
    if re.search(r'the matcher \w+[=!]~"', str(error)):
        return (
            f"write the regex as Datadog can say it (literals, '|', '.*' at the start or end), set "
            f"targets.datadog.widen_regex: true to accept a wider wildcard, or {override}"
        )
    return override


def _text(text: str) -> str:
    """Spec prose for a Datadog message: templates on $value and $labels become Datadog's {{value}} and
    {{label.name}}, nothing else can act. Other templates lose their braces; '@' (a notification handle)
    becomes '＠'; a '{{' left over (a Datadog block such as {{#is_alert}}, or one the substitution formed,
    `{{{{x}}}}`) becomes '｛{', so Datadog sees no template obsctl did not write."""
    kept: list[str] = []

    def sub(m: re.Match) -> str:
        inner = m.group(1)
        if re.search(r"\$value\b", inner):  # {{ $value }}, {{ $value | humanize }}, {{ humanize $value }}
            kept.append("{{value}}")
        elif label := re.search(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)", inner):
            kept.append("{{" + label.group(1) + ".name}}")
        else:
            return inner
        return f"\x00{len(kept) - 1}\x00"  # set aside until the rest is defused

    out = _TEMPLATE.sub(sub, text.replace("\x00", "").replace("@", "\uff20"))
    out = re.sub("\\{(?=[{\x00])", "\uff5b", out)  # a '{' that would open a template (or precede a kept one)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], out)
