"""Read -> model -> semantic checks: the part of every command that turns a spec file into checked data."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .diagnostics import Diagnostic, SpecError
from .yamlsource import SourceMap

if TYPE_CHECKING:
    from .model import Spec
    from .semantics import Analysis


@dataclass
class Checked:
    """A spec as one environment sees it, with its analysis."""

    path: Path
    env: str | None
    spec: Spec
    analysis: Analysis
    smap: SourceMap


@dataclass
class Result:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    smap: SourceMap | None = None
    checked: list[Checked] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.level == "error" for d in self.diagnostics)


def check(
    path: Path,
    env: str | None = None,
    every_env: bool = False,
    ignore: frozenset[str] = frozenset(),
    targets: bool = False,
) -> Result:
    """Check a spec; with `every_env`, check the base and each of its environments. With `targets` (validate),
    also run what `build` of the spec's targets checks, short of rendering and the external tools. Warnings
    whose code is in `ignore` (the command line's --ignore) or in the spec's `lint.accept` are left out."""
    with paused_gc():
        result = _check(path, env, every_env, targets)
    _accept(result, ignore)
    return result


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a spec is read and checked.

    Reading and checking allocate many small objects that all stay alive (nodes, values, positions, trees), so
    each collection finds nothing to free, and the full ones walk everything kept so far: at 10,000 alerts they
    cost about 40% of `validate` (0.054 s to read 1,000 alerts, 1.15 s for 10,000). What is built is bounded by
    the spec's own limits (yamlsource.MAX_NODES, MAX_FILE_BYTES); collection resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check(path: Path, env: str | None, every_env: bool, targets: bool) -> Result:
    from .loader import apply_env, read_raw, validate_model
    from .semantics import analyse

    result = Result()
    try:
        raw, smap = read_raw(path)
    except SpecError as e:
        result.diagnostics.extend(e.diagnostics)
        return result
    result.smap = smap
    envs: list[str | None] = [env]
    if every_env and env is None:
        names = raw.get("environments") if isinstance(raw.get("environments"), dict) else {}
        envs += sorted(names)
    seen: set[tuple] = set()
    for name in envs:
        env_map = SourceMap(values=dict(smap.values), keys=dict(smap.keys), lines=smap.lines)
        try:
            data = apply_env(raw, env_map, name)
            spec = validate_model(data, env_map)
        except SpecError as e:
            result.diagnostics.extend(_new(e.diagnostics, name, seen))
            continue
        analysis = analyse(spec, env_map)
        result.diagnostics.extend(_new(analysis.diagnostics, name, seen))
        if targets and not any(d.level == "error" for d in analysis.diagnostics):
            result.diagnostics.extend(_new(_build_checks(path, name, spec, analysis, env_map), name, seen))
        result.checked.append(Checked(path, name, spec, analysis, env_map))
    return result


def _build_checks(
    path: Path, env: str | None, spec: Spec, analysis: Analysis, smap: SourceMap
) -> list[Diagnostic]:
    """What `build` of the spec's targets refuses (backend mappings, OBS902 file-name clashes, test generation),
    from each backend's own build with a renderer that renders nothing: one code path, so validate cannot
    drift from build. Imports the plan and the spec's backends only, never Jinja or a template."""
    from .backends import DryRenderer, build_targets, spec_targets, unserved
    from .plan import build_plan

    plan = build_plan(spec, analysis, smap, path, env, {"format": "rules"})
    return build_targets(plan, spec_targets(spec), DryRenderer(plan))[1] + unserved(plan)


def _accept(result: Result, ignore: frozenset[str]) -> None:
    """Drop the warnings the command line ignores or the spec accepts; an accepted code that fired nowhere is
    itself a warning, so `lint.accept` does not outlive what it was for. Errors are never dropped."""
    accepted: dict[str, str] = {}
    for c in result.checked:
        accepted.update(c.spec.lint.accept)
    fired = {d.code for d in result.diagnostics}
    result.diagnostics = [
        d
        for d in result.diagnostics
        if not (d.level == "warning" and (d.code in ignore or d.code in accepted))
    ]
    for code in sorted(set(accepted) - fired):
        if "OBS016" in ignore:
            break
        path = ("lint", "accept", code)
        loc = result.smap.locate(path, prefer_key=True) if result.smap else None
        result.diagnostics.append(
            Diagnostic(
                "OBS016",
                "warning",
                f"lint.accept lists {code}, which no longer fires",
                loc,
                ".".join(path),
                f"remove {code} from lint.accept",
            )
        )


def _new(diags: list[Diagnostic], env: str | None, seen: set[tuple]) -> list[Diagnostic]:
    """Diagnostics not already reported for another environment, tagged with the environment they come from."""
    out = []
    for d in diags:
        key = (d.code, d.level, d.message, d.location)
        if key in seen:
            continue
        seen.add(key)
        if env is not None:
            d.message = f"{d.message} (environment {env})"
        out.append(d)
    return out
