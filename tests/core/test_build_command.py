"""`obsctl build`: all files or none, --check for stale output, --templates overrides, missing tools."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsctl.cli import app

ROOT = Path(__file__).resolve().parents[2]
ASSET_WS = ROOT / "examples" / "asset-ws" / "obsctl.yaml"


def _copy_example(tmp_path: Path) -> Path:
    spec = tmp_path / "obsctl.yaml"
    shutil.copy(ASSET_WS, spec)
    return spec


def test_build_writes_every_target_and_check_sees_it_current(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["build", str(spec), "--out", "out"])
    assert result.exit_code == 0, result.output
    tops = {p.relative_to(tmp_path / "out").parts[0] for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert tops == {"prometheus", "loki", "alertmanager", "grafana", "datadog", ".obsctl"}
    assert "prometheus/asset-ws.rules.yml" in (tmp_path / "out" / ".obsctl" / "asset-ws.files").read_text()
    assert not list((tmp_path / "out").glob(".obsctl-staging-*"))
    result = runner.invoke(app, ["build", str(spec), "--out", "out", "--check"])
    assert result.exit_code == 0 and "up to date" in result.stdout


def test_check_reports_stale_and_obsolete_files_with_a_diff(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    runner = CliRunner()
    assert (
        runner.invoke(
            app, ["build", str(spec), "--out", "out", "-t", "prometheus", "-t", "datadog"]
        ).exit_code
        == 0
    )
    text = spec.read_text().replace("when: api_error_rate_5m >= 0.05", "when: api_error_rate_5m >= 0.1")
    spec.write_text(text.replace("  WorkerPersistentRefreshFailures:", "  WorkerRefreshFailures:"))
    mine = tmp_path / "out" / "prometheus" / "prometheus.yml"  # a file obsctl did not write: never touched
    mine.write_text("global: {}\n")
    result = runner.invoke(
        app, ["build", str(spec), "--out", "out", "-t", "prometheus", "-t", "datadog", "--check"]
    )
    assert result.exit_code == 1
    assert (
        '-        expr: (service:api_error_rate_5m:ratio_increase5m{job="asset-ws"} >= 0.05)' in result.stdout
    )
    assert (
        '+        expr: (service:api_error_rate_5m:ratio_increase5m{job="asset-ws"} >= 0.1)' in result.stdout
    )
    assert "asset-ws.WorkerPersistentRefreshFailures.json: no longer produced by the spec" in result.stdout
    assert "prometheus.yml" not in result.stdout
    assert (
        runner.invoke(
            app, ["build", str(spec), "--out", "out", "-t", "prometheus", "-t", "datadog"]
        ).exit_code
        == 0
    )
    assert not (
        tmp_path / "out" / "datadog" / "monitors" / "asset-ws.WorkerPersistentRefreshFailures.json"
    ).exists()
    assert (tmp_path / "out" / "datadog" / "monitors" / "asset-ws.WorkerRefreshFailures.json").exists()
    assert mine.read_text() == "global: {}\n"


def test_services_share_an_output_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text(spec.read_text().replace("service: asset-ws", "service: asset-worker"))
    runner = CliRunner()
    assert runner.invoke(app, ["build", str(spec), "--out", "out", "-t", "prometheus"]).exit_code == 0
    assert runner.invoke(app, ["build", str(other), "--out", "out", "-t", "prometheus"]).exit_code == 0
    assert (tmp_path / "out" / "prometheus" / "asset-ws.rules.yml").is_file()
    assert (tmp_path / "out" / "prometheus" / "asset-worker.rules.yml").is_file()
    assert (
        runner.invoke(app, ["build", str(spec), "--out", "out", "-t", "prometheus", "--check"]).exit_code == 0
    )


def test_unwritable_output_is_an_error_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    (tmp_path / "afile").write_text("x")
    result = CliRunner().invoke(app, ["build", str(spec), "--out", "afile", "-t", "prometheus"])
    assert result.exit_code == 1 and "cannot write to afile" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_validate_a_directory_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1 and "OBS002" in result.stderr


def test_two_outputs_with_one_path_fail_the_build(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    text = (
        spec.read_text()
        + """
