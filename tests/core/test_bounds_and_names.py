"""Durations bounded to what Prometheus holds, and names checked whole (issue 17)."""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.durations import DurationRangeError, parse_duration

LONGEST = "292y171d23h47m16s854ms"  # 2^63-1 nanoseconds, rounded down to the millisecond
TOO_LONG = "292y171d23h47m16s855ms"


def test_duration_bound_is_promtools(promtool, tmp_path):
    """The longest duration obsctl accepts is the longest promtool accepts, one millisecond more is refused by both.
    Before: parse_duration took any length (999999999999999999999y too)."""
    assert parse_duration(LONGEST) > 0
    with pytest.raises(DurationRangeError) as err:
        parse_duration(TOO_LONG)
    assert "292y" in err.value.hint
    for text, ok in ((LONGEST, True), (TOO_LONG, False)):
        rules = tmp_path / "r.yml"
        rules.write_text(
            f"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: vector(1)\n        for: {text}\n"
        )
        proc = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
        assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr


def test_trailing_newline_is_no_duration():
    with pytest.raises(ValueError):
        parse_duration("5m\n")


def test_label_value_with_newline_never_reaches_a_datadog_query(tmp_path, monkeypatch):
    """Before: `job: "inj\\n"` matched `^[A-Za-z0-9_.\\-/:]+$` (`$` before a trailing newline) and the Datadog monitor
    query held a raw newline. After: the tag value is refused (OBS701), nothing is written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text("""\
service: svc
runbook: https://wiki.example.org/svc
sources:
  metrics: {selector: {job: "inj\\n"}}
metrics:
  x_total: {kind: counter}
alerts:
  A: {severity: P1, when: rate(x_total) > 1}
routing:
  receivers:
    r: {webhook: {url: "https://example.org/hook"}, datadog: "@r"}
  severities:
    P1: [r]
""")
    result = CliRunner().invoke(app, ["build", "spec.yaml", "--target", "datadog", "--out", "out"])
    assert result.exit_code == 1, result.output
    assert "OBS701" in result.output
    assert not (tmp_path / "out").exists()


def test_starter_refuses_a_service_name_with_a_newline(tmp_path):
    from obsctl.starter import write_starter

    assert write_starter(tmp_path / "obsctl.yaml", "svc\n", force=False) == 1
    assert not (tmp_path / "obsctl.yaml").exists()


def test_json_diagnostic_names_the_bound(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text("service: svc\ndefaults: {window: 300y}\n")
    result = CliRunner().invoke(app, ["validate", "--format", "json", "spec.yaml"])
    [d] = [d for d in json.loads(result.stdout) if d["level"] == "error"]
    assert (d["code"], d["line"], d["column"], d["field"]) == ("OBS109", 2, 20, "defaults.window")
    assert "292y" in d["hint"]
