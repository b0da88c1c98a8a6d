"""`obsctl import datadog`: monitor JSON as the Datadog API returns it (one monitor, a list, or
`{"monitors": [...]}`) into alerts.

Metric ("query alert", "metric alert") monitors whose query is one obsctl's Datadog compiler writes (its count
form `sum(last_W): q.as_count() ...` and its rolling form `min|max(last_W): moving_rollup(q.as_rate(), ...)`)
become a condition in obsctl's language, `for`, and a catalog of the metrics they read (each with its
`datadog_name`). Every other query (log alerts, service checks, cutoffs, anomalies, forecasts ...) is kept verbatim
as `overrides: {datadog: ...}` and reported. As for Prometheus rules, nothing is trusted: the spec is built for
Datadog as `obsctl build` would (strict datadog-api-client deserialisation included) and each built monitor's
type, query and thresholds are compared with its source; a translation that would not come out the same is kept
verbatim instead.

The spec needs a condition for its other targets as well, which a verbatim Datadog query cannot give: such an alert
gets `overrides.promql: vector(1) < 0`, which never fires, and the report says to build the spec for Datadog.

Messages: notification handles (`@slack-x`, `@pagerduty`, e-mail addresses) and credentials in URLs are never
copied into the spec's text; both are reported (routing decides who is notified in obsctl).
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .report import CHANGED, DROPPED, VERBATIM, ImportFailure, ImportReport
from .specfile import SpecDoc, split_files
from .yamlin import line_of, load_documents

NEVER = "vector(1) < 0"  # the Prometheus side of a Datadog-only alert: a rule that never fires
METRIC_TYPES = {"query alert", "metric alert"}
TYPES = METRIC_TYPES | {"log alert", "service check"}
OBSCTL_NAME = re.compile(r"\[obsctl\](?:\[[^\]]*\])? (\S+) ([A-Za-z][A-Za-z0-9_]*): (.*)", re.S)
ALERT_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
OWN_TAGS = {"service", "env", "team", "severity", "managed-by"}
HANDLE = re.compile(r"(?<![\w.+-])@[\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?")
# options obsctl writes the same on every monitor, or derives from the query: not reported one by one
DERIVED_OPTIONS = {
    "thresholds",
    "include_tags",
    "notify_audit",
    "renotify_statuses",
    "renotify_interval",
    "require_full_window",
    "notify_no_data",
    "no_data_timeframe",
    "on_missing_data",
}
PRIORITY_SEVERITY = {1: "critical", 2: "high", 3: "warning", 4: "low", 5: "info"}
_TOP = re.compile(
    r"\s*(min|max|sum|avg)\(last_(\d+[mhdw])\):(.*?)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*", re.S
)


class NotObsctl(Exception):
    """The query is not one obsctl's compiler writes: keep it verbatim (the message says why)."""


# -- reading -------------------------------------------------------------------------------------------------


@dataclass
class Monitor:
    file: str
    raw: dict
    line: int | None

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or "")

    def item(self) -> str:
        return f"monitor '{self.name}'" + (
            f" (id {self.raw['id']})" if self.raw.get("id") is not None else ""
        )


def read_monitors(paths: list[Path]) -> list[Monitor]:
    out: list[Monitor] = []
    for path in paths:
        docs = load_documents(path)
        if not docs:
            raise ImportFailure(
                "OBS821",
                "the file is empty: no monitors",
                str(path),
                hint="give monitor JSON as GET /api/v1/monitor returns it",
            )
        for doc in docs:
            items = doc.get("monitors") if isinstance(doc, dict) and "monitors" in doc else doc
            items = items if isinstance(items, list) else [items]
            for m in items:
                if not isinstance(m, dict) or not isinstance(m.get("query"), str) or not m.get("type"):
                    raise ImportFailure(
                        "OBS827",
                        "not a Datadog monitor: a monitor has a 'type' and a 'query'",
                        str(path),
                        line_of(m) or line_of(doc) or 1,
                        hint="give monitor JSON as GET /api/v1/monitor returns it (one, a list, or "
                        '{"monitors": [...]})',
                    )
                out.append(Monitor(str(path), m, line_of(m)))
    return out


# -- the query -----------------------------------------------------------------------------------------------


@dataclass
class Translation:
    when: str
    for_: str | None
    metrics: dict[str, dict] = field(default_factory=dict)  # spec metric -> {kind, datadog_name}


