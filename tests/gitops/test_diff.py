"""`obsctl diff`: a changed threshold, an added alert, a removed receiver and a changed panel query are reported as
exactly those items (and the ones the change necessarily moves), with old and new values, in text, Markdown and JSON;
against a git revision and against a directory of earlier output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.diff import receivers_of, threshold

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "asset-ws" / "obsctl.yaml"
P2_ALERTS = sorted(
    n for n, a in yaml.safe_load(EXAMPLE.read_text())["alerts"].items() if a["severity"] == "P2"
)


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with the asset-ws spec committed at specs/asset-ws.yaml."""
    (tmp_path / "specs").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "specs" / "asset-ws.yaml")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "spec")
    return tmp_path


def _edit(spec: Path, old: str, new: str) -> None:
    text = spec.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    spec.write_text(text.replace(old, new), encoding="utf-8")


def _diff(spec: Path, fmt: str, against: str = "HEAD", *extra: str) -> str:
    result = CliRunner().invoke(app, ["diff", str(spec), "--against", against, "--format", fmt, *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def _changes(spec: Path, against: str = "HEAD") -> dict[tuple[str, str], dict]:
    doc = json.loads(_diff(spec, "json", against))
    return {
        (c["kind"], c["name"]): {
            "change": c["change"],
            "fields": {f["field"]: (f["old"], f["new"]) for f in c["fields"]},
        }
        for c in doc["changes"]
    }


THRESHOLD = ("when: api_error_rate_5m >= 0.05", "when: api_error_rate_5m >= 0.02")


def test_a_changed_threshold(repo):
    spec = repo / "specs" / "asset-ws.yaml"
    _edit(spec, *THRESHOLD)
    changes = _changes(spec)
    assert set(changes) == {("alert", "APIHighErrorRate"), ("monitor", "APIHighErrorRate")}
    alert = changes[("alert", "APIHighErrorRate")]
    assert alert["change"] == "changed"
    assert set(alert["fields"]) == {"threshold", "expr"}
    assert alert["fields"]["threshold"] == (">= 0.05", ">= 0.02")
    monitor = changes[("monitor", "APIHighErrorRate")]["fields"]
    assert set(monitor) == {"query", "message", "options.thresholds.critical"}
    assert monitor["options.thresholds.critical"] == (0.05, 0.02)

    text = _diff(spec, "text")
    assert "alert APIHighErrorRate: changed\n  threshold: >= 0.05 -> >= 0.02\n" in text
    assert "  options.thresholds.critical: 0.05 -> 0.02\n" in text
    assert text.splitlines()[0].endswith(": 2 changed")
    md = _diff(spec, "markdown")
    assert "#### alerts\n\n- **APIHighErrorRate** changed\n" in md
    assert "  | threshold | `>= 0.05` | `>= 0.02` |" in md
    assert "**2 changed**" in md


def test_an_added_alert(repo):
    spec = repo / "specs" / "asset-ws.yaml"
    _edit(
        spec,
        "\nalerts:\n",
        "\nalerts:\n  TooManyConnections: {severity: P3, when: ws_connections_active > 5000, for: 5m}\n",
    )
    changes = _changes(spec)
    assert set(changes) == {("alert", "TooManyConnections"), ("monitor", "TooManyConnections")}
    alert = changes[("alert", "TooManyConnections")]
    assert alert["change"] == "added"
    assert alert["fields"]["threshold"] == (None, "> 5000")
    assert alert["fields"]["receivers"] == (None, ["incidents"])
    assert alert["fields"]["for"] == (None, "5m")
    assert changes[("monitor", "TooManyConnections")]["change"] == "added"

    text = _diff(spec, "text")
    assert "alert TooManyConnections: added\n" in text and "  threshold: > 5000\n" in text
    assert '  receivers: ["incidents"]\n' in text
    md = _diff(spec, "markdown")
    assert "- **TooManyConnections** added" in md and "| threshold |  | `> 5000` |" in md


def test_a_removed_receiver(repo):
    """Removing `oncall` removes the receiver and its P2 route, and moves every P2 alert (and its Datadog monitor's
    notification) to `incidents` alone: nothing else."""
    spec = repo / "specs" / "asset-ws.yaml"
    _edit(
        spec,
        '    oncall:\n      slack: {channel: "#asset-ws-oncall", api_url_file: /etc/alertmanager/secrets/'
        'slack-webhook}\n      datadog: "@slack-asset-ws-oncall"\n',
        "",
    )
    _edit(spec, "receivers: [oncall, incidents]", "receivers: [incidents]")
    changes = _changes(spec)
    p2 = 'service="asset-ws" > severity="P2"'
    expected = {("receiver", "oncall"), ("route", p2), ("route", f"{p2} #2")}
    expected |= {("alert", n) for n in P2_ALERTS} | {("monitor", n) for n in P2_ALERTS}
    assert set(changes) == expected
    assert changes[("receiver", "oncall")]["change"] == "removed"
    assert changes[("route", p2)]["fields"]["receiver"] == ("oncall", "incidents")
    assert changes[("route", f"{p2} #2")]["change"] == "removed"
    for name in P2_ALERTS:
        assert changes[("alert", name)]["fields"] == {"receivers": (["oncall", "incidents"], ["incidents"])}
        assert set(changes[("monitor", name)]["fields"]) == {"message"}

    text = _diff(spec, "text")
    assert "receiver oncall: removed\n" in text
    assert f'alert {P2_ALERTS[0]}: changed\n  receivers: ["oncall", "incidents"] -> ["incidents"]\n' in text
    md = _diff(spec, "markdown")
    assert "#### receivers\n\n- **oncall** removed" in md
    assert '| receivers | `["oncall", "incidents"]` | `["incidents"]` |' in md


def test_a_changed_panel_query(repo):
    spec = repo / "specs" / "asset-ws.yaml"
    _edit(
        spec,
        "{title: API request volume (5m rate), expr: sum(rate(api_requests_total)), unit: reqps}",
        "{title: API request volume (5m rate), expr: sum(rate(api_requests_errors_total)), unit: reqps}",
    )
    changes = _changes(spec)
    grafana = ("panel", "grafana asset-ws-ops / API request volume (5m rate)")
    datadog = ("panel", "datadog ops / API request volume (5m rate)")
    assert set(changes) == {grafana, datadog}
    assert changes[grafana]["fields"] == {
        "targets[0].expr": (
            'sum(rate(api_requests_total{job="asset-ws"}[5m]))',
            'sum(rate(api_requests_errors_total{job="asset-ws"}[5m]))',
        )
    }
    assert set(changes[datadog]["fields"]) == {"definition.requests[0].queries[0].query"}

    text = _diff(spec, "text")
    assert (
        f"panel {grafana[1]}: changed\n  targets[0].expr: "
        'sum(rate(api_requests_total{job="asset-ws"}[5m])) -> sum(rate(api_requests_errors_total{job="asset-ws"}[5m]))'
        in text
    )
    md = _diff(spec, "markdown")
    assert "#### panels" in md and f"- **{grafana[1]}** changed" in md
    assert '| targets[0].expr | `sum(rate(api_requests_total{job="asset-ws"}[5m]))` |' in md


def test_against_a_directory_of_earlier_output(repo, tmp_path):
    """The committed output of a build, read back: no change when the spec is the same, the threshold when not."""
    spec = repo / "specs" / "asset-ws.yaml"
    out = tmp_path / "deploy"
    assert (
        CliRunner()
        .invoke(app, ["build", str(spec), "-t", "prometheus,alertmanager", "--out", str(out)])
        .exit_code
        == 0
    )
    assert json.loads(_diff(spec, "json", str(out)))["changes"] == []  # only the targets the directory holds
    _edit(spec, *THRESHOLD)
    assert set(_changes(spec, str(out))) == {("alert", "APIHighErrorRate")}


def test_exit_code_and_a_new_spec(repo):
    spec = repo / "specs" / "asset-ws.yaml"
    assert CliRunner().invoke(app, ["diff", str(spec), "--against", "HEAD", "--exit-code"]).exit_code == 0
    _edit(spec, *THRESHOLD)
    result = CliRunner().invoke(
        app, ["diff", str(spec), "--against", "HEAD", "--exit-code", "-t", "prometheus"]
    )
    assert result.exit_code == 1 and "alert APIHighErrorRate: changed" in result.stdout
    new = repo / "specs" / "new.yaml"
    shutil.copy(spec, new)  # not at HEAD: everything is added
    doc = json.loads(_diff(new, "json", "HEAD", "-t", "prometheus"))
    assert doc["summary"]["removed"] == doc["summary"]["changed"] == 0 and doc["summary"]["added"] > 0


def test_a_bad_revision_is_an_error(repo):
    result = CliRunner().invoke(
        app, ["diff", str(repo / "specs" / "asset-ws.yaml"), "--against", "no-such-ref"]
    )
    assert result.exit_code == 1
    assert "'no-such-ref' is neither a directory nor a git revision" in result.output


def test_includes_are_read_at_the_revision(repo):
    """An included file changed since the revision: the old side is built from the old include."""
    spec = repo / "specs" / "asset-ws.yaml"
    (repo / "shared").mkdir()
    (repo / "shared" / "labels.yaml").write_text("labels: {tier: gold}\n")
    _edit(spec, "service: asset-ws\n", "service: asset-ws\ninclude: [../shared/labels.yaml]\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "include")
    (repo / "shared" / "labels.yaml").write_text("labels: {tier: silver}\n")
    changes = _changes(spec)
    alerts = [k for k in changes if k[0] == "alert"]
    assert alerts and all(changes[k]["fields"]["labels.tier"] == ("gold", "silver") for k in alerts)


def test_threshold_reading():
    assert threshold('(a{x="1"} >= 0.05) and on() (sum(b) >= 100)') == ">= 0.05"
    assert threshold("probe_success == 0") == "== 0"
    assert threshold('(sum(count_over_time({a="b"} |= "x" [10m])) or vector(0)) >= 5') == ">= 5"
    assert threshold("absent(up)") is None


def test_route_tree_reading():
    route = {
        "receiver": "root",
        "routes": [
            {
                "matchers": ['service="a"'],
                "routes": [
                    {"receiver": "x", "matchers": ['severity=~"P1|P2"'], "continue": True},
                    {"receiver": "y", "matchers": ["severity!=P3"]},
                ],
            }
        ],
    }
    assert receivers_of(route, {"service": "a", "severity": "P1"}) == ["x", "y"]
    assert receivers_of(route, {"service": "a", "severity": "P3"}) == ["root"]
    assert receivers_of(route, {"service": "b", "severity": "P1"}) == ["root"]
