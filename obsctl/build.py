"""`obsctl build`: check the spec, render every target, verify what was rendered, then hand it to
`obsctl.outdir`, which writes it all or nothing."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .backends import Artifact, Renderer, backend, build_targets, spec_targets
from .diagnostics import Diagnostic
from .report import shown_path
from .verify import Skipped

if TYPE_CHECKING:
    from .pipeline import Checked


def render(
    spec_path: Path,
    targets: list[str],
    env: str | None,
    templates: Path | None = None,
    options: dict | None = None,
    skip_excluded: bool = False,
) -> tuple[list[Artifact], list[Diagnostic], object]:
    """Render (and verify) the artifacts of `targets` (`all`: the spec's own, `targets.for`). A named target the
    spec leaves out is an error (OBS017), or with `skip_excluded` left out (`obsctl test` asks for Prometheus and
    Alertmanager, whichever the spec is for). Returns (artifacts, diagnostics, checked)."""
    from .pipeline import check
    from .templating import environment

    result = check(spec_path, env)
    if not result.ok or not result.checked:
        return [], result.diagnostics, result
    checked = result.checked[0]
    own = spec_targets(checked.spec)
    names = own if "all" in targets else list(dict.fromkeys(targets))
    if outside := [n for n in names if n not in own]:
        if not skip_excluded:
            return [], [*result.diagnostics, _not_for(outside, own, checked)], result
        names = [n for n in names if n in own]
    from .plan import build_plan

    plan = build_plan(checked.spec, checked.analysis, checked.smap, spec_path, env, options)
    renderer = Renderer(environment(templates), plan)
    diags: list[Diagnostic] = [d for d in result.diagnostics if d.level != "error"]
    artifacts, errors = build_targets(plan, names, renderer)
    diags += errors
    if any(d.level == "error" for d in diags):
        return [], diags, result
    with tempfile.TemporaryDirectory(prefix="obsctl-verify-") as tmp:
        staging = Path(tmp)
        staged = {name for name in names if backend(name).VERIFY_READS_FILES}
        _write_tree(staging, [a for a in artifacts if a.path.split("/", 1)[0] in staged])
        skipped: set[str] = set()
        for name, findings in zip(names, _verify_all(names, artifacts, staging), strict=True):
            for problem in findings:
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


def _verify_all(names: list[str], artifacts: list[Artifact], staging: Path) -> list[list]:
    """Each target's verify() findings, in `names` order. The targets are checked side by side: most of
    Prometheus's and Alertmanager's time is spent waiting for promtool and amtool, which overlaps the Python
    checks of the others (Datadog's deserialisation, Grafana's schemas)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(name: str) -> list:
        return backend(name).verify([a for a in artifacts if a.path.split("/", 1)[0] == name], staging)

    if len(names) < 2:
        return [one(n) for n in names]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return list(pool.map(one, names))


def _not_for(outside: list[str], own: list[str], checked: Checked) -> Diagnostic:
    path = ("targets", "for")
    return Diagnostic(
        "OBS017",
        "error",
        f"the spec is not for {', '.join(outside)}: its targets.for lists {', '.join(own)}",
        checked.smap.locate(path, prefer_key=True),
        ".".join(path),
        f"build --target {','.join(own)} (or all), or add {', '.join(outside)} to targets.for",
    )


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
