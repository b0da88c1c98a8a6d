"""`obsctl explain SPEC [NAME]` (issue 10, item 8): for one item, the parsed expression, the labels its result
keeps and its compiled form per target, or the reason a target cannot say it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from obsctl.cli import app

ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
service: node
runbook: https://runbooks.example.org/node
metrics:
  node_disk_io_time_seconds_total: {kind: counter, labels: [instance, device]}
  errors_total: {kind: counter, labels: [provider, reason]}
  requests_total: {kind: counter, labels: [provider]}
derived:
  error_ratio: sum by (provider) (rate(errors_total)) / sum by (provider) (rate(requests_total))
alerts:
  DiskBusy: {severity: page, when: "rate(node_disk_io_time_seconds_total[5m]) > 0.8"}
  Joined:
    severity: page
    when: rate(errors_total[5m]) / ignoring (reason) group_left rate(requests_total[5m]) > 0.1
"""


def _run(tmp_path: Path, *args: str):
    path = tmp_path / "obsctl.yaml"
    path.write_text(SPEC)
    return CliRunner().invoke(app, ["explain", str(path), *args])


def test_explain_shows_tree_labels_and_each_target(tmp_path):
    result = _run(tmp_path, "DiskBusy")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "alerts.DiskBusy.when: rate(node_disk_io_time_seconds_total[5m]) > 0.8" in out
    assert "      >\n        rate()\n          node_disk_io_time_seconds_total[5m]\n        0.8" in out
    assert "labels: every label of the series it reads (nothing aggregated)" in out or "labels: (" in out
    assert "promql: rate(node_disk_io_time_seconds_total[5m]) > 0.8" in out
    assert "datadog: moving_rollup(" in out and "> 0.8" in out


def test_explain_names_what_a_target_cannot_say(tmp_path):
    out = _run(tmp_path, "Joined").output
    assert "ignoring(reason) group_left()" in out
    assert (
        "promql: rate(errors_total[5m]) / ignoring (reason) group_left rate(requests_total[5m]) > 0.1" in out
    )
    assert "datadog: cannot: the vector matching '/ ignoring(reason) group_left'" in out


def test_explain_json_and_the_list_of_items(tmp_path):
    items = json.loads(_run(tmp_path, "error_ratio", "--format", "json").output)
    assert [(i["kind"], i["name"]) for i in items] == [("derived", "error_ratio")]
    assert items[0]["parts"][0]["labels"] == "(provider)"
    listing = _run(tmp_path).output
    assert "alert DiskBusy" in listing and "derived error_ratio" in listing and "alert Joined" in listing


def test_an_unknown_name_is_obs260_with_the_names_there_are(tmp_path):
    result = _run(tmp_path, "Nope")
    assert result.exit_code == 1
    assert "OBS260" in result.output and "DiskBusy" in result.output and "Traceback" not in result.output


def test_explain_an_example_panel():
    result = CliRunner().invoke(
        app, ["explain", str(ROOT / "examples" / "asset-ws" / "obsctl.yaml"), "WebSocket active connections"]
    )
    assert result.exit_code == 0, result.output
    assert "promql: sum(ws_connections_active{" in result.output


def test_explain_of_a_spec_with_no_expression_lists_none(tmp_path):
    path = tmp_path / "obsctl.yaml"
    path.write_text((ROOT / "tests" / "slo" / "specs" / "availability.yaml").read_text())
    result = CliRunner().invoke(app, ["explain", str(path)])
    assert result.exit_code == 0, result.output
    assert "no alert, derived metric or panel with an expression" in result.output
    as_json = CliRunner().invoke(app, ["explain", str(path), "--format", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output) == []