def _dur(secs: int) -> str:
    for unit, n in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs % n == 0:
            return f"{secs // n}{unit}"
    return f"{secs}s"


def _secs(text: str) -> int:
    n, unit = int(text[:-1]), text[-1]
    return n * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]


class _Parser:
    """Datadog's metric formula syntax, as far as obsctl's compiler writes it, into obsctl's language."""

    def __init__(self, text: str, window: int, count_form: bool, metrics: dict[str, dict]) -> None:
        self.s = text
        self.i = 0
        self.window = window
        self.count = count_form
        self.metrics = metrics

    def fail(self, why: str) -> NotObsctl:
        return NotObsctl(f"{why} at character {self.i + 1} of the query")

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] == " ":
            self.i += 1

    def peek(self, text: str) -> bool:
        self.ws()
        return self.s.startswith(text, self.i)

    def take(self, text: str) -> None:
        if not self.peek(text):
            raise self.fail(f"expected '{text}'")
        self.i += len(text)

    def parse(self) -> str:
        out = self.expr()
        self.ws()
        if self.i != len(self.s):
            raise self.fail("unexpected text")
        return self._plain(out)

    def expr(self) -> str:
        out = self.term()
        while self.peek("+") or self.peek("-"):
            op = self.s[self.i]
            self.i += 1
            out = f"{out} {op} {self.term()}"
        return out

    def term(self) -> str:
        out = self.factor()
        while self.peek("*") or self.peek("/"):
            op = self.s[self.i]
            self.i += 1
            right = self.factor()
            out = f"{out} {op} {right}"
        return out

    def number(self) -> str | None:
        self.ws()
        m = re.compile(r"\d+(?:\.\d+)?").match(self.s, self.i)
        if m and not re.compile(r"[a-z_]", re.I).match(self.s, m.end()):
            self.i = m.end()
            return m.group(0)
        return None

    def factor(self) -> str:
        self.ws()
        if self.peek("-"):
            self.i += 1
            return f"-{self.factor()}"
        if self.peek("("):
            self.i += 1
            inner = self.expr()
            self.take(")")
            # obsctl writes delta(x[S]) as (moving_rollup(x.as_rate(), S, 'avg') * S)
            m = re.fullmatch("\x00rate\x00(.*)\x00(\\d+)\x00 \\* (\\d+)", inner, re.S)
            if m and m.group(2) == m.group(3):
                return m.group(1).replace("\x01", "delta")
            return f"({self._plain(inner)})"
        n = self.number()
        if n is not None:
            return n
        for fn in ("moving_rollup", "abs", "clamp_min", "clamp_max"):
            if self.peek(fn + "("):
                self.i += len(fn) + 1
                return getattr(self, fn)()
        return self._plain(self.query(self.count))

    @staticmethod
    def _plain(text: str) -> str:
        """A rolled rate not multiplied back into a delta is a rate."""
        return re.sub(
            "\x00rate\x00(.*?)\x00\\d+\x00", lambda m: m.group(1).replace("\x01", "rate"), text, flags=re.S
        )

    def moving_rollup(self) -> str:
        start = self.i
        q = self.query(False, rolled=True)
        self.take(",")
        secs = self.number()
        self.take(",")
        m = re.compile(r"\s*'(avg|max|min|sum)'\s*\)").match(self.s, self.i)
        if secs is None or not m or "." in secs:
            self.i = start
            raise self.fail("a moving_rollup obsctl does not write")
        self.i = m.end()
        how, secs_i = m.group(1), int(secs)
        agg, ref, modifier = q
        if modifier == ".as_rate()" and how == "avg":
            # rate or, times the same seconds, delta: decided by the caller (factor)
            inner = f"\x01({ref}[{_dur(secs_i)}])"
            return f"\x00rate\x00{agg}({inner})\x00{secs_i}\x00"
        if modifier == "" and how in ("avg", "max", "min"):
            return f"{agg}({how}_over_time({ref}[{_dur(secs_i)}]))"
        raise self.fail(f"moving_rollup(..., '{how}') of a {'counter' if modifier else 'gauge'}")

    def abs(self) -> str:
        inner = self._plain(self.expr())
        self.take(")")
        return f"abs({inner})"

    def clamp_min(self, fn: str = "clamp_min") -> str:
        inner = self._plain(self.expr())
        self.take(",")
        n = self.number()
        self.take(")")
        if n is None:
            raise self.fail(f"{fn}() without a number")
        return f"{fn}({inner}, {n})"

    def clamp_max(self) -> str:
        return self.clamp_min("clamp_max")

    def query(self, count: bool, rolled: bool = False) -> object:
        """`agg:name{filter} by {a,b}.as_rate()`: (aggregation text, reference, modifier) when `rolled`, else the
        expression it is in obsctl's language."""
        self.ws()
        m = re.compile(r"(sum|avg|min|max):([A-Za-z][A-Za-z0-9_.]*)\{").match(self.s, self.i)
        if not m:
            raise self.fail("not a metric query obsctl writes")
        agg, dd_name = m.group(1), m.group(2)
        self.i = m.end()
        end = self.s.find("}", self.i)
        if end < 0:
            raise self.fail("an unclosed tag filter")
        matchers = tag_filter(self.s[self.i : end])
        self.i = end + 1
        by: list[str] = []
        b = re.compile(r" by \{([A-Za-z0-9_.,\- ]*)\}").match(self.s, self.i)
        if b:
            by = [t.strip() for t in b.group(1).split(",") if t.strip()]
            if not all(LABEL_NAME.fullmatch(t) for t in by):
                raise self.fail("a 'by' tag that is no label name")
            self.i = b.end()
        mod = re.compile(r"\.(as_rate|as_count)\(\)").match(self.s, self.i)
        modifier = f".{mod.group(1)}()" if mod else ""
        if mod:
            self.i = mod.end()
        name = re.sub(r"[^A-Za-z0-9_]", "_", dd_name)
        kind = "counter" if modifier else "gauge"
        known = self.metrics.get(name)
        if known is not None and (known["kind"] != kind or known["datadog_name"] != dd_name):
            raise self.fail(f"the metric {dd_name} read both as a counter and as a gauge")
        self.metrics[name] = {"kind": kind, "datadog_name": dd_name}
        ref = name + ("{" + ", ".join(matchers) + "}" if matchers else "")
        aggtext = f"{agg} by ({', '.join(by)})" if by else agg
        if rolled:
            return aggtext, ref, modifier
        if modifier == ".as_count()" and count:
            return f"{aggtext}(delta({ref}[{_dur(self.window)}]))"
        if modifier == ".as_rate()" and not count:
            return f"{aggtext}(irate({ref}[5m]))"
        if not modifier and not count:
            return f"{aggtext}({ref})"
        raise self.fail(f"the metric query {dd_name}{modifier} in this form of monitor")


