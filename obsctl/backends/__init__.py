"""Backends: one module (or package) per target, each implementing the `Backend` protocol:

    build(plan: Plan, renderer: Renderer) -> list[Artifact]     # render through templates/<target>/
    verify(artifacts: list[Artifact], staging: Path) -> list[Finding]   # Problem | Skipped, before writing

Backends read the plan (obsctl.plan) and never import one another. `obsctl.build` runs them; nothing is written
unless every target builds and verifies. Adding a target: a module here, its name in obsctl/targets.py, templates/<name>/,
its checks in obsctl/verify/, tests in tests/<name>/, a row in docs/targets.md.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..diagnostics import BackendError, Diagnostic
from ..targets import TARGETS

if TYPE_CHECKING:
    from jinja2 import Environment

    from ..model import Spec
    from ..plan import Plan
    from ..verify import Finding

__all__ = [
    "TARGETS",
    "Artifact",
    "Backend",
    "BackendError",
    "DryRenderer",
    "Renderer",
    "backend",
    "build_targets",
    "spec_targets",
    "unserved",
]


@dataclass
class Artifact:
    path: str  # posix path relative to the output directory, e.g. prometheus/asset-ws.rules.yml
    text: str


class Renderer:
    """Renders templates/<target>/ (or a --templates copy) with the plan's header, spec and environment."""

    dry = False  # True: nothing is rendered, so work done only for the rendered text may be skipped

    def __init__(self, templates: Environment, plan: Plan) -> None:
        self.templates = templates  # sandboxed, from obsctl.templating
        self.plan = plan

    def render(self, template: str, **values: object) -> str:
        from jinja2 import TemplateError

        plan = self.plan
        try:
            return self.templates.get_template(template).render(
                header=plan.header, spec=plan.spec, env=plan.env, **values
            )
        except TemplateError as e:  # a --templates copy that does not parse or names what is not there
            filename, lineno = getattr(e, "filename", None), getattr(e, "lineno", None)
            where = f"{filename}:{lineno}: " if filename and lineno else ""
            raise BackendError(
                [
                    Diagnostic(
                        "OBS015",
                        "error",
                        f"a {template.split('/', 1)[0]} template failed: {where}{e.message or e}",
                        None,
                        "",
                        "fix the template in your --templates folder, or remove it to use obsctl's own",
                    )
                ]
            ) from e


class DryRenderer(Renderer):
    """Renders nothing: `validate` runs each backend's build with it for every mapping check and every file
    path the build would make, without loading Jinja or a template. No backend reads what it rendered."""

    dry = True

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def render(self, template: str, **values: object) -> str:
        return ""


class Backend(Protocol):
    # Whether verify() runs a tool on the files in `staging` (promtool, amtool); the others read Artifact.text,
    # and their files are not written there (a thousand Datadog monitors took 0.7 s to stage).
    VERIFY_READS_FILES: bool

    def build(self, plan: Plan, renderer: Renderer) -> list[Artifact]: ...

    def verify(self, artifacts: list[Artifact], staging: Path) -> list[Finding]: ...


def spec_targets(spec: Spec) -> list[str]:
    """The targets a spec is for (`targets.for`, in registry order), every target when it does not say."""
    chosen = spec.targets.for_
    return [t for t in TARGETS if chosen is None or t in chosen]


def unserved(plan: Plan) -> list[Diagnostic]:
    """OBS018: what the spec's `targets.for` leaves with no target to write it (a log-event alert without loki or
    datadog, a dashboard without grafana or datadog, an SLO without prometheus or datadog). A warning: leaving it
    out may be the point, but an alert that silently goes nowhere rarely is."""
    chosen = plan.spec.targets.for_
    if chosen is None:
        return []
    items: list[tuple[tuple, str, str]] = [  # (spec path, what, the target that would write it)
        (a.path, f"alert '{a.name}'", a.ruler) for a in plan.alerts.values() if a.enabled
    ]
    items += [(("dashboards", k), f"dashboard '{k}'", "grafana") for k in plan.spec.dashboards]
    items += [(("slos", k), f"SLO '{k}'", "prometheus") for k in plan.spec.slos]
    out = []
    for path, what, target in items:
        if target not in chosen and "datadog" not in chosen:
            d = plan.error(
                "OBS018",
                f"{what} is written by no target of targets.for ({', '.join(chosen)})",
                path,
                f"add {target} (or datadog) to targets.for, or remove the {what.split()[0]}",
            )
            out.append(replace(d, level="warning"))
    return out


def build_targets(
    plan: Plan, names: list[str], renderer: Renderer
) -> tuple[list[Artifact], list[Diagnostic]]:
    """Build `names` from one plan: the artifacts and every backend's errors, and OBS902 where two outputs
    would share a path. `build` renders; `validate` passes a DryRenderer and keeps the diagnostics."""
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = []
    for name in names:
        try:
            artifacts += backend(name).build(plan, renderer)
        except BackendError as e:
            diags += e.diagnostics
    seen: dict[str, int] = {}
    for a in artifacts:
        seen[a.path] = seen.get(a.path, 0) + 1
    reported: set[tuple] = set()
    for path, n in seen.items():
        if n > 1:  # two spec names that slug to one file name: nothing may overwrite anything
            entries = _same_slug(plan, path)
            if entries and entries in reported:
                continue  # one error per pair of entries, not one per file they share
            reported.add(entries)
            hint = "rename one of the spec entries whose names differ only in punctuation"
            if not entries:
                diags.append(
                    Diagnostic("OBS902", "error", f"{n} outputs would be written to {path}", None, "", hint)
                )
                continue
            names = " and ".join(f"'{e[1]}'" for e in entries)
            message = f"{entries[0][0]} {names} would write one file, {path}"
            diags.append(plan.error("OBS902", message, entries[-1], hint))
    return artifacts, diags


def _same_slug(plan: Plan, path: str) -> tuple:
    """The spec entries (section, name) whose names differ only in punctuation and give `path` its name."""
    from ..naming import slug

    stem = path.rsplit("/", 1)[-1]
    for section in ("slos", "dashboards", "alerts", "derived"):
        by_slug: dict[str, list[str]] = {}
        for name in getattr(plan.spec, section):
            by_slug.setdefault(slug(name), []).append(name)
        for key, names in by_slug.items():
            if len(names) > 1 and key in stem:
                return tuple((section, n) for n in names)
    return ()


def backend(target: str) -> Backend:
    """The module of one target (imported on first use: validate never loads a backend)."""
    if target not in TARGETS:
        raise KeyError(target)
    return importlib.import_module(f"obsctl.backends.{target}")
