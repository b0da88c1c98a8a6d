"""Backends: one module (or package) per target, each implementing the `Backend` protocol:

    build(plan: Plan, renderer: Renderer) -> list[Artifact]     # render through templates/<target>/
    verify(artifacts: list[Artifact], staging: Path) -> list[Finding]   # Problem | Skipped, before writing

Backends read the plan (obsctl.plan) and never import one another. `obsctl.build` runs them; nothing is written
unless every target builds and verifies. Adding a target: a module here, its name in TARGETS, templates/<name>/,
its checks in obsctl/verify/, tests in tests/<name>/, a row in docs/targets.md.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..diagnostics import BackendError

if TYPE_CHECKING:
    from jinja2 import Environment

    from ..plan import Plan
    from ..verify import Finding

__all__ = ["TARGETS", "Artifact", "Backend", "BackendError", "Renderer", "backend"]

TARGETS = ("prometheus", "loki", "alertmanager", "grafana", "datadog")


@dataclass
class Artifact:
    path: str  # posix path relative to the output directory, e.g. prometheus/asset-ws.rules.yml
    text: str


class Renderer:
    """Renders templates/<target>/ (or a --templates copy) with the plan's header, spec and environment."""

    def __init__(self, templates: Environment, plan: Plan) -> None:
        self.templates = templates  # sandboxed, from obsctl.templating
        self.plan = plan

    def render(self, template: str, **values: object) -> str:
        plan = self.plan
        return self.templates.get_template(template).render(
            header=plan.header, spec=plan.spec, env=plan.env, **values
        )


class Backend(Protocol):
    def build(self, plan: Plan, renderer: Renderer) -> list[Artifact]: ...

    def verify(self, artifacts: list[Artifact], staging: Path) -> list[Finding]: ...


def backend(target: str) -> Backend:
    """The module of one target (imported on first use: validate never loads a backend)."""
    if target not in TARGETS:
        raise KeyError(target)
    return importlib.import_module(f"obsctl.backends.{target}")