def _regex_literal(text: str) -> str:
    return "".join("\\\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


def _pattern(value: str) -> str:
    """A Datadog tag pattern (`*` wildcards) as the regex obsctl compiles back to it."""
    return ".*".join(_regex_literal(p) for p in value.split("*"))


def tag_filter(text: str) -> list[str]:
    """`a:b,!c:d`, `a:b AND (c:x* OR c:y) AND d IN (p, q)` into obsctl matchers (`a="b"`, ...)."""
    text = text.strip()
    if text in ("*", ""):
        return []
    if " AND " not in text and " OR " not in text and " IN " not in text and "(" not in text:
        parts = [p.strip() for p in text.split(",")]
    else:
        if "," in re.sub(r"\([^()]*\)", "", text):
            raise NotObsctl("a tag filter mixing ',' and AND")
        parts = [p.strip() for p in re.split(r" AND ", text)]
    out = []
    for p in parts:
        neg = p.startswith("!") or p.startswith("NOT ")
        p = p.removeprefix("!").removeprefix("NOT ").strip()
        inn = re.fullmatch(r"([A-Za-z_][\w.\-]*) (NOT IN|IN) \(([^()]*)\)", p)
        if inn:
            key, values = inn.group(1), [v.strip() for v in inn.group(3).split(",")]
            neg = neg or inn.group(2) == "NOT IN"
            out.append(_matcher(key, values, neg))
            continue
        if p.startswith("(") and p.endswith(")"):
            terms = [t.strip() for t in p[1:-1].split(" OR ")]
            keys = {t.split(":", 1)[0] for t in terms}
            if len(keys) != 1 or not all(":" in t for t in terms):
                raise NotObsctl(f"the tag filter '{p}'")
            out.append(_matcher(keys.pop(), [t.split(":", 1)[1] for t in terms], neg))
            continue
        if ":" not in p:
            raise NotObsctl(f"the tag '{p}' without a value")
        key, value = p.split(":", 1)
        out.append(_matcher(key, [value], neg))
    return out


def _matcher(key: str, values: list[str], neg: bool) -> str:
    if not LABEL_NAME.fullmatch(key) or not all(re.fullmatch(r"[A-Za-z0-9_.\-/:*]+", v) for v in values):
        raise NotObsctl(f"the tag {key}:{'|'.join(values)}")
    if len(values) == 1 and "*" not in values[0]:
        return f'{key}{"!=" if neg else "="}"{values[0]}"'
    return f'{key}{"!~" if neg else "=~"}"{"|".join(_pattern(v) for v in values)}"'


def translate(m: Monitor) -> Translation:
    """The monitor's query in obsctl's language, or NotObsctl."""
    if m.raw.get("type") not in METRIC_TYPES:
        raise NotObsctl(f"a {m.raw.get('type')} monitor (obsctl writes its own query for these)")
    query = m.raw["query"]
    top = _TOP.fullmatch(query)
    if not top:
        raise NotObsctl("the query is not '<time aggregation>(last_<window>): <formula> <operator> <number>'")
    time_agg, window, formula, op, value = top.groups()
    secs = _secs(window)
    count_form = time_agg == "sum"
    if time_agg not in ("sum", "min", "max"):
        raise NotObsctl(f"the time aggregation {time_agg}(last_{window}) (obsctl writes min, max or sum)")
    metrics: dict[str, dict] = {}
    expr = _Parser(formula, secs, count_form, metrics).parse()
    options = m.raw.get("options") or {}
    for_ = None
    if not count_form and options.get("require_full_window"):
        for_ = window
    return Translation(f"{expr} {op} {value}", for_, metrics)


# -- the message --------------------------------------------------------------------------------------------


def _message(m: Monitor, title: str, report: ImportReport) -> tuple[str, str, str | None]:
    """(summary, description, runbook) from the message, with handles and credentials left out (reported)."""
    from ..secrets import find_in_text

    text = str(m.raw.get("message") or "")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    runbook = None
    kept: list[str] = []
    for p in paragraphs:
        if p.startswith(("Generated by obsctl", "How obsctl mapped this to Datadog:", "Condition (obsctl):")):
            continue  # obsctl writes these itself
        if p.startswith("Notify:"):
            report.add(
                m.file,
                m.item(),
                DROPPED,
                f"its notification handles ({len(HANDLE.findall(p))}): obsctl "
                "notifies the receivers routing sends the alert to (routing.receivers.<name>.datadog)",
                m.line,
            )
            continue
        if p.startswith("Runbook: ") and "\n" not in p:
            runbook = p.removeprefix("Runbook: ").strip()
            continue
        if find_in_text(p):
            report.add(
                m.file,
                m.item(),
                DROPPED,
                "a paragraph of its message holds a credential in a URL: never copied into the spec",
                m.line,
            )
            continue
        handles = HANDLE.findall(p)
        if handles:
            report.add(
                m.file,
                m.item(),
                DROPPED,
                f"{len(handles)} notification handle(s) in its message: left out "
                "(obsctl notifies the receivers routing sends the alert to, routing.receivers.<name>.datadog)",
                m.line,
            )
            p = re.sub(r"[ \t]{2,}", " ", HANDLE.sub("", p)).strip()
        blocks = re.findall(r"\{\{[#^/][^}]*\}\}", p)
        if blocks:
            report.add(
                m.file,
                m.item(),
                CHANGED,
                "Datadog template blocks in its message ("
                + ", ".join(sorted(set(blocks)))
                + ") are left out, their text kept",
                m.line,
            )
            p = re.sub(r"\{\{[#^/][^}]*\}\}", "", p).strip()
        # Datadog's template variables back into the spec's ({{value}} -> {{ $value }}, {{x.name}} -> $labels.x)
        p = re.sub(r"\{\{\s*value\s*\}\}", "{{ $value }}", p)
        p = re.sub(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\.name\s*\}\}", r"{{ $labels.\1 }}", p)
        p = p.replace("\uff20", "@").replace("\uff5b", "{")
        if p:
            kept.append(p)
    if kept and kept[0] == title:
        kept = kept[1:]  # obsctl's messages start with the title
    summary = kept[0] if kept else ""
    return summary, "\n\n".join(kept[1:]), runbook


