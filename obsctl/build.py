"""`obsctl build`: check the spec, render every target, verify what was rendered, then write it all or nothing."""

from __future__ import annotations

import difflib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .backends import TARGETS, Artifact, BackendError, Context, backend
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
    ctx = Context(checked.spec, checked.analysis, checked.smap, spec_path, env, environment(templates),
                  dict(options or {}))
    artifacts: list[Artifact] = []
    diags: list[Diagnostic] = [d for d in result.diagnostics if d.level != "error"]
    for name in names:
        try:
            artifacts += backend(name).build(ctx)
        except BackendError as e:
            diags += e.diagnostics
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


def obsolete(out: Path, artifacts: list[Artifact]) -> list[Path]:
    """Files in the built targets' folders that the spec no longer produces (a removed dashboard, say)."""
    wanted = {a.path for a in artifacts}
    found = []
    for top in sorted({a.path.split("/", 1)[0] for a in artifacts}):
        folder = out / top
        if folder.is_dir():
            found += [p for p in sorted(folder.rglob("*"))
                      if p.is_file() and p.relative_to(out).as_posix() not in wanted]
    return found


def write_atomically(out: Path, artifacts: list[Artifact]) -> None:
    """Stage every file beside `out`, then move them in: a failure leaves the old files untouched."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".obsctl-staging-", dir=out))
    try:
        _write_tree(staging, artifacts)
        gone = obsolete(out, artifacts)
        for a in artifacts:
            dest = out / a.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / a.path, dest)
        for p in gone:
            p.unlink()
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def stale(out: Path, artifacts: list[Artifact]) -> list[str]:
    """Unified diffs between what the spec builds to and what is in `out`."""
    diffs = []
    for a in artifacts:
        dest = out / a.path
        current = dest.read_text(encoding="utf-8") if dest.is_file() else ""
        if current != a.text:
            diffs.append("".join(difflib.unified_diff(current.splitlines(True), a.text.splitlines(True),
                                                      f"{dest} (committed)", f"{dest} (from the spec)")))
    diffs += [f"{p}: no longer produced by the spec\n" for p in obsolete(out, artifacts)]
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
    if check_only:
        diffs = stale(out, artifacts)
        for d in diffs:
            sys.stdout.write(d if d.endswith("\n") else d + "\n")
        if diffs:
            print(f"{out}: {len(diffs)} file(s) are stale; run `obsctl build {spec_path} --out {out}`"
                  f"{' --env ' + env if env else ''}", file=sys.stderr)
            return 1
        print(f"{out}: up to date ({len(artifacts)} files)")
        return 0
    write_atomically(out, artifacts)
    for a in artifacts:
        print(out / a.path)
    return 0
