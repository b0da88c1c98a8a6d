"""diff, docs and --only-specs under hostile input: nothing read or written outside the folders given, no
backtracking regex, no terminal escapes, no hang on a FIFO."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.diff import Change, FieldChange, receivers_of, render_text

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "asset-ws" / "obsctl.yaml"


def test_diff_against_a_directory_never_reads_outside_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLE, tmp_path / "spec.yaml")
    assert CliRunner().invoke(app, ["build", "spec.yaml", "-t", "prometheus", "--out", "out"]).exit_code == 0
    (tmp_path / "secret.txt").write_text("TOP-SECRET\n")
    manifest = tmp_path / "out" / ".obsctl" / "asset-ws.files"
    manifest.write_text(manifest.read_text() + "../secret.txt\n")
    result = CliRunner().invoke(
        app, ["diff", "spec.yaml", "-t", "prometheus", "--against", "out", "--format", "json"]
    )
    assert "TOP-SECRET" not in result.output
    assert result.exit_code == 1 and "file list names a path outside" in result.output


def test_diff_matches_routing_regexes_in_linear_time():
    route = {"receiver": "root", "routes": [{"receiver": "slow", "matchers": ['alertname=~"(a+)+b"']}]}
    start = time.monotonic()
    assert receivers_of(route, {"alertname": "a" * 40 + "c"}) == ["root"]
    assert time.monotonic() - start < 2
    broken = {"receiver": "root", "routes": [{"receiver": "x", "matchers": ['alertname=~"("']}]}
    assert receivers_of(broken, {"alertname": "("}) == ["root"]  # no traceback


def test_diff_output_escapes_terminal_sequences():
    change = Change("alert", "A", "changed", [FieldChange("summary", "old", "\x1b[31mred\x1b]0;title\x07")])
    text = render_text([change], "a", "b")
    assert "\x1b" not in text and "\x07" not in text and "\\x1b" in text


def test_docs_never_write_through_a_link_out_of_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLE, tmp_path / "spec.yaml")
    (tmp_path / "docs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "docs" / "dashboards")
    result = CliRunner().invoke(app, ["docs", "spec.yaml", "--out", "docs"])
    assert result.exit_code == 1
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_only_specs_does_not_hang_on_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "obsctl.cli", "validate", "--only-specs", str(fifo)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0


def _built_then_replaced(tmp_path: Path, rel: str, text: str) -> None:
    shutil.copy(EXAMPLE, tmp_path / "spec.yaml")
    assert CliRunner().invoke(app, ["build", "spec.yaml", "--out", "out"]).exit_code == 0
    (tmp_path / "out" / rel).write_text(text)


ALIAS_BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9)).replace(
    "l1: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]", "l1: &l1 [x, x, x, x, x, x, x, x, x]"
)


@pytest.mark.parametrize(
    "rel, text",
    [
        ("prometheus/asset-ws.rules.yml", "groups:\n" + ALIAS_BOMB),  # 9^8 nodes once expanded
        ("prometheus/asset-ws.rules.yml", "groups: " + "[" * 3000 + "]" * 3000 + "\n"),
        ("prometheus/asset-ws.rules.yml", "groups: [{name: g, rules: 5}]\n"),
        (
            "prometheus/asset-ws.rules.yml",
            "groups: [{name: g, rules: [{alert: A, expr: up, labels: [1]}]}]\n",
        ),
        ("alertmanager/alertmanager.yml", "route: 5\n"),
        ("alertmanager/alertmanager.yml", "route: {receiver: r, routes: 5}\n"),
    ],
    ids=["alias-bomb", "deep", "rules-int", "labels-list", "route-int", "routes-int"],
)
def test_diff_against_a_directory_of_odd_files_compares_them_as_text(tmp_path, monkeypatch, rel, text):
    """A directory given to --against is anyone's: an alias bomb took 1.5 GB and 40 s, odd types tracebacks."""
    monkeypatch.chdir(tmp_path)
    _built_then_replaced(tmp_path, rel, text)
    start = time.monotonic()
    result = CliRunner().invoke(app, ["diff", "spec.yaml", "--against", "out", "--format", "json"])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        result.output
    )
    assert result.exit_code == 0 and time.monotonic() - start < 20
    assert rel in result.output or "file" in result.output


@pytest.mark.parametrize("against", ["", "x" * 300])
def test_diff_against_an_empty_or_overlong_name_is_an_error(tmp_path, monkeypatch, against):
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLE, tmp_path / "spec.yaml")
    result = CliRunner().invoke(app, ["diff", "spec.yaml", "--against", against])
    assert result.exit_code == 1 and "error:" in result.output
    assert isinstance(result.exception, SystemExit | None)


@pytest.mark.parametrize(
    "args",
    [
        ["schema", "--out", "adir"],
        ["schema", "--out", "afile/x.json"],
        ["init", "afile/x.yaml"],
        ["init", "adir", "--force"],
    ],
)
def test_writing_where_a_file_cannot_go_is_an_error(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "error:" in result.output, result.output
    assert isinstance(result.exception, SystemExit | None)


def test_init_and_schema_never_replace_what_is_not_a_regular_file(tmp_path, monkeypatch):
    """`init /dev/full --force` replaced the device with a plain file (as root)."""
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "target.yaml")
    for args in (["init", "fifo", "--force"], ["init", "link", "--force"], ["schema", "--out", "fifo"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and "not a regular file" in result.output, (args, result.output)
    assert (tmp_path / "link").is_symlink() and not (tmp_path / "target.yaml").exists()


def test_init_creates_missing_folders_and_refuses_a_long_service(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["init", "new/sub/obsctl.yaml"]).exit_code == 0
    assert (tmp_path / "new" / "sub" / "obsctl.yaml").is_file()
    result = CliRunner().invoke(app, ["init", "x.yaml", "--service", "a" * 64])
    assert result.exit_code == 1 and not (tmp_path / "x.yaml").exists()
