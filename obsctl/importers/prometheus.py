"""`obsctl import prometheus`: rule files and PrometheusRule objects into a spec.

Alert rules become alerts, recording rules derived metrics, and the catalog is inferred from how the rules read
each metric (obsctl.importers.promql). An expression is written in obsctl's language only when `faithful()` says
the language means exactly what the source means; otherwise it is kept verbatim as `overrides: {promql: ...}`.
Before anything is written, the spec is checked and compiled as `obsctl build` would, and every rule's built
PromQL is compared with its source (promql-parser trees, `normalise`): a translated rule that would not come out
the same is kept verbatim instead, so the import never changes what a rule means.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from ..durations import is_duration
from . import promql as pq
from .report import CHANGED, DROPPED, VERBATIM, ImportFailure, ImportReport
from .specfile import SpecDoc, split_files
from .yamlin import line_of, load_documents

ALERT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
SERVICE_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
GROUP_KEYS = {"name", "rules", "interval"}
FIELD_ANNOTATIONS = {
    "summary": "summary",
    "description": "description",
    "runbook_url": "runbook",
    "title": "title",
}
KEEP_SERVICE = "{{ $labels.service }}"
PROGRESS_AT = 1000  # rules; below this an import is quick enough to need no progress line


@dataclass
class SourceRule:
    file: str
    group: str
    interval: str | None
    raw: dict
    line: int | None
    parsed: object = None  # promql-parser tree of expr

    @property
    def name(self) -> str:
        return str(self.raw.get("alert") or self.raw.get("record"))

    @property
    def is_alert(self) -> bool:
        return "alert" in self.raw

    @property
    def expr(self) -> str:
        return str(self.raw["expr"]).strip()

    def item(self) -> str:
        return f"{'alert' if self.is_alert else 'record'} {self.name} (group {self.group})"


@dataclass
class Decision:
    """How one rule goes into the spec: translated (`when`, `guard`) or verbatim (`why`)."""

    when: str | None = None
    guard: str | None = None
    probe: str | None = None
    why: str | None = None  # set: kept verbatim, and this is the reason


@dataclass
class Imported:
    spec: dict
    report: ImportReport
    rules: list[SourceRule] = field(default_factory=list)
    keys: dict[int, str] = field(default_factory=dict)  # index in rules -> alert key or derived name


# -- reading ------------------------------------------------------------------------------------------------------


def read_rules(paths: list[Path], report: ImportReport) -> list[SourceRule]:
    rules: list[SourceRule] = []
    for path in paths:
        docs = load_documents(path)
        groups = []
        for doc in docs:
            groups += _groups_of(doc, str(path))
        if not docs:
            raise ImportFailure(
                "OBS821",
                "the file is empty: no rule groups",
                str(path),
                hint="give a Prometheus rule file (groups:) or a PrometheusRule object",
            )
        for g in groups:
            name = str(g.get("name", ""))
            for key in sorted(set(g) - GROUP_KEYS):
                report.add(
                    str(path),
                    f"group {name}",
                    DROPPED,
                    f"the group setting '{key}' has no place in the spec",
                    line_of(g),
                )
            grules = g.get("rules") or []
            if not isinstance(grules, list):
                raise ImportFailure(
                    "OBS821", f"the rules of group '{name}' are not a list", str(path), line_of(g) or 1
                )
            for r in grules:
                if not isinstance(r, dict) or "expr" not in r or ("alert" in r) == ("record" in r):
                    raise ImportFailure(
                        "OBS821",
                        "not a rule: a rule needs 'expr' and one of 'alert' or 'record'",
                        str(path),
                        line_of(r) or line_of(g) or 1,
                        hint="see Prometheus' recording and alerting rule format",
                    )
                _check_rule_fields(path, g, r)
                rule = SourceRule(str(path), name, g.get("interval"), r, line_of(r))
                try:
                    rule.parsed = pq.parse(rule.expr)
                except pq.PromQLError as e:
                    raise ImportFailure(
                        "OBS823",
                        f"{rule.item()}: the expression is not PromQL: {e}",
                        str(path),
                        line_of(r) or 1,
                        field="expr",
                    ) from None
                rules.append(rule)
    return rules


def _groups_of(doc: object, file: str) -> list[dict]:
    """Rule groups of one document: a rule file, a PrometheusRule, or a List of PrometheusRules."""
    if isinstance(doc, dict):
        if doc.get("kind") == "PrometheusRule":
            spec = doc.get("spec")
            groups = spec.get("groups") if isinstance(spec, dict) else None
        elif doc.get("kind") == "List" or (doc.get("kind", "").endswith("List") and "items" in doc):
            return [g for item in doc.get("items") or [] for g in _groups_of(item, file)]
        else:
            groups = doc.get("groups")
        if isinstance(groups, list) and all(isinstance(g, dict) for g in groups):
            return groups
    raise ImportFailure(
        "OBS821",
        "not Prometheus rules: expected a rule file (groups:) or a PrometheusRule object",
        file,
        line_of(doc) or 1,
        hint="`obsctl import prometheus` reads rule files and PrometheusRule objects",
    )


# -- deciding ----------------------------------------------------------------------------------------------------


def _probe(node: object) -> str | None:
    """The URL of `probe_success{instance="<url>"} == 0`, the form obsctl writes for HTTP probes."""
    import promql_parser as pp

    while isinstance(node, pp.ParenExpr):
        node = node.expr
    if not (
        isinstance(node, pp.BinaryExpr)
        and str(node.op) == "=="
        and node.modifier is None
        and isinstance(node.rhs, pp.NumberLiteral)
        and float(node.rhs.val) == 0
        and isinstance(node.lhs, pp.VectorSelector)
        and node.lhs.name == "probe_success"
        and node.lhs.offset is None
        and node.lhs.at is None
    ):
        return None
    ms = node.lhs.matchers.matchers
    if (
        len(ms) == 1
        and ms[0].name == "instance"
        and str(ms[0].op).endswith(".Equal")
        and re.fullmatch(r"https?://[^/@\s?#]+([/?#]\S*)?", ms[0].value)
    ):
        return ms[0].value
    return None


def _guard_split(node: object) -> tuple[object, object] | None:
    """(condition, guard) of `(cond) and on() (guard)`, how obsctl joins a single-series volume guard."""
    import promql_parser as pp

    while isinstance(node, pp.ParenExpr):
        node = node.expr
    if (
        isinstance(node, pp.BinaryExpr)
        and str(node.op) == "and"
        and node.modifier is not None
        and node.modifier.matching is not None
        and not list(node.modifier.matching.labels)
        and str(node.modifier.matching.type).endswith("Include")
        and not node.modifier.return_bool
    ):
        return node.lhs, node.rhs
    return None


def decide(rule: SourceRule, ctx: pq.Context) -> Decision:
    import dataclasses

    node = rule.parsed
    ctx = dataclasses.replace(ctx, spelling=pq.spellings(rule.expr))
    if rule.is_alert:
        if (url := _probe(node)) is not None:
            return Decision(probe=url)
        split = _guard_split(node)
        if split is not None and pq.faithful(split[0], ctx) is None and pq.faithful(split[1], ctx) is None:
            return Decision(when=pq.to_obsctl(split[0], ctx), guard=pq.to_obsctl(split[1], ctx))
    why = pq.faithful(node, ctx)
    if why is not None:
        return Decision(why=why)
    return Decision(when=pq.to_obsctl(node, ctx))


# -- the spec ----------------------------------------------------------------------------------------------------


def _service(rules: list[SourceRule], paths: list[Path], given: str | None) -> str:
    if given:
        return given
    services = {str(r.raw.get("labels", {}).get("service")) for r in rules if r.is_alert}
    if len(services) == 1 and SERVICE_NAME.fullmatch(s := next(iter(services))):
        return s
    stem = re.sub(r"[^a-z0-9]+", "-", paths[0].name.split(".")[0].lower()).strip("-")
    stem = re.sub(r"-?prometheusrule$", "", stem) or stem
    return stem if SERVICE_NAME.fullmatch(stem or "") else "imported"


def _common_selector(rules: list[SourceRule], records: set[str]) -> dict[str, str]:
    """Equality matchers every metric selector of every rule holds (a `job`, say), which records carry as labels:
    that is what `sources.metrics.selector` means, so obsctl's own output imports back to the same selector."""
    import promql_parser as pp

    common: set[tuple[str, str]] | None = None
    for r in rules:
        if r.is_alert and _probe(r.parsed):
            continue
        for n in pq.walk(r.parsed):
            if isinstance(n, pp.VectorSelector):
                eq = {
                    (m.name, m.value)
                    for m in n.matchers.matchers
                    if str(m.op).endswith(".Equal") and not m.name.startswith("__")  # `{"my.metric"}`'s name
                }
                common = eq if common is None else common & eq
                if not common:
                    return {}
    if not common:
        return {}
    selector = dict(sorted(common))
    for r in rules:
        if not r.is_alert and {str(k): str(v) for k, v in (r.raw.get("labels") or {}).items()} != selector:
            return {}
    return selector if not any(n in records for n in selector) else {}


