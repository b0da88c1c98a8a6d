"""Prometheus target: recording rules for derived metrics, alert rules, HTTP-probe alerts with their blackbox
scrape config, the service's own scrape jobs, generated promtool unit tests, and optionally the same groups as a
prometheus-operator PrometheusRule.

Alerts whose condition reads log events belong to the Loki ruler (obsctl.backends.loki); what every alert is
(its ruler, labels and annotations) comes from the plan (obsctl.plan). SLO rules live in `slo.py` beside this.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ...compile.promql import CompileError
from ...plan import Plan
from ...plan.probes import blackbox_jobs
from ...plan.rules import Group, Rule, alert_rule
from ...verify import Finding, Problem, Skipped, parse_back, read_yaml
from .. import Artifact, BackendError, Renderer
from .operator import PROMETHEUSRULE_API, prometheusrule_text

# -- the rule model -------------------------------------------------------------------------------------------


def recording_group(plan: Plan) -> Group | None:
    spec = plan.spec
    if not spec.targets.prometheus.recording_rules or not spec.derived:
        return None
    records = plan.records()
    # Records carry the source selector's labels, which queries on them match (PromQL.record_selector).
    extra = dict(sorted({**spec.sources.metrics.selector, **spec.targets.prometheus.rule_labels}.items()))
    rules = []
    for name in spec.derived:
        try:
            expr = plan.promql().derived(name, inline=True)
        except CompileError as e:
            raise BackendError(
                [
                    plan.error(
                        "OBS700",
                        f"derived metric '{name}': {e}",
                        ("derived", name),
                        "give overrides.promql for this derived metric",
                    )
                ]
            ) from e
        rules.append(Rule(expr=expr, record=records[name], labels=extra))
    return Group(f"{spec.service}.recording", spec.targets.prometheus.evaluation_interval, rules)


def alert_parts(plan: Plan, name: str) -> tuple[str, str | None]:
    """(condition, volume guard or None) as PromQL; the probe or override stands in for the compiled `when`. What
    the guard joins on is the plan's (`AlertPlan.guard_on`, from the label inference)."""
    a = plan.alerts[name]
    pq = plan.promql()
    try:
        if a.overrides.promql:
            when = a.overrides.promql.strip()
        elif a.probe:
            when = f"{pq.probe_selector(a.probe)} == 0"
        else:
            when = pq.compile(a.when)
        guard = pq.compile(a.guard) if a.guard is not None else None
    except CompileError as e:
        raise BackendError(
            [
                plan.error(
                    "OBS700",
                    f"alert '{name}': {e}",
                    a.path + ("when",),
                    "give overrides.promql for this alert",
                )
            ]
        ) from e
    return when, guard


def alert_group(plan: Plan) -> Group | None:
    alerts = plan.alerts_for("prometheus")
    if not alerts:
        return None
    rules = [alert_rule(a, *alert_parts(plan, a.name)) for a in alerts]
    return Group(f"{plan.spec.service}.alerts", plan.spec.targets.prometheus.evaluation_interval, rules)


def groups(plan: Plan) -> list[Group]:
    return [g for g in (recording_group(plan), alert_group(plan)) if g is not None]


def rules_path(plan: Plan) -> str:
    return f"prometheus/{plan.spec.service}.rules.yml"


# -- the service's own scrape jobs ----------------------------------------------------------------------------


def scrape_jobs(plan: Plan) -> list[dict]:
    """The spec's scrape jobs (`sources.metrics.scrape`, or `targets` as one job) as the template renders them."""
    src = plan.spec.sources.metrics
    return [
        {
            "job": j.job,
            "targets": j.targets,
            "metrics_path": j.metrics_path,
            "scheme": j.scheme,
            "interval": j.interval or src.scrape_interval,
            "labels": dict(sorted(j.labels.items())),
        }
        for j in src.jobs(plan.spec.service)
    ]


def scrape_path(plan: Plan) -> str:
    return f"prometheus/{plan.spec.service}.scrape.yml"


