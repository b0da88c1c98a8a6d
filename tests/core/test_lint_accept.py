"""Per-code control of warnings: `--ignore` on the command line and `lint.accept` in the spec (with a reason), so
`validate --strict` is usable on real specs; an accepted code that no longer fires is itself a warning."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.pipeline import check

SPEC = """service: lintdemo
sources:
  metrics: {type: prometheus, selector: {job: api}, scrape: [{job: web, targets: ["a:1"]}]}
"""


def _write(tmp_path: Path, extra: str = "") -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC + extra)
    return spec


def test_a_warning_fails_strict_until_accepted(tmp_path):
    spec = _write(tmp_path)
    assert [d.code for d in check(spec, every_env=True).diagnostics] == ["OBS242"]
    assert CliRunner().invoke(app, ["validate", str(spec), "--strict"]).exit_code == 1
    spec = _write(tmp_path, 'lint:\n  accept: {OBS242: "the job label is relabelled at scrape time"}\n')
    assert check(spec, every_env=True).diagnostics == []
    assert CliRunner().invoke(app, ["validate", str(spec), "--strict"]).exit_code == 0


def test_ignore_on_the_command_line(tmp_path):
    spec = _write(tmp_path)
    result = CliRunner().invoke(app, ["validate", str(spec), "--strict", "--ignore", "obs242,OBS311"])
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(app, ["validate", str(spec), "--ignore", "242"]).exit_code == 2


def test_an_accepted_code_that_no_longer_fires_is_a_warning(tmp_path):
    spec = _write(
        tmp_path, 'lint:\n  accept:\n    OBS242: "relabelled"\n    OBS311: "staging has no pager"\n'
    )
    [d] = check(spec, every_env=True).diagnostics
    assert d.code == "OBS016" and "OBS311" in d.message and d.level == "warning"
    assert (d.location.line, d.location.column) == (7, 5)


def test_errors_cannot_be_accepted(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        'service: x\nalerts:\n  A: {severity: P1, when: "nope > 1"}\nlint:\n  accept: {OBS201: "x"}\n'
    )
    result = check(spec, every_env=True, ignore=frozenset({"OBS201"}))
    assert not result.ok and any(d.code == "OBS201" for d in result.diagnostics)


def test_accept_needs_a_reason_and_a_code(tmp_path):
    spec = _write(tmp_path, 'lint:\n  accept: {OBS242: ""}\n')
    assert not check(spec).ok
    spec = _write(tmp_path, 'lint:\n  accept: {W242: "x"}\n')
    assert not check(spec).ok