def _derived_name(
    record: str, taken: set[str], node_text: str | None, window_spec: SimpleNamespace, keep: bool = True
) -> tuple[str, str | None]:
    """(derived name, window) for a recording rule: the name obsctl's `level:metric:operations` turns back into
    `record` when there is one, else the record name with ':' spelt '__'."""
    from ..expr.parser import ExprSyntaxError, parse
    from ..naming import record_name

    parts = record.split(":")
    if keep and len(parts) == 3 and LABEL_NAME.fullmatch(parts[1]) and parts[1] not in taken:
        try:
            node = parse(node_text) if node_text else parse("0")
        except ExprSyntaxError:
            node = None
        ops = parts[2]
        windows = [None] + re.findall(r"([0-9]+[smhdwy])$", ops)
        for w in windows:
            window_spec.derived = {parts[1]: SimpleNamespace(window=w)}
            if record_name(window_spec, parts[1], node) == record:
                return parts[1], w
    base = re.sub(r"[^A-Za-z0-9_]", "_", record.replace(":", "__")) or "record"
    if not re.match(r"[A-Za-z_]", base):
        base = "r_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name, None


def _alert_key(name: str, severity: str, taken: dict | set) -> str:
    if ALERT_NAME.fullmatch(name) and name not in taken:
        return name
    base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "Alert"
    if not base[0].isalpha():
        base = "A" + base
    key = f"{base}_{re.sub(r'[^A-Za-z0-9_]', '_', severity)}" if severity else base
    n = 2
    while key in taken or not ALERT_NAME.fullmatch(key):
        key, n = f"{base}_{n}", n + 1
    return key


