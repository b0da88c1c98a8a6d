"""diff, docs and --only-specs under hostile input: nothing read or written outside the folders given, no
backtracking regex, no terminal escapes, no hang on a FIFO."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

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
