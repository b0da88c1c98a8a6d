"""Every example validates clean (base spec and each environment), builds to every target, and its committed
output under build/ is what the spec builds to today."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from built_example import EXAMPLES, SPECS, build_dir, built, environments

from obsctl.backends import TARGETS, Artifact
from obsctl.expr import ast
from obsctl.outdir import compare
from obsctl.pipeline import check

DESIGNS = {"asset-ws", "sigiq-websocket", "relay-ai", "asset-forge", "sessions-service"}
CASES = [(spec, env) for spec in SPECS for env in (environments(spec) or [None])]


def _id(case: tuple[Path, str | None]) -> str:
    spec, env = case
    return f"{spec.parent.name}-{env}" if env else spec.parent.name


def test_one_example_per_design() -> None:
    assert DESIGNS <= {s.parent.name for s in SPECS}
    for spec in SPECS:
        assert (spec.parent / "README.md").is_file(), f"{spec.parent.name} has no README.md"
    assert (EXAMPLES / "README.md").is_file()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.parent.name)
def test_validates_without_a_diagnostic(spec: Path) -> None:
    result = check(spec, None, every_env=True)
    shown = [f"{d.code} {d.level} {d.field}: {d.message}" for d in result.diagnostics]
    assert result.ok and not shown, shown
    assert len(result.checked) == 1 + len(environments(spec))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.parent.name)
def test_cli_validate_exits_0(spec: Path) -> None:
    exe = shutil.which("obsctl")
    cmd = [exe] if exe else [sys.executable, "-m", "obsctl.cli"]
    for env in [None, *environments(spec)]:
        args = [*cmd, "validate", str(spec), "--strict"] + (["--env", env] if env else [])
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "error" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_builds_to_every_target(case: tuple[Path, str | None]) -> None:
    files = built(*case)
    # The Loki ruler gets rules only from alerts on log events; every other target always has output.
    expected = set(TARGETS) if _alerts_on_logs(*case) else set(TARGETS) - {"loki"}
    assert {p.split("/", 1)[0] for p in files} == expected


def _alerts_on_logs(spec: Path, env: str | None) -> bool:
    checked = check(spec, env).checked[0]
    refs = checked.analysis.refs
    return any(path[0] == "alerts" and any(isinstance(n, ast.Ref) and n.name in refs and refs[n.name].kind == "event"
                                           for n in ast.walk(node))
               for path, node in checked.analysis.exprs.items())


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_committed_output_is_current(case: tuple[Path, str | None]) -> None:
    spec, env = case
    out = build_dir(spec, env)
    assert out.is_dir(), f"{out} is missing: run examples/build-all.sh"
    service = check(spec, env).checked[0].spec.service
    diffs = compare(out, [Artifact(p, t) for p, t in built(spec, env).items()], service, env)
    assert not diffs, f"{out} is stale, run examples/build-all.sh:\n" + "".join(diffs)[:4000]


def test_build_twice_is_byte_identical() -> None:
    from obsctl.build import render

    spec = EXAMPLES / "relay-ai" / "obsctl.yaml"
    first, _, _ = render(spec, ["all"], "beta")
    second, _, _ = render(spec, ["all"], "beta")
    assert [(a.path, a.text) for a in first] == [(a.path, a.text) for a in second]