def _check_rule_fields(path: Path, group: dict, rule: dict) -> None:
    """OBS821 at the rule for a name that is no name (`alert:` empty, a list, a mapping) and for durations that are
    not durations (`for: 5`, a date): they would otherwise reach the spec and fail there as an importer bug."""

    def bad(owner: dict, key: str, what: str, hint: str) -> ImportFailure:
        shown = str(owner[key])[:40]
        return ImportFailure(
            "OBS821", f"'{key}: {shown}' is not {what}", str(path), line_of(owner) or 1, hint=hint, field=key
        )

    key = "alert" if "alert" in rule else "record"
    value = rule[key]
    if value is None or isinstance(value, dict | list) or not str(value).strip():
        raise bad(
            rule,
            key,
            "a name",
            f"a rule's {key} is its name, e.g. {'ApiDown' if key == 'alert' else 'job:up:sum'}",
        )
    for owner, key in ((group, "interval"), (rule, "for"), (rule, "keep_firing_for")):
        value = owner.get(key)
        if value is not None and not (isinstance(value, str) and is_duration(value)):
            raise bad(owner, key, "a duration", "Prometheus durations are like 30s, 5m, 1h30m")


def _duration(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", "0", "0s") else text


def build_spec(
    rules: list[SourceRule],
    paths: list[Path],
    service: str | None,
    report: ImportReport,
    forced: dict[int, str],
    no_by: bool = False,
) -> Imported:
    """The spec for `rules`; `forced` maps rule indexes to a reason to keep them verbatim (from the check)."""
    from .promql import Usage

    service = _service(rules, paths, service)
    records = {r.name for r in rules if not r.is_alert}
    usage: dict[str, Usage] = {}
    for r in rules:
        tmpl = set()
        if r.is_alert:
            for v in list((r.raw.get("annotations") or {}).values()) + list(
                (r.raw.get("labels") or {}).values()
            ):
                tmpl |= set(re.findall(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)", str(v)))
        pq.collect_usage(r.parsed, usage, tmpl)
    metrics = pq.catalog(usage, records)
    kinds = {n: m["kind"] for n, m in metrics.items() if m["kind"] != "histogram"}
    for n, m in metrics.items():
        if m["kind"] == "histogram":
            kinds.update({f"{n}_bucket": "part", f"{n}_count": "part", f"{n}_sum": "part"})
    strip = _common_selector(rules, records)

    # Recording rules keep their name only when obsctl's naming gives it back (obsctl's own output); a record
    # that several rules write (one per label set) cannot be one derived metric.
    names_seen: dict[str, int] = {}
    for r in rules:
        if not r.is_alert:
            names_seen[r.name] = names_seen.get(r.name, 0) + 1
    taken = set(metrics)
    kept: dict[str, str] = {}
    # obsctl's record names start with the labels `defaults.by` keeps (`environment:...`); when every record of
    # the source starts with one such label, that is the spec's defaults.by (the check below proves it changes
    # no expression)
    levels = {r.name.split(":")[0] for r in rules if not r.is_alert and r.name.count(":") == 2}
    by = (
        [next(iter(levels))]
        if len(levels) == 1
        and next(iter(levels)) != "service"
        and LABEL_NAME.fullmatch(next(iter(levels)))
        and all(r.name.count(":") == 2 for r in rules if not r.is_alert)
        and not no_by
        else []
    )
    window_spec = SimpleNamespace(defaults=SimpleNamespace(by=by, window="5m"), derived={})
    ctx = pq.Context(kinds=kinds, records=records, strip=strip, derived={})
    derived_names: dict[int, tuple[str, str | None]] = {}
    for i, r in enumerate(rules):
        if r.is_alert:
            continue
        text = None
        if i not in forced and pq.faithful(r.parsed, ctx) is None:
            text = pq.to_obsctl(r.parsed, ctx)
        name, window = _derived_name(r.name, taken, text, window_spec, keep=names_seen[r.name] == 1)
        taken.add(name)
        derived_names[i] = (name, window)
        if (
            names_seen[r.name] == 1
            and LABEL_NAME.fullmatch(name)
            and r.name.count(":") == 2
            and name == r.name.split(":")[1]
        ):
            kept[r.name] = name
    ctx = pq.Context(kinds=kinds, records=records - set(kept), strip=strip, derived=kept)

    spec: dict = {"version": 1, "service": service}
    if by:
        spec["defaults"] = {"by": by}
    team = {str(r.raw.get("labels", {}).get("team")) for r in rules if r.is_alert}
    if len(team) == 1 and (t := next(iter(team))) != "None" and "{{" not in t:
        spec["team"] = t
    out = Imported(spec, report, rules)
    derived: dict[str, dict] = {}
    alerts: dict[str, dict] = {}
    probes: dict[str, dict] = {}
    for i, r in enumerate(rules):
        counts = report.count(r.file)
        counts.items += 1
        d = Decision(why=forced[i]) if i in forced else decide(r, ctx)
        if d.why is not None:
            counts.verbatim += 1
            report.add(r.file, r.item(), VERBATIM, f"kept as overrides.promql: {d.why}", r.line)
        else:
            counts.translated += 1
        if r.is_alert:
            alerts_entry = _alert(r, d, service, spec.get("team"), report, alerts, probes)
            out.keys[i] = alerts_entry
        else:
            name, window = derived_names[i]
            entry: dict = {}
            if d.why is None:
                entry["expr"] = d.when
            else:
                entry["expr"] = "0"
                entry["overrides"] = {"promql": r.expr}
                entry["help"] = (
                    f"recording rule {r.name}; obsctl's language cannot say it yet, so the override is "
                    "what Prometheus records (expr is a placeholder)"
                )
            if window:
                entry["window"] = window
            if d.why is None:
                entry["help"] = f"recording rule {r.name}"
            derived[name] = entry
            out.keys[i] = name
            labels = {str(k): str(v) for k, v in (r.raw.get("labels") or {}).items()}
            if labels and labels != strip:
                report.add(
                    r.file,
                    r.item(),
                    DROPPED,
                    f"its labels {labels}: a derived metric carries no labels of its own",
                    r.line,
                )
            if r.name not in kept:
                report.add(
                    r.file,
                    r.item(),
                    CHANGED,
                    f"recorded as the derived metric '{name}', under obsctl's "
                    "name for it (level:metric:operations): the spec cannot keep a record's name",
                    r.line,
                )
            for key in sorted(set(r.raw) - RULE_KEYS):
                report.add(
                    r.file, r.item(), DROPPED, f"the rule setting '{key}' has no place in the spec", r.line
                )
    if strip or probes:
        spec["sources"] = {}
        if strip:
            spec["sources"]["metrics"] = {"selector": strip}
        if probes:
            spec["sources"]["probes"] = probes
    if metrics:
        spec["metrics"] = metrics
    if derived:
        spec["derived"] = derived
    if alerts:
        spec["alerts"] = alerts
    every = {str(r.interval) if r.interval else None for r in rules}
    if len(every) == 1 and (iv := next(iter(every))) not in (None, "1m"):
        spec["targets"] = {"prometheus": {"evaluation_interval": iv}}
    else:
        seen_groups: set[tuple[str, str]] = set()
        for r in rules:
            if r.interval and str(r.interval) != "1m" and (r.file, r.group) not in seen_groups:
                seen_groups.add((r.file, r.group))
                report.add(
                    r.file,
                    f"group {r.group}",
                    CHANGED,
                    f"evaluated every 1m, not every {r.interval}: the spec has one evaluation interval",
                    None,
                )
    if None in every:
        report.notes.append(
            "groups without an interval run at Prometheus' global evaluation_interval; the built "
            "groups say " + spec.get("targets", {}).get("prometheus", {}).get("evaluation_interval", "1m")
        )
    return out


def _alert(
    r: SourceRule,
    d: Decision,
    service: str,
    team: str | None,
    report: ImportReport,
    alerts: dict,
    probes: dict,
) -> str:
    from ..secrets import find_in_text

    labels = {str(k): v for k, v in (r.raw.get("labels") or {}).items()}
    severity = labels.pop("severity", None)
    key = _alert_key(r.name, str(severity or ""), alerts)
    entry: dict = {}
    if severity is None:
        report.add(
            r.file,
            r.item(),
            CHANGED,
            'it has no severity label: obsctl requires one, so the built alert carries severity="none"',
            r.line,
        )
        severity = "none"
    entry["severity"] = str(severity)
    if d.probe:
        name = f"probe_{len(probes) + 1}"
        probes[name] = {"url": d.probe}
        entry["probe"] = name
    elif d.why is None:
        entry["when"] = d.when
        if d.guard:
            entry["only_if"] = d.guard
    if for_ := _duration(r.raw.get("for")):
        entry["for"] = for_
    if kf := _duration(r.raw.get("keep_firing_for")):
        entry["keep_firing_for"] = kf
    annotations = {str(k): str(v) for k, v in (r.raw.get("annotations") or {}).items()}
    if key != r.name:
        report.add(
            r.file,
            r.item(),
            CHANGED,
            f"named '{key}' (alertname too): "
            + ("another alert has its name" if ALERT_NAME.fullmatch(r.name) else "not a valid alert key")
            + "; obsctl cannot set alertname, the original name is the title",
            r.line,
        )
        annotations.setdefault("title", r.name)
    extra: dict[str, str] = {}
    for k, v in annotations.items():
        if find_in_text(v):
            report.add(
                r.file,
                r.item(),
                DROPPED,
                f"the annotation '{k}': it holds a credential (a secret is never copied into the spec)",
                r.line,
            )
        elif k in FIELD_ANNOTATIONS:
            entry[FIELD_ANNOTATIONS[k]] = v
        elif LABEL_NAME.fullmatch(k) and not k.startswith("__"):
            extra[k] = v
        else:
            report.add(
                r.file,
                r.item(),
                DROPPED,
                f"the annotation '{k}': not a valid annotation name in the spec",
                r.line,
            )
    if "summary" not in annotations:
        report.add(
            r.file,
            r.item(),
            CHANGED,
            f'it has no summary: obsctl adds summary "{annotations.get("title", key)}"',
            r.line,
        )
    if extra:
        entry["annotations"] = dict(sorted(extra.items()))
    out_labels = {}
    for k, v in sorted(labels.items()):
        v = str(v)
        if k == "service" and v == service or k == "team" and team is not None and v == team:
            continue
        if k == "alertname" or not LABEL_NAME.fullmatch(k) or k.startswith("__"):
            report.add(
                r.file,
                r.item(),
                DROPPED,
                f"the label '{k}': obsctl sets alertname itself"
                if k == "alertname"
                else f"the label '{k}': not a valid label name",
                r.line,
            )
            continue
        out_labels[k] = v
    if "service" not in labels:
        # obsctl sets service="<service>" on every alert, which would replace a service label the series carry;
        # this template keeps the series' own (and Prometheus drops a label whose value renders empty).
        out_labels["service"] = KEEP_SERVICE
    if out_labels:
        entry["labels"] = dict(sorted(out_labels.items()))
    if d.why is not None:
        entry["overrides"] = {"promql": r.expr}
    for k in sorted(set(r.raw) - RULE_KEYS):
        report.add(r.file, r.item(), DROPPED, f"the rule setting '{k}' has no place in the spec", r.line)
    alerts[key] = entry
    return key


# -- the check: build as obsctl would, compare with the source ---------------------------------------------------


def built_rules(spec_path: Path) -> tuple[list, dict[str, str], dict[str, str]]:
    """(error diagnostics, alert name -> built PromQL, derived name -> built PromQL) of a spec file, compiled as
    `obsctl build --target prometheus` compiles it (no promtool, no files)."""
    from ..backends import BackendError
    from ..backends.prometheus import groups
    from ..pipeline import check
    from ..plan import build_plan

    result = check(spec_path)
    errors = [d for d in result.diagnostics if d.level == "error"]
    if errors or not result.checked:
        return errors, {}, {}
    c = result.checked[0]
    plan = build_plan(c.spec, c.analysis, c.smap, spec_path)
    try:
        gs = groups(plan)
    except BackendError as e:
        return e.diagnostics, {}, {}
    alerts: dict[str, str] = {}
    derived: dict[str, str] = {}
    for g in gs:
        if g.name.endswith(".recording"):
            derived.update(zip(c.spec.derived, (r.expr for r in g.rules), strict=True))
        else:
            alerts.update((r.alert, r.expr) for r in g.rules)
    return [], alerts, derived


def import_rules(
    paths: list[Path], service: str | None, progress: bool = False
) -> tuple[SpecDoc, ImportReport]:
    """Read, decide, write, check and compare; a rule whose built form differs from the source is kept verbatim
    and the spec made again, as is one whose translation does not validate (a verbatim rule always validates and
    builds to its source)."""
    import tempfile

    report = ImportReport("prometheus")
    rules = read_rules(paths, report)
    if not rules:
        raise ImportFailure("OBS821", "no rules to import", str(paths[0]), hint="the rule groups are empty")
    show = progress or len(rules) >= PROGRESS_AT
    if show:
        print(f"obsctl import: {len(rules)} rules read from {len(paths)} file(s)", file=sys.stderr)
    forced: dict[int, str] = {}
    for attempt in range(4):
        trial = ImportReport("prometheus")
        trial.findings = list(report.findings)
        imported = build_spec(rules, paths, service, trial, forced, no_by=bool(forced))
        doc = SpecDoc(imported.spec, header=_header(paths), source=str(paths[0]), items=len(rules))
        with tempfile.TemporaryDirectory(prefix="obsctl-import-") as tmp:
            spec_path = write_files(Path(tmp), split_files(doc))
            if show:
                print(f"obsctl import: checking the spec ({attempt + 1})", file=sys.stderr)
            errors, alerts, derived = built_rules(spec_path)
        if errors:
            # a translation obsctl refuses (a join its label inference finds many-to-many, say) is kept verbatim;
            # an error on anything else is the importer's own
            rule_of = {
                (("alerts" if r.is_alert else "derived"), imported.keys[i]): i for i, r in enumerate(rules)
            }
            refused = {rule_of.get(tuple(d.field.split(".")[:2])) for d in errors}
            if None not in refused and not refused & set(forced):
                for d in errors:
                    i = rule_of[tuple(d.field.split(".")[:2])]
                    forced.setdefault(i, f"obsctl refuses its translation: {d.code} {d.message}")
                continue
            first = errors[0]
            raise ImportFailure(
                "OBS824",
                f"the imported spec does not validate: {first.code} {first.message} "
                f"[{first.field}] (and {len(errors) - 1} more)",
                str(paths[0]),
                hint="this is a bug in the importer: please report it with the input",
            )
        again = False
        for i, r in enumerate(rules):
            key = imported.keys[i]
            built = alerts.get(key) if r.is_alert else derived.get(key)
            if built is None:
                raise ImportFailure(
                    "OBS824",
                    f"{r.item()} is missing from the built rules",
                    r.file,
                    r.line or 1,
                    hint="this is a bug in the importer: please report it with the input",
                )
            if pq.canon(r.parsed) != pq.normalise(built):
                if i in forced:
                    raise ImportFailure(
                        "OBS824",
                        f"{r.item()}: kept verbatim, yet built differently",
                        r.file,
                        r.line or 1,
                        hint="this is a bug in the importer: please report it",
                    )
                forced[i] = f"obsctl would compile its translation to {built!r}, which is not the same"
                again = True
        if not again:
            return doc, imported.report
    raise ImportFailure(
        "OBS824",
        "the import did not settle",
        str(paths[0]),  # pragma: no cover
        hint="this is a bug in the importer: please report it with the input",
    )


def write_files(folder: Path, files: dict[str, str]) -> Path:
    """Write a spec's files (`split_files`) into a scratch folder; the main spec's path."""
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return folder / next(iter(files))


def _header(paths: list[Path]) -> str:
    names = ", ".join(p.name for p in paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return (
        f"Imported by `obsctl import prometheus` from {names}. Rules under overrides.promql are kept verbatim: "
        "obsctl's language cannot say them yet (see the import report)."
    )


def import_files(paths: list[Path], service: str | None) -> tuple[SpecDoc, ImportReport]:
    return import_rules(paths, service)
