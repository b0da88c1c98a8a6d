"""Prometheus target: recording rules for derived metrics, alert rules, HTTP-probe alerts with their blackbox
scrape config, the service's own scrape jobs, generated promtool unit tests, and optionally the same groups as a
prometheus-operator PrometheusRule.

Alerts whose condition reads log events belong to the Loki ruler (obsctl.backends.loki); the labels and
annotations of every alert, whichever ruler evaluates it, come from `alert_labels` / `alert_annotations` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..compile.promql import CompileError
from . import Artifact, BackendError, Context

PROMETHEUSRULE_API = "monitoring.coreos.com/v1"


# -- what every ruler shares ----------------------------------------------------------------------------------


# -- the rule model -------------------------------------------------------------------------------------------


def recording_group(ctx: Context) -> Group | None:
    spec = ctx.spec
    if not spec.targets.prometheus.recording_rules or not spec.derived:
        return None
    records = ctx.records()
    # Records carry the source selector's labels, which queries on them match (PromQL.record_selector).
    extra = dict(sorted({**spec.sources.metrics.selector, **spec.targets.prometheus.rule_labels}.items()))
    rules = []
    for name in spec.derived:
        try:
            expr = ctx.promql().derived(name, inline=True)
        except CompileError as e:
            raise BackendError([ctx.error("OBS700", f"derived metric '{name}': {e}", ("derived", name),
                                          "give overrides.promql for this derived metric")]) from e
        rules.append(Rule(expr=expr, record=records[name], labels=extra))
    return Group(f"{spec.service}.recording", spec.targets.prometheus.evaluation_interval, rules)


def alert_parts(ctx: Context, name: str) -> tuple[str, str | None, set[str] | None]:
    """(condition, volume guard or None, the guard's output labels) as PromQL; the probe or override stands in
    for the compiled `when`."""
    a = ctx.spec.alerts[name]
    pq = ctx.promql()
    path = ("alerts", name)
    try:
        if a.overrides.promql:
            when = a.overrides.promql.strip()
        elif a.probe:
            when = f"{pq.probe_selector(a.probe)} == 0"
        else:
            when = pq.compile(ctx.analysis.exprs[path + ("when",)])
        guard_node = ctx.analysis.exprs.get(path + ("only_if",))
        guard = pq.compile(guard_node) if guard_node is not None else None
        labels = pq.output_labels(guard_node) if guard_node is not None else None
    except CompileError as e:
        raise BackendError([ctx.error("OBS700", f"alert '{name}': {e}", path + ("when",),
                                      "give overrides.promql for this alert")]) from e
    return when, guard, labels


def alert_expr(ctx: Context, name: str) -> str:
    """The alert's PromQL: compiled `when` (or the override, or the probe), joined with its volume guard."""
    return guarded(*alert_parts(ctx, name))


def alert_rule(ctx: Context, name: str, expr: str) -> Rule:
    """An alerting rule for a spec alert, with `expr` in the rule file's language (PromQL, or LogQL for Loki)."""
    a = ctx.spec.alerts[name]
    return Rule(expr=expr, alert=name, for_=a.for_ if a.for_ not in ("0", "0s") else "",
                keep_firing_for=a.keep_firing_for or "", labels=alert_labels(ctx, name),
                annotations=alert_annotations(ctx, name))


def alert_group(ctx: Context) -> Group | None:
    names = enabled_alerts(ctx, "prometheus")
    if not names:
        return None
    rules = [alert_rule(ctx, name, alert_expr(ctx, name)) for name in names]
    return Group(f"{ctx.spec.service}.alerts", ctx.spec.targets.prometheus.evaluation_interval, rules)


def groups(ctx: Context) -> list[Group]:
    return [g for g in (recording_group(ctx), alert_group(ctx)) if g is not None]


def rules_path(ctx: Context) -> str:
    return f"prometheus/{ctx.spec.service}.rules.yml"


# -- blackbox -------------------------------------------------------------------------------------------------


def blackbox_jobs(ctx: Context) -> list[dict]:
    """One scrape job per blackbox module (split further when its probes differ in interval or timeout)."""
    by_key: dict[tuple[str, str, str], list[str]] = {}
    for p in ctx.spec.sources.probes.values():
        by_key.setdefault((p.module, p.interval, p.timeout), [])
        if p.url not in by_key[(p.module, p.interval, p.timeout)]:
            by_key[(p.module, p.interval, p.timeout)].append(p.url)
    modules = [k[0] for k in by_key]
    jobs = []
    for (module, interval, timeout), urls in by_key.items():
        job = f"blackbox-{module}" if modules.count(module) == 1 else f"blackbox-{module}-{interval}-{timeout}"
        jobs.append({"name": job, "module": module, "interval": interval, "timeout": timeout, "targets": urls})
    return jobs


def probe_job(ctx: Context, probe: str) -> str:
    """The `job` label the scrape config gives a probe's series."""
    p = ctx.spec.sources.probes[probe]
    for job in blackbox_jobs(ctx):
        if job["module"] == p.module and job["interval"] == p.interval and job["timeout"] == p.timeout:
            return job["name"]
    raise KeyError(probe)


# -- the service's own scrape jobs ----------------------------------------------------------------------------


def scrape_jobs(ctx: Context) -> list[dict]:
    """The spec's scrape jobs (`sources.metrics.scrape`, or `targets` as one job) as the template renders them."""
    src = ctx.spec.sources.metrics
    return [{"job": j.job, "targets": j.targets, "metrics_path": j.metrics_path, "scheme": j.scheme,
             "interval": j.interval or src.scrape_interval, "labels": dict(sorted(j.labels.items()))}
            for j in src.jobs(ctx.spec.service)]


def scrape_path(ctx: Context) -> str:
    return f"prometheus/{ctx.spec.service}.scrape.yml"


# -- build ----------------------------------------------------------------------------------------------------


def _slo_artifacts(ctx: Context) -> list[Artifact]:
    try:
        from .prometheus_slo import build as build_slo
    except ImportError:  # SLO rules live in their own module; an installation without it has none
        return []
    return list(build_slo(ctx))


def prometheusrule_text(ctx: Context, name: str, group_data: list[dict]) -> str:
    spec = ctx.spec.targets.prometheus
    labels = dict(spec.operator_labels)
    labels["app.kubernetes.io/managed-by"] = "obsctl"
    return ctx.render("prometheus/prometheusrule.yml.j2", name=name, namespace=spec.operator_namespace,
                      labels=dict(sorted(labels.items())), groups=group_data)


def build(ctx: Context) -> list[Artifact]:
    from ..alert_tests import test_file

    service = ctx.spec.service
    gs = groups(ctx)
    data = [g.as_template() for g in gs]
    as_crd = ctx.options.get("format") == "prometheusrule"
    out: list[Artifact] = []
    if as_crd:
        out.append(Artifact(f"prometheus/{service}.prometheusrule.yml", prometheusrule_text(ctx, f"{service}-rules", data)))
    else:
        out.append(Artifact(rules_path(ctx), ctx.render("prometheus/rules.yml.j2", groups=data)))
        out.append(Artifact(f"prometheus/{service}.tests.yml", test_file(ctx, gs, f"{service}.rules.yml")))
    jobs = scrape_jobs(ctx)
    blackbox = {job["name"] for job in blackbox_jobs(ctx)}
    for i, job in enumerate(jobs):
        if job["job"] in blackbox:  # both snippets go into one prometheus.yml, which needs unique job names
            path = ("sources", "metrics", "scrape", i, "job") if ctx.spec.sources.metrics.scrape else \
                ("sources", "metrics", "selector", "job")
            raise BackendError([ctx.error("OBS243", f"the scrape job '{job['job']}' has the name of a blackbox "
                                          "job the HTTP probes need", path, "rename the scrape job")])
    if jobs:
        out.append(Artifact(scrape_path(ctx), ctx.render("prometheus/scrape.yml.j2", jobs=jobs)))
    if ctx.spec.sources.probes:
        out.append(Artifact(f"prometheus/{ctx.spec.service}.blackbox-scrape.yml",  # per service: dirs are shared
                            ctx.render("prometheus/blackbox-scrape.yml.j2", jobs=blackbox_jobs(ctx),
                                       exporter=ctx.spec.targets.prometheus.blackbox_exporter)))
    # SLO rules and tests; with --format prometheusrule the SLO module emits its own PrometheusRule instead
    return out + _slo_artifacts(ctx)


# -- verify ---------------------------------------------------------------------------------------------------


def verify(artifacts: list[Artifact], staging: Path) -> list[object]:
    from ..verify import Skipped, parse_back
    from ..verify.promtool import check_rules, promql_errors
    from ..verify.tools import ToolMissing

    problems: list[object] = []
    rule_files: list[Path] = []
    for art in artifacts:
        doc, bad = parse_back(art.path, art.text)
        if bad:
            problems.append(bad)
            continue
        if not isinstance(doc, dict):
            problems.append(f"{art.path}: expected a YAML mapping")
            continue
        if art.path.endswith(".prometheusrule.yml"):
            problems += _check_crd(art.path, doc)
            groups_doc = (doc.get("spec") or {}).get("groups")
            extracted = staging / (art.path + ".groups.yml")
            extracted.write_text(yaml.safe_dump({"groups": groups_doc}, sort_keys=False), encoding="utf-8")
            rule_files.append(extracted)
        elif art.path.endswith(".rules.yml"):
            groups_doc = doc.get("groups")
            rule_files.append(staging / art.path)
        elif art.path.endswith(".tests.yml"):
            problems += _check_tests(art.path, doc, staging)
            continue
        else:
            if art.path.endswith("scrape.yml") and not isinstance(doc.get("scrape_configs"), list):
                problems.append(f"{art.path}: scrape_configs is missing")
            continue
        if not isinstance(groups_doc, list):
            problems.append(f"{art.path}: `groups` must be a list")
            continue
        for group in groups_doc:
            for rule in group.get("rules") or []:
                err = promql_errors(str(rule.get("expr", "")))
                if err:
                    problems.append(f"{art.path}: rule {rule.get('alert') or rule.get('record')}: PromQL does not "
                                    f"parse: {err}")
    try:
        problems += [str(p) for p in check_rules(rule_files)] if rule_files else []
        problems += _check_scrape(artifacts, staging)
    except ToolMissing as e:
        problems.append(Skipped(e.tool, e.hint))  # optional for build; `obsctl test` and the test suite require it
    return problems


def _check_crd(path: str, doc: dict) -> list[str]:
    problems = []
    if doc.get("apiVersion") != PROMETHEUSRULE_API or doc.get("kind") != "PrometheusRule":
        problems.append(f"{path}: not a {PROMETHEUSRULE_API} PrometheusRule")
    meta = doc.get("metadata") or {}
    if not meta.get("name") or not meta.get("namespace"):
        problems.append(f"{path}: metadata.name and metadata.namespace are required")
    if not isinstance((doc.get("spec") or {}).get("groups"), list):
        problems.append(f"{path}: spec.groups must be a list")
    return problems


def _check_tests(path: str, doc: dict, staging: Path) -> list[str]:
    problems = []
    folder = (staging / path).parent
    for ref in doc.get("rule_files") or []:
        if not (folder / ref).is_file():
            problems.append(f"{path}: rule file {ref} is not among the generated files")
    for t in doc.get("tests") or []:
        if "interval" not in t:
            problems.append(f"{path}: test '{t.get('name')}' has no interval (promtool 2.42 needs one)")
    return problems


def _check_scrape(artifacts: list[Artifact], staging: Path) -> list[str]:
    """The scrape snippets (service jobs, blackbox jobs) pasted into one minimal prometheus.yml, as a user would
    include them, checked by `promtool check config`: job names must also be unique across the snippets."""
    import subprocess

    from ..verify.tools import find_tool

    snippets = [a for a in artifacts if a.path.endswith("scrape.yml")]
    configs: list = []
    for art in snippets:
        try:
            doc = yaml.safe_load(art.text)
        except yaml.YAMLError:
            return []  # reported by verify() already
        if not isinstance(doc, dict) or not isinstance(doc.get("scrape_configs"), list):
            return []
        configs += doc["scrape_configs"]
    if not configs:
        return []
    wrapper = staging / "prometheus.check.yml"
    wrapper.write_text(yaml.safe_dump({"scrape_configs": configs}, sort_keys=False), encoding="utf-8")
    proc = subprocess.run([find_tool("promtool"), "check", "config", "--syntax-only", str(wrapper)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        names = ", ".join(a.path for a in snippets)
        return [f"{names}: promtool check config (in one prometheus.yml): {(proc.stderr or proc.stdout).strip()}"]
    return []