# -- build ----------------------------------------------------------------------------------------------------


def build(plan: Plan, renderer: Renderer) -> list[Artifact]:
    from ...testgen.alerts import test_file

    service = plan.spec.service
    gs = groups(plan)
    data = [g.as_template() for g in gs]
    as_crd = plan.options.get("format") == "prometheusrule"
    out: list[Artifact] = []
    if as_crd:
        out.append(
            Artifact(
                f"prometheus/{service}.prometheusrule.yml",
                prometheusrule_text(plan, renderer, f"{service}-rules", data),
            )
        )
    else:
        out.append(Artifact(rules_path(plan), renderer.render("prometheus/rules.yml.j2", groups=data)))
        out.append(
            Artifact(f"prometheus/{service}.tests.yml", test_file(plan, renderer, gs, f"{service}.rules.yml"))
        )
    jobs = scrape_jobs(plan)
    blackbox = {job["name"] for job in blackbox_jobs(plan.spec)}
    for i, job in enumerate(jobs):
        if job["job"] in blackbox:  # both snippets go into one prometheus.yml, which needs unique job names
            path = (
                ("sources", "metrics", "scrape", i, "job")
                if plan.spec.sources.metrics.scrape
                else ("sources", "metrics", "selector", "job")
            )
            raise BackendError(
                [
                    plan.error(
                        "OBS243",
                        f"the scrape job '{job['job']}' has the name of a blackbox job the HTTP probes need",
                        path,
                        "rename the scrape job",
                    )
                ]
            )
    if jobs:
        out.append(Artifact(scrape_path(plan), renderer.render("prometheus/scrape.yml.j2", jobs=jobs)))
    if plan.spec.sources.probes:
        out.append(
            Artifact(
                f"prometheus/{plan.spec.service}.blackbox-scrape.yml",  # per service: dirs are shared
                renderer.render(
                    "prometheus/blackbox-scrape.yml.j2",
                    jobs=blackbox_jobs(plan.spec),
                    exporter=plan.spec.targets.prometheus.blackbox_exporter,
                ),
            )
        )
    # SLO rules and tests; with --format prometheusrule the SLO module emits its own PrometheusRule instead
    from .engines import build as build_engine
    from .slo import build as build_slo
    from .slo import rule_groups as slo_groups

    out += build_slo(plan, renderer)
    # Mimir, Thanos, VictoriaMetrics: every group of the service once more, in the shape that engine loads.
    return out + build_engine(plan, renderer, gs + (slo_groups(plan) if plan.spec.slos else []))


# -- verify ---------------------------------------------------------------------------------------------------


VERIFY_READS_FILES = True  # verify() runs a tool on the staged files


