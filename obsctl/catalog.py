"""`obsctl docs`: what on-call engineers read instead of YAML, made from the spec and its build.

    <out>/oncall.md              the service on one page: who gets paged for what, alerts, SLOs and budgets, dashboards
    <out>/alerts.md              the alert catalog: each alert in words, severity, receivers, `for`, thresholds per
                                 environment, runbook, what it reads and the dashboards that show it
    <out>/dashboards/<uid>.svg   each Grafana dashboard's layout, drawn from the built dashboard JSON (obsctl.layout)

Receivers come from the plan (the routing tree as the spec means it); thresholds from every environment's checked
spec; dashboards from the built Grafana output, so the pictures show what Grafana will show.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .expr import ast
from .report import shown_path

if TYPE_CHECKING:
    from .pipeline import Checked
    from .plan import Plan

CMP_WORDS = {
    ">=": "is at or above",
    ">": "is above",
    "<=": "is at or below",
    "<": "is below",
    "==": "equals",
    "!=": "is not",
}
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


@dataclass
class Page:
    path: str  # relative to the output directory
    text: str


def _md(text: object) -> str:
    """Text for a Markdown table cell or sentence: pipes escaped, no line breaks."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _code(text: object) -> str:
    text = _md(text)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _anchor(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower()


def _number(v: float) -> str:
    return f"{v:g}"


# --- reading the spec --------------------------------------------------------------------------------------------


def condition(node: ast.Node | None, spec: object) -> tuple[str, str] | None:
    """(operator, value) of a condition that compares something with a number or a `$var` (its value in `spec`)."""
    if isinstance(node, ast.BinOp) and node.op in CMP_WORDS:
        right = node.right
        if isinstance(right, ast.Number):
            return node.op, _number(right.value)
        if isinstance(right, ast.Var) and right.name in spec.vars:
            return node.op, f"{spec.vars[right.name]} (${right.name})"
    return None


def meaning(name: str, plan: Plan) -> str:
    """The alert's condition in words."""
    spec = plan.spec
    a = spec.alerts[name]
    p = plan.alerts[name]
    held = f" and has held for {p.for_}" if p.for_ else ""
    if a.probe:
        probe = spec.sources.probes.get(a.probe)
        url = f" ({_code(probe.url)})" if probe is not None else ""
        text = f"Fires when the HTTP probe {_code(a.probe)}{url} fails{f' for {p.for_}' if p.for_ else ''}."
    elif a.when:
        cmp = condition(p.when, spec)
        m = re.match(r"^(.*?)\s*(>=|<=|==|!=|>|<)\s*(\S+)$", a.when.strip()) if cmp else None
        if cmp and m:
            text = f"Fires when {_code(m.group(1))} {CMP_WORDS[cmp[0]]} {cmp[1]}{held}"
        else:
            text = f"Fires when {_code(a.when)} holds{held}"
        if a.only_if:
            text += f", and only while {_code(a.only_if)} (volume guard)"
        text += "."
    else:
        text = "Fires on a target-specific query (raw `overrides`)."
    return text


def reads(node: ast.Node | None, plan: Plan) -> list[str]:
    """The catalog names an expression reads, derived metrics followed to what they read, in first-seen order."""
    out: list[str] = []

    def visit(n: ast.Node | None) -> None:
        if n is None:
            return
        for sub in ast.walk(n):
            if isinstance(sub, ast.Ref) and sub.name not in out:
                out.append(sub.name)
                if plan.ref_kind(sub.name) == "derived" and sub.name in plan.derived:
                    visit(plan.derived[sub.name].expr)

    visit(node)
    return out


def _describe_ref(name: str, plan: Plan) -> str:
    spec = plan.spec
    kind = plan.ref_kind(name) or "name"
    if name in spec.metrics:
        m = spec.metrics[name]
        extra = f" ({_md(m.unit)})" if m.unit else ""
        return f"{_code(name)}: {m.kind}{extra}{': ' + _md(m.help) if m.help else ''}"
    if name in spec.derived:
        d = spec.derived[name]
        return (
            f"{_code(name)}: derived, {_code(d.expr or '(override)')}{': ' + _md(d.help) if d.help else ''}"
        )
    if name in spec.events:
        e = spec.events[name]
        stream = ", ".join(f"{k}={v}" for k, v in e.stream.items())
        return (
            f"{_code(name)}: log event, lines {e.match} {_code(e.message)} in stream {_code('{' + stream + '}')}"
            f"{': ' + _md(e.help) if e.help else ''}"
        )
    return f"{_code(name)}: {kind}"


def _panels(plan: Plan) -> list[tuple[str, str, list[str]]]:
    """(dashboard key, panel title, names its queries read) for every spec panel."""
    out: list[tuple[str, str, list[str]]] = []

    def walk(key: str, panels: list, prefix: tuple) -> None:
        for i, p in enumerate(panels):
            if hasattr(p, "row"):
                walk(key, p.panels, (*prefix, i, "panels"))
                continue
            names: list[str] = []
            paths = [(*prefix, i, "expr")] + [
                (*prefix, i, "queries", q, "expr") for q in range(len(p.queries))
            ]
            for path in paths:
                names += [n for n in reads(plan.panel_expr(path), plan) if n not in names]
            out.append((key, p.title, names))

    for key, dash in plan.spec.dashboards.items():
        walk(key, dash.panels, ("dashboards", key, "panels"))
    return out


def _runbook(link: str | None, spec_path: Path, out: Path) -> str:
    """A link that resolves from the docs: URLs as they are, files relative to the spec when they exist."""
    if not link:
        return "none"
    if _URL.match(link):
        return f"[{_md(link)}]({link})"
    target = (spec_path.parent / link).resolve()
    if target.is_file():
        import os

        rel = Path(os.path.relpath(target, out.resolve())).as_posix()
        return f"[{_md(link)}]({rel})"
    return _code(link)  # a path in the service's own repository, not next to the spec


# --- pages -------------------------------------------------------------------------------------------------------


def _severity_note(spec: object, severity: str) -> str:
    sev = spec.routing.severities.get(severity) if spec.routing else None
    return f" ({_md(sev.description)})" if sev is not None and sev.description else ""


def alert_catalog(plan: Plan, envs: list[Checked], dashboards: dict[str, str], out: Path) -> str:
    """alerts.md: every alert, in spec order."""
    spec = plan.spec
    panels = _panels(plan)
    titles = {k: d.title for k, d in spec.dashboards.items()}
    lines = [
        f"# {spec.service}: alert catalog",
        "",
        f"Every alert of `{spec.service}`, generated by obsctl from `{plan.spec_path.name}`"
        f"{f' (environment {plan.env})' if plan.env else ''}. On one page: [on-call](oncall.md).",
        "",
    ]
    for name, p in plan.alerts.items():
        a = spec.alerts[name]
        lines += [f'<a id="{_anchor(name)}"></a>', "", f"## {name}", ""]
        if a.title:
            lines += [f"**{_md(a.title)}**{'' if p.enabled else ' (disabled)'}", ""]
        lines += [meaning(name, plan) + (f" {_md(a.description)}" if a.description else ""), ""]
        rows = [
            ("severity", f"{_md(p.severity)}{_severity_note(spec, p.severity)}"),
            ("receivers", ", ".join(_code(r) for r in p.receivers) or "none (no routing in the spec)"),
            ("for", p.for_ or "fires at once"),
            ("evaluated by", "Loki ruler" if p.ruler == "loki" else "Prometheus"),
            ("runbook", _runbook(a.runbook or spec.runbook, plan.spec_path, out)),
        ]
        if p.keep_firing_for:
            rows.insert(3, ("keeps firing for", p.keep_firing_for))
        if a.summary:
            rows.append(("summary", _code(a.summary)))
        rows.append(("labels", ", ".join(_code(f"{k}={v}") for k, v in p.labels.items())))
        lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]
        lines += _thresholds(name, envs)
        names = reads(p.when, plan) + [n for n in reads(p.guard, plan) if n not in reads(p.when, plan)]
        if names:
            lines += ["What it reads:", ""] + [f"- {_describe_ref(n, plan)}" for n in names] + [""]
        shown = [(k, t) for k, t, used in panels if set(used) & set(names)]
        if shown:
            lines += ["Dashboards that show it:", ""]
            for key in dict.fromkeys(k for k, _ in shown):
                uid = dashboards.get(key)
                where = (
                    f"[{_md(titles[key])}](oncall.md#{_anchor('dashboard-' + uid)})"
                    if uid
                    else _md(titles[key])
                )
                lines.append(f"- {where}: " + ", ".join(f"*{_md(t)}*" for k, t in shown if k == key))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _thresholds(name: str, envs: list[Checked]) -> list[str]:
    """The condition and `for` of one alert in the base spec and each environment (when there are environments)."""
    if len(envs) < 2:
        return []
    rows = []
    for c in envs:
        a = c.spec.alerts.get(name)
        if a is None:
            continue
        cmp = condition(c.analysis.exprs.get(("alerts", name, "when")), c.spec)
        state = "" if a.enabled else " (disabled)"
        what = " ".join(cmp) if cmp else f"probe {_code(a.probe)} fails" if a.probe else _code(a.when or "")
        rows.append(
            f"| {c.env or 'base'}{state} | {what} | {a.for_ if a.for_ not in ('0', '0s') else 'at once'} |"
        )
    return ["Per environment:", "", "| environment | threshold | for |", "|---|---|---|", *rows, ""]


