"""What an alert is once checked, whichever target states it: its ruler, final labels and annotations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..expr import ast

if TYPE_CHECKING:
    from ..model import Spec
    from ..semantics import Analysis


def uses_events(analysis: Analysis, node: ast.Node) -> bool:
    """Whether an expression reads a log event (so Loki, not Prometheus, evaluates it)."""
    return any(
        isinstance(n, ast.Ref)
        and analysis.refs.get(n.name) is not None
        and analysis.refs[n.name].kind == "event"
        for n in ast.walk(node)
    )


def ruler(spec: Spec, name: str, reads_events: bool) -> str:
    """'loki' when the alert is evaluated on logs, else 'prometheus' (metrics and probes)."""
    a = spec.alerts[name]
    if a.overrides.logql:
        return "loki"
    if a.overrides.promql:
        return "prometheus"
    return "loki" if reads_events else "prometheus"


def guard_join(analysis: Analysis, name: str) -> tuple[str, ...] | None:
    """The labels a volume guard joins its condition on: `and on(<the guard's labels>)`, so a guard by `env` guards
    each env; None (a plain `and`) when the guard keeps exactly the condition's labels or its labels are unknown."""
    g = analysis.labels.get(("alerts", name, "only_if"))
    if g is None or not g.root.known:
        return None
    w = analysis.labels.get(("alerts", name, "when"))
    if w is not None and w.root.labels == g.root.labels and g.root.labels:
        return None
    return tuple(sorted(g.root.labels or ()))


def labels(spec: Spec, name: str) -> dict[str, str]:
    """severity (the spec's own value), service, team, the spec's labels, then the alert's own; keys sorted."""
    a = spec.alerts[name]
    out: dict[str, str] = dict(spec.targets.prometheus.rule_labels)
    out.update({"severity": a.severity, "service": spec.service})
    if spec.team:
        out["team"] = spec.team
    out.update(spec.labels)
    out.update(a.labels)
    return dict(sorted(out.items()))


def annotations(spec: Spec, name: str) -> dict[str, str]:
    """summary, description, runbook_url, title and the alert's own annotations: spec strings verbatim
    ({{ $value }} stays a Prometheus template)."""
    a = spec.alerts[name]
    ann = {
        **a.annotations,
        "summary": a.summary or a.title or name,
        "description": a.description,
        "runbook_url": a.runbook or spec.runbook or "",
        "title": a.title,
    }
    return dict(sorted((k, v) for k, v in ann.items() if v))