# -- the spec ----------------------------------------------------------------------------------------------


def _key(m: Monitor, taken: dict) -> tuple[str, str, str | None]:
    """(alert key, title, service) from the monitor's name: obsctl's own `[obsctl] svc Key: Title`, else a key
    made of the name's words."""
    own = OBSCTL_NAME.fullmatch(m.name)
    if own:
        service, key, title = own.groups()
        if key not in taken:
            return key, title, service
    words = re.findall(r"[A-Za-z0-9]+", m.name) or ["Monitor"]
    base = "".join(w[:1].upper() + w[1:] for w in words)[:80]
    if not base[0].isalpha():
        base = "M" + base
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key, (own.group(3) if own else m.name), (own.group(1) if own else None)


def _tags(m: Monitor, report: ImportReport) -> tuple[dict[str, str], dict[str, str]]:
    """(obsctl's own tags: service, team, severity, env; labels from the others)."""
    own: dict[str, str] = {}
    labels: dict[str, str] = {}
    for tag in m.raw.get("tags") or []:
        tag = str(tag)
        if ":" not in tag:
            report.add(m.file, m.item(), DROPPED, f"the tag '{tag}': a label needs key:value", m.line)
            continue
        k, v = tag.split(":", 1)
        if k in OWN_TAGS and k not in own:
            own[k] = v  # obsctl writes its own first; a second team tag is the alert's team label
        elif k == "team" or k not in OWN_TAGS and LABEL_NAME.fullmatch(k) and not k.startswith("__"):
            labels[k] = v
        elif k in OWN_TAGS:
            report.add(m.file, m.item(), DROPPED, f"the tag '{tag}': obsctl sets one {k} tag", m.line)
        else:
            report.add(m.file, m.item(), DROPPED, f"the tag '{tag}': '{k}' is not a label name", m.line)
    return own, labels