def oncall_page(plan: Plan, dashboards: dict[str, str], built: dict[str, dict], out: Path) -> str:
    """oncall.md: who gets paged for what, the alerts in one table, SLOs with budgets, dashboard pictures."""
    from .durations import format_duration, parse_duration
    from .plan.routing import expected_receivers
    from .slo import burn_threshold, error_budget

    spec = plan.spec
    env = f" (environment {plan.env})" if plan.env else ""
    lines = [f"# {spec.service}: on-call{env}", ""]
    if spec.description:
        lines += [_md(spec.description), ""]
    facts = [
        f"Team: {_md(spec.team)}." if spec.team else "",
        f"Runbook: {_runbook(spec.runbook, plan.spec_path, out)}." if spec.runbook else "",
        "Every alert in detail: the [alert catalog](alerts.md).",
    ]
    lines += [
        " ".join(f for f in facts if f),
        "",
        f"Generated by obsctl from `{plan.spec_path.name}`; change the spec and run `obsctl docs` again.",
        "",
    ]
    enabled = [p for p in plan.alerts.values() if p.enabled]
    if spec.routing:
        lines += [
            "## Who gets paged for what",
            "",
            "| severity | meaning | receivers | alerts |",
            "|---|---|---|---|",
        ]
        for sev, s in spec.routing.severities.items():
            names = [p.name for p in enabled if p.severity == sev]
            lines.append(
                f"| {_md(sev)} | {_md(s.description)} | {', '.join(_code(r) for r in s.receivers) or 'none'} "
                f"| {', '.join(f'[{n}](alerts.md#{_anchor(n)})' for n in names)} |"
            )
        lines.append("")
    lines += ["## Alerts", "", "| alert | severity | fires when | for | receivers |", "|---|---|---|---|---|"]
    for p in enabled:
        a = spec.alerts[p.name]
        when = _code(a.when) if a.when else f"probe {_code(a.probe)} fails" if a.probe else "(override)"
        lines.append(
            f"| [{p.name}](alerts.md#{_anchor(p.name)}) | {_md(p.severity)} | {when} | {p.for_ or 'at once'} "
            f"| {', '.join(_code(r) for r in p.receivers)} |"
        )
    lines.append("")
    if plan.slos:
        lines += [
            "## SLOs",
            "",
            "| SLO | objective | period | error budget | in time |",
            "|---|---|---|---|---|",
        ]
        for s in plan.slos.values():
            budget = error_budget(s.slo)
            spend = format_duration(parse_duration(s.slo.period) * budget)
            lines.append(
                f"| [{s.name}](#{_anchor('slo-' + s.name)}) | {s.slo.objective:g}% | {s.slo.period} "
                f"| {budget * 100:.6g}% of events | {spend} of total outage |"
            )
        lines.append("")
        for s in plan.slos.values():
            lines += [f'<a id="{_anchor("slo-" + s.name)}"></a>', "", f"### SLO {s.name}", ""]
            if s.slo.description:
                lines += [_md(s.slo.description), ""]
            if not s.alerts:
                lines += ["No burn-rate alerts.", ""]
                continue
            lines += [
                f"Burn-rate alerts ({', '.join(f'`{n}`' for n in dict.fromkeys(t.name for t in s.alerts))}):",
                "",
                "| tier | action | burn rate | windows | error ratio above | budget gone in | severity | receivers |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for t in s.alerts:
                tier = t.tier
                receivers = (
                    expected_receivers(spec, {**t.labels, "alertname": t.name}) if spec.routing else []
                )
                lasts = format_duration(parse_duration(s.slo.period) / tier.factor)
                lines.append(
                    f"| {_md(tier.name)} | {tier.action} | {tier.factor:g}x | {tier.long} and {tier.short} "
                    f"| {burn_threshold(s.slo, tier) * 100:.4g}% | {lasts} | {_md(t.severity)} "
                    f"| {', '.join(_code(r) for r in receivers)} |"
                )
            lines.append("")
    if built:
        lines += ["## Dashboards", ""]
        for uid, model in built.items():
            title = str(model.get("title", uid))
            lines += [
                f'<a id="{_anchor("dashboard-" + uid)}"></a>',
                "",
                f"### {_md(title)}",
                "",
                f"![{_md(title)} layout](dashboards/{uid}.svg)",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


# --- the command -------------------------------------------------------------------------------------------------


def docs_pages(
    spec_path: Path, env: str | None, out: Path | None
) -> tuple[Path | None, list[Page], list, object]:
    """The pages of one spec (nothing written). Returns (out, pages, diagnostics, check result)."""
    from .build import render
    from .layout import dashboard_svg
    from .naming import dashboard_uid
    from .pipeline import check
    from .plan import build_plan

    artifacts, diags, result = render(spec_path, ["grafana"], env, skip_excluded=True)
    if any(d.level == "error" for d in diags) or not result.checked:
        return None, [], diags, result
    checked = result.checked[0]
    spec = checked.spec
    out = out or Path("build") / "docs" / (f"{spec.service}-{env}" if env else spec.service)
    plan = build_plan(spec, checked.analysis, checked.smap, spec_path, env)
    envs = check(spec_path, env, every_env=env is None).checked
    built = {}
    for a in artifacts:
        if a.path.startswith("grafana/dashboards/") and a.path.endswith(".json"):
            model = json.loads(a.text)
            built[Path(a.path).stem] = model
    dashboards = {k: dashboard_uid(spec.service, k, d.uid) for k, d in spec.dashboards.items()}
    pages = [
        Page("oncall.md", oncall_page(plan, dashboards, built, out)),
        Page("alerts.md", alert_catalog(plan, envs, dashboards, out)),
    ]
    pages += [Page(f"dashboards/{uid}.svg", dashboard_svg(model)) for uid, model in built.items()]
    return out, pages, diags, result


def run_docs(spec_path: Path, env: str | None, out: Path | None) -> int:
    from .progress import status
    from .report import render_human

    with status(f"building {shown_path(spec_path)}"):
        out, pages, diags, result = docs_pages(spec_path, env, out)
    if diags:
        render_human(diags, result.smap)
    if out is None:
        print(f"{shown_path(spec_path)}: does not build; no docs written", file=sys.stderr)
        return 1
    from . import outdir
    from .backends import Artifact

    # Written like a build: only inside --out, never through a link, all or nothing, with its own file list
    # (`<service>.docs`: no service name has a dot, so it never meets a build's list in a shared folder).
    try:
        outdir.write(
            out, [Artifact(p.path, p.text) for p in pages], f"{result.checked[0].spec.service}.docs", env
        )
    except outdir.OutDirError as e:
        render_human(e.diagnostics, None)
        print(f"{shown_path(spec_path)}: no docs written; {e.outcome}", file=sys.stderr)
        return 1
    for page in pages:
        print(out / page.path)
    return 0