slos:
  api.availability:
    objective: 99.9
    sli: {bad: api_requests_errors_total, total: api_requests_total}
    alerting: {page_severity: P1, ticket_severity: P3}
  api-availability:
    objective: 99.5
    sli: {bad: api_requests_errors_total, total: api_requests_total}
    alerting: {page_severity: P1, ticket_severity: P3}
"""
    )
    spec.write_text(text)
    result = CliRunner().invoke(app, ["build", str(spec), "--out", "out", "-t", "datadog"])
    assert result.exit_code == 1 and "OBS902" in result.stderr
    assert not (tmp_path / "out").exists()


def test_nothing_is_written_when_a_target_fails(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    # Datadog cannot express a histogram quantile without an override: the whole build must fail.
    text = spec.read_text().replace(
        "  ws_connections_active: {kind: gauge",
        "  req_seconds: {kind: histogram, buckets: [0.1, 1]}\n  ws_connections_active: {kind: gauge",
    )
    text = text.replace("    when: ws_auth_failures_5m >= 50", "    when: quantile(0.9, req_seconds) >= 1")
    spec.write_text(text)
    result = CliRunner().invoke(app, ["build", str(spec), "--out", "out"])
    assert result.exit_code == 1
    assert "WebSocketAuthFailuresSpike" in result.stderr and "quantile" in result.stderr
    assert "nothing was written" in result.stderr
    assert not (tmp_path / "out").exists()


def test_templates_override(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    mine = tmp_path / "my-templates" / "prometheus"
    mine.mkdir(parents=True)
    original = (ROOT / "templates" / "prometheus" / "rules.yml.j2").read_text()
    (mine / "rules.yml.j2").write_text("# reviewed by the platform team\n" + original)
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(spec),
            "-t",
            "prometheus",
            "--out",
            "out",
            "--templates",
            str(tmp_path / "my-templates"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "prometheus" / "asset-ws.rules.yml").read_text().startswith("# reviewed by")


def test_broken_template_override_fails_before_writing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    mine = tmp_path / "t" / "prometheus"
    mine.mkdir(parents=True)
    (mine / "rules.yml.j2").write_text("groups: [\n")
    result = CliRunner().invoke(
        app, ["build", str(spec), "-t", "prometheus", "--out", "out", "--templates", str(tmp_path / "t")]
    )
    assert result.exit_code == 1
    assert "OBS900" in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "text",
    ["{% if %}", "{{ no_such_value.field }}", "{% include 'missing.j2' %}"],
    ids=["syntax", "undefined", "missing-include"],
)
def test_template_errors_in_an_override_are_diagnostics_not_tracebacks(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    mine = tmp_path / "t" / "prometheus"
    mine.mkdir(parents=True)
    (mine / "rules.yml.j2").write_text(text + "\n")
    result = CliRunner().invoke(
        app, ["build", str(spec), "-t", "prometheus", "--out", "out", "--templates", str(tmp_path / "t")]
    )
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "OBS015" in result.stderr and "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_tools_are_warnings_in_build(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = CliRunner().invoke(app, ["build", str(spec), "--out", "out"])
    assert result.exit_code == 0, result.output
    assert "OBS901" in result.stderr and "promtool" in result.stderr and "amtool" in result.stderr
    assert (tmp_path / "out" / "prometheus" / "asset-ws.rules.yml").is_file()


def test_spec_errors_write_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    spec.write_text(spec.read_text().replace("severity: P2", "severity: P9", 1))
    result = CliRunner().invoke(app, ["build", str(spec), "--out", "out"])
    assert result.exit_code == 1 and "OBS301" in result.stderr
    assert not (tmp_path / "out").exists()


def test_usage_errors_exit_2(tmp_path):
    result = CliRunner().invoke(app, ["build", str(ASSET_WS), "--format", "helm"])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["build", str(ASSET_WS), "--target", "nagios"])
    assert result.exit_code == 2