def build_spec(
    monitors: list[Monitor],
    service: str | None,
    report: ImportReport,
    forced: dict[int, str],
    default_service: str,
) -> tuple[dict, dict[int, str]]:
    alerts: dict[str, dict] = {}
    metrics: dict[str, dict] = {}
    keys: dict[int, str] = {}
    services: set[str] = set()
    teams: set[str] = set()
    parsed: dict[int, tuple] = {}
    for i, m in enumerate(monitors):
        own, labels = _tags(m, report)
        key, title, named_service = _key(m, alerts)
        alerts[key] = {}  # hold the key
        services |= {s for s in (own.get("service"), named_service) if s}
        if own.get("team"):
            teams.add(own["team"])
        parsed[i] = (own, labels, key, title)
    svc = service or (next(iter(services)) if len(services) == 1 else default_service)
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", svc):
        svc = default_service
    team = (
        next(iter(teams))
        if len(teams) == 1 and all(parsed[i][0].get("team") == next(iter(teams)) for i in parsed)
        else None
    )
    notify_no_data = {bool((m.raw.get("options") or {}).get("notify_no_data")) for m in monitors}
    for i, m in enumerate(monitors):
        own, labels, key, title = parsed[i]
        counts = report.count(m.file)
        counts.items += 1
        entry: dict = {}
        severity = own.get("severity")
        prio = m.raw.get("priority")
        if severity is None:
            severity = PRIORITY_SEVERITY.get(prio, "none") if isinstance(prio, int) else "none"
            report.add(
                m.file,
                m.item(),
                CHANGED,
                f"it has no severity tag: obsctl requires a severity, so it is "
                f"'{severity}'" + (f" (from priority {prio})" if isinstance(prio, int) else ""),
                m.line,
            )
        entry["severity"] = severity
        why = forced.get(i)
        tr = None
        if why is None:
            try:
                tr = translate(m)
            except NotObsctl as e:
                why = str(e)
        if tr is not None:
            for name, meta in tr.metrics.items():
                if name in metrics and metrics[name] != meta:
                    tr, why = (
                        None,
                        f"the metric {meta['datadog_name']} is read another way by another monitor",
                    )
                    break
        if tr is not None:
            metrics.update(tr.metrics)
            entry["when"] = tr.when
            if tr.for_:
                entry["for"] = tr.for_
            counts.translated += 1
        else:
            entry["overrides"] = {"promql": NEVER, "datadog": m.raw["query"]}
            counts.verbatim += 1
            report.add(
                m.file,
                m.item(),
                VERBATIM,
                f"kept as overrides.datadog: {why}; its Prometheus side "
                f"(overrides.promql) is '{NEVER}', which never fires",
                m.line,
            )
        if m.raw.get("type") == "metric alert":
            report.add(
                m.file,
                m.item(),
                CHANGED,
                "a 'metric alert' is built as a 'query alert' (the same query)",
                m.line,
            )
        if title and title != key:
            entry["title"] = title
        summary, description, runbook = _message(m, title, report)
        entry["summary"] = summary or title or key
        if description:
            entry["description"] = description
        if runbook:
            entry["runbook"] = runbook
        if own.get("service") not in (None, svc):
            report.add(
                m.file,
                m.item(),
                CHANGED,
                f"tagged service:{own['service']}; the spec's monitors are tagged service:{svc}",
                m.line,
            )
        if own.get("team") and own.get("team") != team and "team" not in labels:
            labels["team"] = own["team"]
        if labels:
            entry["labels"] = dict(sorted(labels.items()))
        dd = _options(m, entry, report)
        if isinstance(prio, int) and 1 <= prio <= 5:
            dd["priority"] = prio
        if dd:
            entry["datadog"] = dd
        alerts[key] = entry
        keys[i] = key
    spec: dict = {"version": 1, "service": svc}
    if team:
        spec["team"] = team
    if notify_no_data == {True}:
        spec["targets"] = {"datadog": {"notify_no_data": True}}
    if metrics:
        spec["metrics"] = {
            n: {"kind": meta["kind"], "datadog_name": meta["datadog_name"]}
            for n, meta in sorted(metrics.items())
        }
    spec["alerts"] = alerts
    return spec, keys


