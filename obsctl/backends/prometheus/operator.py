"""prometheus-operator output: rule groups wrapped in a PrometheusRule object (`--format prometheusrule`)."""

from __future__ import annotations

from ...plan import Plan
from .. import Renderer

PROMETHEUSRULE_API = "monitoring.coreos.com/v1"


def prometheusrule_text(plan: Plan, renderer: Renderer, name: str, group_data: list[dict]) -> str:
    spec = plan.spec.targets.prometheus
    labels = dict(spec.operator_labels)
    labels["app.kubernetes.io/managed-by"] = "obsctl"
    return renderer.render(
        "prometheus/prometheusrule.yml.j2",
        name=name,
        namespace=spec.operator_namespace,
        labels=dict(sorted(labels.items())),
        groups=group_data,
    )