def verify(artifacts: list[Artifact], staging: Path) -> list[Finding]:
    from concurrent.futures import ThreadPoolExecutor

    from ...verify.promtool import check_rules, promql_errors
    from ...verify.tools import ToolMissing

    found: dict[int, list[Finding]] = {}  # per artifact, reported in artifact order
    rule_files: list[Path] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The tests file is by far the largest to read back: it is read while promtool checks the rules (the wait
        # for the tool releases the interpreter).
        tests = {
            i: pool.submit(parse_back, a.path, a.text)
            for i, a in enumerate(artifacts)
            if a.path.endswith(".tests.yml")
        }
        for i, art in enumerate(artifacts):
            if i in tests:
                continue
            found[i] = problems = []
            doc, bad = parse_back(art.path, art.text)
            if bad:
                problems.append(bad)
                continue
            if not isinstance(doc, dict):
                problems.append(Problem(art.path, "expected a YAML mapping"))
                continue
            if art.path.endswith(".prometheusrule.yml"):
                problems += _check_crd(art.path, doc)
                groups_doc = (doc.get("spec") or {}).get("groups")
                extracted = staging / (art.path + ".groups.yml")
                extracted.write_text(
                    yaml.safe_dump({"groups": groups_doc}, sort_keys=False), encoding="utf-8"
                )
                rule_files.append(extracted)
            elif art.path.endswith(".rules.yml"):
                groups_doc = doc.get("groups")
                rule_files.append(staging / art.path)
            else:
                if art.path.endswith("scrape.yml") and not isinstance(doc.get("scrape_configs"), list):
                    problems.append(Problem(art.path, "scrape_configs is missing"))
                continue
            if not isinstance(groups_doc, list):
                problems.append(Problem(art.path, "`groups` must be a list"))
                continue
            for group in groups_doc:
                for rule in group.get("rules") or []:
                    err = promql_errors(str(rule.get("expr", "")))
                    if err:
                        problems.append(
                            Problem(
                                art.path,
                                f"rule {rule.get('alert') or rule.get('record')}: PromQL does not parse: {err}",
                            )
                        )
        from .engines import verify as verify_engine

        engine_problems, plain = verify_engine(artifacts, staging)
        rule_files += plain
        tool_problems: list[Finding] = []
        try:
            tool_problems += check_rules(rule_files) if rule_files else []
            tool_problems += _check_scrape(artifacts, staging)
        except ToolMissing as e:  # optional for build; `obsctl test` and CI require it
            tool_problems.append(Skipped(e.tool, e.hint))
        for i, read in tests.items():
            doc, bad = read.result()
            path = artifacts[i].path
            if bad:
                found[i] = [bad]
            elif not isinstance(doc, dict):
                found[i] = [Problem(path, "expected a YAML mapping")]
            else:
                found[i] = list(_check_tests(path, doc, staging))
    return [p for i in sorted(found) for p in found[i]] + engine_problems + tool_problems


def _check_crd(path: str, doc: dict) -> list[Problem]:
    problems = []
    if doc.get("apiVersion") != PROMETHEUSRULE_API or doc.get("kind") != "PrometheusRule":
        problems.append(Problem(path, f"not a {PROMETHEUSRULE_API} PrometheusRule"))
    meta = doc.get("metadata") or {}
    if not meta.get("name") or not meta.get("namespace"):
        problems.append(Problem(path, "metadata.name and metadata.namespace are required"))
    if not isinstance((doc.get("spec") or {}).get("groups"), list):
        problems.append(Problem(path, "spec.groups must be a list"))
    return problems


def _check_tests(path: str, doc: dict, staging: Path) -> list[Problem]:
    problems = []
    folder = (staging / path).parent
    for ref in doc.get("rule_files") or []:
        if not (folder / ref).is_file():
            problems.append(Problem(path, f"rule file {ref} is not among the generated files"))
    for t in doc.get("tests") or []:
        if "interval" not in t:
            problems.append(
                Problem(path, f"test '{t.get('name')}' has no interval (promtool 2.42 needs one)")
            )
    return problems


def _check_scrape(artifacts: list[Artifact], staging: Path) -> list[Problem]:
    """The scrape snippets (service jobs, blackbox jobs) pasted into one minimal prometheus.yml, as a user would
    include them, checked by `promtool check config`: job names must also be unique across the snippets."""
    import subprocess

    from ...verify.tools import find_tool

    snippets = [a for a in artifacts if a.path.endswith("scrape.yml")]
    configs: list = []
    for art in snippets:
        try:
            doc = read_yaml(art.text)
        except yaml.YAMLError:
            return []  # reported by verify() already
        if not isinstance(doc, dict) or not isinstance(doc.get("scrape_configs"), list):
            return []
        configs += doc["scrape_configs"]
    if not configs:
        return []
    wrapper = staging / "prometheus.check.yml"
    wrapper.write_text(yaml.safe_dump({"scrape_configs": configs}, sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [find_tool("promtool"), "check", "config", "--syntax-only", str(wrapper)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        names = ", ".join(a.path for a in snippets)
        return [
            Problem(
                names,
                f"promtool check config (in one prometheus.yml): {(proc.stderr or proc.stdout).strip()}",
            )
        ]
    return []