def _options(m: Monitor, entry: dict, report: ImportReport) -> dict:
    opts = m.raw.get("options") or {}
    dd: dict = {}
    renotify = opts.get("renotify_interval")
    if isinstance(renotify, int | float) and renotify > 0:
        dd["renotify_interval"] = int(renotify)
    thresholds = opts.get("thresholds") or {}
    lost = sorted(k for k in thresholds if k != "critical" and thresholds[k] is not None)
    if lost and m.raw.get("type") != "service check":
        report.add(
            m.file,
            m.item(),
            DROPPED,
            f"thresholds {', '.join(lost)}: obsctl's monitors have one (critical) threshold",
            m.line,
        )
    other = sorted(k for k, v in opts.items() if k not in DERIVED_OPTIONS and v not in (None, [], {}, False))
    if other:
        report.add(m.file, m.item(), DROPPED, f"options obsctl has no field for: {', '.join(other)}", m.line)
    return dd


# -- the check: build as obsctl would, compare with the source ---------------------------------------------


def built_monitors(spec_path: Path) -> tuple[list, dict[str, dict]]:
    """(error diagnostics, alert key -> built monitor) of the spec, built for Datadog as `obsctl build` builds it
    (strict datadog-api-client deserialisation included)."""
    import json

    from ..build import render

    artifacts, diags, checked = render(spec_path, ["datadog"], None, None, {"format": "rules"})
    errors = [d for d in diags if d.level == "error"]
    if errors:
        return errors, {}
    service = checked.checked[0].spec.service
    out = {}
    for a in artifacts:
        if a.path.startswith("datadog/monitors/"):
            out[a.path.rsplit("/", 1)[1].removeprefix(f"{service}.").removesuffix(".json")] = json.loads(
                a.text
            )
    return [], out


def same_monitor(src: dict, built: dict) -> str | None:
    """None when the built monitor evaluates as its source does (type, query, critical threshold), else what
    differs."""
    src_type = "query alert" if src.get("type") == "metric alert" else src.get("type")
    if built.get("type") != src_type:
        return f"type {built.get('type')!r}, not {src_type!r}"
    if " ".join(str(built.get("query")).split()) != " ".join(str(src.get("query")).split()):
        return f"query {built.get('query')!r}"
    crit = [(x.get("options") or {}).get("thresholds", {}).get("critical") for x in (src, built)]
    if crit[0] is not None and (crit[1] is None or not math.isclose(float(crit[0]), float(crit[1]))):
        return f"critical threshold {crit[1]}, not {crit[0]}"
    return None


