"""Loki target: ruler rule files for alerts whose condition reads log events.

The two log traps are handled by the LogQL compiler (obsctl.compile.logql): messages match exactly (a field
equality after the json/logfmt parser, not a substring filter) and counts are `or vector(0)`, so "no such line
for 10m" fires when there are no lines at all. Labels and annotations are the same as the Prometheus alerts'.
"""

from __future__ import annotations

from pathlib import Path

from ..compile.promql import CompileError
from ..plan import Plan
from ..plan.rules import Group, alert_rule
from ..verify import Finding, Problem, Skipped, parse_back
from . import Artifact, BackendError, Renderer


def alert_parts(plan: Plan, name: str) -> tuple[str, str | None]:
    """(condition, volume guard or None) as LogQL; the plan says what the guard joins on."""
    a = plan.alerts[name]
    lq = plan.logql()
    try:
        when = a.overrides.logql.strip() if a.overrides.logql else lq.compile(a.when)
        guard = lq.compile(a.guard) if a.guard is not None else None
    except CompileError as e:
        raise BackendError(
            [
                plan.error(
                    "OBS701",
                    f"alert '{name}': {e}",
                    a.path + ("when",),
                    "give overrides.logql for this alert",
                )
            ]
        ) from e
    return when, guard


def build(plan: Plan, renderer: Renderer) -> list[Artifact]:
    alerts = plan.alerts_for("loki")
    if not alerts:
        return []
    rules = [alert_rule(a, *alert_parts(plan, a.name)) for a in alerts]
    group = Group(f"{plan.spec.service}.logs", plan.spec.targets.prometheus.evaluation_interval, rules)
    text = renderer.render("loki/rules.yml.j2", groups=[group.as_template()])
    return [Artifact(f"loki/{plan.spec.service}.rules.yml", text)]


VERIFY_READS_FILES = False  # verify() reads Artifact.text only


def verify(artifacts: list[Artifact], staging: Path) -> list[Finding]:
    from ..verify.logql import check_logql, describe_error
    from ..verify.tools import ToolMissing

    problems: list[Finding] = []
    exprs: list[tuple[str, str, str]] = []  # (file, rule, expr)
    for art in artifacts:
        doc, bad = parse_back(art.path, art.text)
        if bad:
            problems.append(bad)
            continue
        groups = doc.get("groups") if isinstance(doc, dict) else None
        if not isinstance(groups, list):
            problems.append(Problem(art.path, "`groups` must be a list"))
            continue
        names = [g.get("name") for g in groups]
        if len(set(names)) != len(names):
            problems.append(Problem(art.path, "group names must be unique"))
        for g in groups:
            for r in g.get("rules") or []:
                if not isinstance(r.get("expr"), str) or not (r.get("alert") or r.get("record")):
                    problems.append(Problem(art.path, "every rule needs an alert or record name and an expr"))
                    continue
                exprs.append((art.path, r.get("alert") or r.get("record"), r["expr"]))
    try:
        results = check_logql([e for _, _, e in exprs])
    except ToolMissing as e:
        return problems + [Skipped(e.tool, e.hint)]  # optional for build; the test suite requires it
    for (path, rule, expr), res in zip(exprs, results, strict=True):
        if not res.ok:
            problems.append(
                Problem(
                    path,
                    f"rule {rule}: {describe_error(expr, res.error_positions[0] if res.error_positions else 0)}",
                )
            )
        elif not res.is_metric:
            problems.append(
                Problem(
                    path,
                    f"rule {rule}: a ruler expression must be a metric query (a count, rate or "
                    f"aggregation over log lines), not a log query: {expr}",
                )
            )
    return problems
