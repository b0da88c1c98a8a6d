"""`obsctl build`: check the spec, render every target, verify what was rendered, then hand it to
`obsctl.outdir`, which writes it all or nothing."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .backends import TARGETS, Artifact, BackendError, Renderer, backend
from .diagnostics import Diagnostic
from .report import shown_path
from .verify import Skipped


def render(
    spec_path: Path,
    targets: list[str],
    env: str | None,
    templates: Path | None = None,
    options: dict | None = None,
) -> tuple[list[Artifact], list[Diagnostic], object]:
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
    from jinja2 import TemplateError

    for name in names:
        try:
            artifacts += backend(name).build(plan, renderer)
        except BackendError as e:
            diags += e.diagnostics
        except TemplateError as e:  # a --templates copy that does not parse or names what is not there
            where = (
                f"{e.filename}:{e.lineno}: "
                if getattr(e, "filename", None) and getattr(e, "lineno", None)
                else ""
            )
            diags.append(
                Diagnostic(
                    "OBS015",
                    "error",
                    f"a {name} template failed: {where}{e.message or e}",
                    None,
                    "",
                    "fix the template in your --templates folder, or remove it to use obsctl's own",
                )
            )
    seen: dict[str, int] = {}
    for a in artifacts:
        seen[a.path] = seen.get(a.path, 0) + 1
    for path, n in seen.items():
        if n > 1:  # two spec names that slug to one file name: nothing may overwrite anything
            diags.append(
                Diagnostic(
                    "OBS902",
                    "error",
                    f"{n} outputs would be written to {path}",
                    None,
                    "",
                    "rename one of the spec entries whose names differ only in punctuation",
                )
            )
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
                        diags.append(
                            Diagnostic(
                                "OBS901",
                                "warning",
                                str(problem),
                                None,
                                "",
                                "`obsctl test` and CI need it; install it to check output here",
                            )
                        )
                    continue
                diags.append(
                    Diagnostic(
                        "OBS900",
                        "error",
                        f"generated {name} output failed its check: {problem}",
                        None,
                        "",
                        "this is a bug in obsctl or in a --templates override",
                    )
                )
    return artifacts, diags, result


def _write_tree(root: Path, artifacts: list[Artifact]) -> None:
    for a in artifacts:
        dest = root / a.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(a.text, encoding="utf-8")


def run_build(
    spec_path: Path,
    targets: list[str],
    env: str | None,
    out: Path | None,
    templates: Path | None,
    fmt: str,
    check_only: bool,
) -> int:
    from .report import render_human

    if fmt not in ("rules", "prometheusrule"):
        print(f"error: --format must be 'rules' or 'prometheusrule', not '{fmt}'", file=sys.stderr)
        return 2
    if templates is not None and not templates.is_dir():
        print(f"error: --templates {templates} is not a directory", file=sys.stderr)
        return 2
    from . import outdir

    try:
        artifacts, diags, result = render(spec_path, targets, env, templates, {"format": fmt})
    except OSError as e:  # the verification copy lives in the temporary directory (TMPDIR)
        where = f" ({e.filename})" if e.filename else ""
        render_human(
            [
                Diagnostic(
                    "OBS906",
                    "error",
                    f"cannot write the files to check them in "
                    f"{tempfile.gettempdir()}: {e.strerror or e}{where}",
                    None,
                    "",
                    "free space there, or set TMPDIR to another directory",
                )
            ],
            None,
        )
        print(f"{shown_path(spec_path)}: build failed; nothing was written", file=sys.stderr)
        return 1
    if diags:
        render_human(diags, result.smap)
    if any(d.level == "error" for d in diags) or not artifacts and not result.checked:
        print(f"{shown_path(spec_path)}: build failed; nothing was written", file=sys.stderr)
        return 1
    spec = result.checked[0].spec
    out = out or outdir.default_out(spec.service, env)
    try:
        if check_only:
            diffs = outdir.compare(out, artifacts, spec.service, env)
        else:
            outdir.write(out, artifacts, spec.service, env)
    except outdir.OutDirError as e:
        render_human(e.diagnostics, None)
        print(f"{shown_path(spec_path)}: build failed; {e.outcome}", file=sys.stderr)
        return 1
    if check_only:
        for d in diffs:
            sys.stdout.write(d if d.endswith("\n") else d + "\n")
        if diffs:
            print(
                f"{shown_path(out)}: {len(diffs)} file(s) are stale; run `obsctl build {shown_path(spec_path)} --out {shown_path(out)}`"
                f"{' --env ' + env if env else ''}",
                file=sys.stderr,
            )
            return 1
        print(f"{shown_path(out)}: up to date ({len(artifacts)} files)")
        return 0
    for a in artifacts:
        print(out / a.path)
    return 0