def import_files(paths: list[Path], service: str | None) -> tuple[SpecDoc, ImportReport]:
    from .prometheus import write_files

    monitors = read_monitors(paths)
    if not monitors:
        raise ImportFailure("OBS821", "no monitors to import", str(paths[0]))
    default_service = re.sub(r"[^a-z0-9]+", "-", paths[0].name.split(".")[0].lower()).strip("-") or "datadog"
    kept: list[Monitor] = []
    skipped = ImportReport("datadog")
    for m in monitors:
        mtype = m.raw.get("type")
        if mtype == "slo alert":
            skipped.add(
                m.file,
                m.item(),
                DROPPED,
                "an SLO burn-rate monitor: obsctl writes these from slos: (import the SLO itself)",
                m.line,
            )
            skipped.count(m.file).items += 1
        elif mtype not in TYPES:
            skipped.add(
                m.file,
                m.item(),
                DROPPED,
                f"a '{mtype}' monitor: obsctl imports metric, query, log and service-check monitors",
                m.line,
            )
            skipped.count(m.file).items += 1
        else:
            kept.append(m)
    if not kept:
        raise ImportFailure(
            "OBS828",
            "no metric, query, log or service-check monitor to import",
            str(paths[0]),
            hint="obsctl writes SLO monitors from slos: and imports no other monitor types",
        )
    forced: dict[int, str] = {}
    for _ in range(3):
        report = ImportReport("datadog")
        report.findings = list(skipped.findings)
        report.counts = {f: type(c)(c.items, c.translated, c.verbatim) for f, c in skipped.counts.items()}
        spec, keys = build_spec(kept, service, report, forced, default_service)
        doc = SpecDoc(spec, header=_header(paths), source=str(paths[0]), items=len(kept))
        with tempfile.TemporaryDirectory(prefix="obsctl-import-") as tmp:
            errors, built = built_monitors(write_files(Path(tmp), split_files(doc)))
        if errors:
            d = errors[0]
            raise ImportFailure(
                "OBS824",
                f"the imported spec does not build for Datadog: {d.code} {d.message} "
                f"[{d.field}] (and {len(errors) - 1} more)",
                str(paths[0]),
                hint="this is a bug in the importer: please report it with the input",
            )
        again = False
        for i, m in enumerate(kept):
            got = built.get(keys[i])
            if got is None:
                raise ImportFailure(
                    "OBS824",
                    f"{m.item()} is missing from the built monitors",
                    m.file,
                    m.line or 1,
                    hint="this is a bug in the importer: please report it with the input",
                )
            diff = same_monitor(m.raw, got)
            if diff is not None:
                if i in forced:
                    raise ImportFailure(
                        "OBS824",
                        f"{m.item()}: kept verbatim, yet built with {diff}",
                        m.file,
                        m.line or 1,
                        hint="this is a bug in the importer: please report it",
                    )
                forced[i] = f"obsctl would build its translation with {diff}"
                again = True
        if not again:
            for i, m in enumerate(kept):
                _option_changes(m, built[keys[i]], report)
            report.notes.append(
                "obsctl names monitors '[obsctl] <service> <alert>: <title>', ends each message with "
                "how it mapped the alert, and sets include_tags, notify_audit and renotify_statuses"
            )
            if any(a.get("overrides", {}).get("datadog") for a in spec["alerts"].values()):
                report.notes.append(
                    "alerts kept as overrides.datadog have no Prometheus condition (their "
                    f"overrides.promql '{NEVER}' never fires): build this spec with --target datadog"
                )
            return doc, report
    raise ImportFailure("OBS824", "the import did not settle", str(paths[0]))  # pragma: no cover


def _option_changes(m: Monitor, built: dict, report: ImportReport) -> None:
    """Options obsctl derives (from the query, `for`, the spec's settings) that came out other than the source's."""
    src, got = m.raw.get("options") or {}, built.get("options") or {}
    for key in sorted(DERIVED_OPTIONS - {"thresholds", "include_tags", "notify_audit", "renotify_statuses"}):
        if key in src and src[key] is not None and src[key] != got.get(key):
            report.add(
                m.file,
                m.item(),
                CHANGED,
                f"option {key}: {got.get(key)!r} in the built monitor, {src[key]!r} in the source",
                m.line,
            )


def _header(paths: list[Path]) -> str:
    names = ", ".join(p.name for p in paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return (
        f"Imported by `obsctl import datadog` from {names}. Monitors under overrides.datadog are kept verbatim: "
        "their query is not one obsctl writes (see the import report)."
    )
