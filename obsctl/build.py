"""`obsctl build`: check the spec, render every target, verify what was rendered, then write it all or nothing."""

from __future__ import annotations

import difflib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .backends import TARGETS, Artifact, BackendError, Renderer, backend
from .diagnostics import Diagnostic
from .verify import Skipped


def default_out(spec: object, env: str | None) -> Path:
    return Path("build") / (f"{spec.service}-{env}" if env else spec.service)


def render(spec_path: Path, targets: list[str], env: str | None, templates: Path | None = None,
           options: dict | None = None) -> tuple[list[Artifact], list[Diagnostic], object]:
    """Render (and verify) the artifacts of `targets`. Returns (artifacts, diagnostics, checked)."""
    from .pipeline import check
    from .templating import environment

    result = check(spec_path, env)
    if not result.ok or not result.checked:
        return [], result.diagnostics, result
    checked = result.checked[0]
    names = list(TARGETS) if "all" in targets else list(dict.fromkeys(targets))
    from .plan import build_plan

    plan = build_plan(checked.spec, checked.analysis, checked.smap, spec_path, env, options)
    renderer = Renderer(environment(templates), plan)
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = [d for d in result.diagnostics if d.level != "error"]
    for name in names:
        try:
            artifacts += backend(name).build(plan, renderer)
        except BackendError as e:
            diags += e.diagnostics
    seen: dict[str, int] = {}
    for a in artifacts:
        seen[a.path] = seen.get(a.path, 0) + 1
    for path, n in seen.items():
        if n > 1:  # two spec names that slug to one file name: nothing may overwrite anything
            diags.append(Diagnostic("OBS902", "error", f"{n} outputs would be written to {path}", None, "",
                                    "rename one of the spec entries whose names differ only in punctuation"))
    if any(d.level == "error" for d in diags):
        return [], diags, result
    with tempfile.TemporaryDirectory(prefix="obsctl-verify-") as tmp:
        staging = Path(tmp)
        _write_tree(staging, artifacts)
        skipped: set[str] = set()
        for name in names:
            mine = [a for a in artifacts if a.path.split("/", 1)[0] == name]
            for problem in backend(name).verify(mine, staging):
                if isinstance(problem, Skipped):
                    if problem.tool not in skipped:  # one warning per missing tool, not per file
                        skipped.add(problem.tool)
                        diags.append(Diagnostic("OBS901", "warning", str(problem), None, "",
                                                "`obsctl test` and CI need it; install it to check output here"))
                    continue
                diags.append(Diagnostic("OBS900", "error", f"generated {name} output failed its check: {problem}",
                                        None, "", "this is a bug in obsctl or in a --templates override"))
    return artifacts, diags, result


def _write_tree(root: Path, artifacts: list[Artifact]) -> None:
    for a in artifacts:
        dest = root / a.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(a.text, encoding="utf-8")


def manifest_path(out: Path, spec: object, env: str | None) -> Path:
    """Where obsctl lists the files one spec (and environment) wrote into `out`: other files are never touched,
    so several services can share one deploy directory."""
    return out / ".obsctl" / f"{spec.service}{'-' + env if env else ''}.files"


def _listed(manifest: Path) -> set[str]:
    return set(manifest.read_text(encoding="utf-8").split()) if manifest.is_file() else set()


def obsolete(out: Path, artifacts: list[Artifact], manifest: Path) -> list[Path]:
    """Files this spec wrote earlier, in the targets being built, that it no longer produces (a removed alert)."""
    tops = {a.path.split("/", 1)[0] for a in artifacts}
    wanted = {a.path for a in artifacts}
    return [out / p for p in sorted(_listed(manifest))
            if p.split("/", 1)[0] in tops and p not in wanted and (out / p).is_file()]


def write_atomically(out: Path, artifacts: list[Artifact], manifest: Path) -> None:
    """Stage every file beside `out`, then move them in: a failure leaves the old files untouched."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".obsctl-staging-", dir=out))
    try:
        _write_tree(staging, artifacts)
        gone = obsolete(out, artifacts, manifest)
        tops = {a.path.split("/", 1)[0] for a in artifacts}
        listed = {p for p in _listed(manifest) if p.split("/", 1)[0] not in tops} | {a.path for a in artifacts}
        for a in artifacts:
            dest = out / a.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / a.path, dest)
        for p in gone:
            p.unlink()
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text("".join(f"{p}\n" for p in sorted(listed)), encoding="utf-8")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def stale(out: Path, artifacts: list[Artifact], manifest: Path) -> list[str]:
    """Unified diffs between what the spec builds to and what is in `out`."""
    diffs = []
    for a in artifacts:
        dest = out / a.path
        current = dest.read_text(encoding="utf-8") if dest.is_file() else ""
        if current != a.text:
            diffs.append("".join(difflib.unified_diff(current.splitlines(True), a.text.splitlines(True),
                                                      f"{dest} (committed)", f"{dest} (from the spec)")))
    diffs += [f"{p}: no longer produced by the spec\n" for p in obsolete(out, artifacts, manifest)]
    return diffs


def run_build(spec_path: Path, targets: list[str], env: str | None, out: Path | None, templates: Path | None,
              fmt: str, check_only: bool) -> int:
    from .report import render_human

    if fmt not in ("rules", "prometheusrule"):
        print(f"error: --format must be 'rules' or 'prometheusrule', not '{fmt}'", file=sys.stderr)
        return 2
    if templates is not None and not templates.is_dir():
        print(f"error: --templates {templates} is not a directory", file=sys.stderr)
        return 2
    artifacts, diags, result = render(spec_path, targets, env, templates, {"format": fmt})
    if diags:
        render_human(diags, result.smap)
    if any(d.level == "error" for d in diags) or not artifacts and not result.checked:
        print(f"{spec_path}: build failed; nothing was written", file=sys.stderr)
        return 1
    out = out or default_out(result.checked[0].spec, env)
    manifest = manifest_path(out, result.checked[0].spec, env)
    if check_only:
        diffs = stale(out, artifacts, manifest)
        for d in diffs:
            sys.stdout.write(d if d.endswith("\n") else d + "\n")
        if diffs:
            print(f"{out}: {len(diffs)} file(s) are stale; run `obsctl build {spec_path} --out {out}`"
                  f"{' --env ' + env if env else ''}", file=sys.stderr)
            return 1
        print(f"{out}: up to date ({len(artifacts)} files)")
        return 0
    try:
        write_atomically(out, artifacts, manifest)
    except OSError as e:
        print(f"error: cannot write to {out}: {e.strerror or e}", file=sys.stderr)
        return 1
    for a in artifacts:
        print(out / a.path)
    return 0
