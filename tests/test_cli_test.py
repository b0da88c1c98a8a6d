"""`obsctl test`: passes on the asset-ws example, fails naming the alert when a spec test no longer holds, and
says which package to install when promtool is missing."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ASSET_WS = REPO / "examples" / "asset-ws" / "obsctl.yaml"

# The asset-ws example's own tests: section (the asset-ws design: API high error rate, P1); copies below swap it out.
SPEC_TESTS = """
tests:
  - name: error burst pages after 10 minutes
    series:
      'api_requests_total{job="asset-ws"}': '0+100x30'
      'api_requests_errors_total{job="asset-ws"}': '0+10x30'
    expect:
      - {at: 5m, quiet: [APIHighErrorRate]}
      - {at: 20m, firing: [APIHighErrorRate]}
  - name: low traffic does not page
    series:
      'api_requests_total{job="asset-ws"}': '0+10x30'
      'api_requests_errors_total{job="asset-ws"}': '0+5x30'
    expect:
      - {at: 20m, quiet: [APIHighErrorRate]}
"""


def _require(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            reason = (
                f"{tool} not installed: apt-get install "
                + {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}[tool]
            )
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(f"SKIPPED, needs {reason}")


def _obsctl_test(spec: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "obsctl.cli", "test", str(spec)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )


def _copy(tmp_path: Path, extra: str = "", replace: tuple[str, str] | None = None) -> Path:
    example = ASSET_WS.read_text()
    assert SPEC_TESTS.strip() in example
    text = example.replace(SPEC_TESTS.strip(), "") + extra
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(text)
    return spec


def test_asset_ws_passes():
    _require("promtool", "amtool")
    proc = _obsctl_test(ASSET_WS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "PASS          APIHighErrorRate" in out
    assert "fires above the threshold for longer than 10m (firing at" in out
    assert "quiet under the volume guard" in out
    assert "PASS          APIUnavailable" in out
    # log-event alerts are not promtool's: listed, never dropped silently
    assert "NOT GENERATED WorkerStalled" in out
    assert " 0 failed" in out.splitlines()[-1]


def test_spec_tests_pass_then_fail_naming_the_alert_when_the_threshold_changes(tmp_path):
    _require("promtool", "amtool")
    spec = _copy(tmp_path, SPEC_TESTS)
    proc = _obsctl_test(spec)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "PASS          APIHighErrorRate                 spec test: error burst pages after 10 minutes "
        "(firing at 20m)" in proc.stdout
    )

    # 10% errors no longer reach a 50% threshold: the spec's own expectation breaks (the generated scenarios
    # follow the new threshold and keep passing)
    changed = tmp_path / "changed"
    changed.mkdir()
    spec = _copy(changed, SPEC_TESTS, ("api_error_rate_5m >= 0.05", "api_error_rate_5m >= 0.5"))
    proc = _obsctl_test(spec)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = [line for line in proc.stdout.splitlines() if line.startswith("  FAIL")]
    assert failed == [
        "  FAIL          APIHighErrorRate                 spec test: error burst pages after 10 minutes "
        "(firing at 20m)"
    ], proc.stdout
    assert "got:[]" in proc.stdout
    assert proc.stdout.splitlines()[-1].endswith("1 failed, 2 not generated")


def test_a_spec_test_with_a_typo_fails_naming_the_test_and_the_reason(tmp_path):
    """The spec's own tests are never dropped: one promtool cannot run stops the build (OBS602), so `obsctl test`
    (and `obsctl build`) fail naming the test and the reason, and nothing is written."""
    _require("promtool", "amtool")
    typo = SPEC_TESTS.replace("error burst pages after 10 minutes", "'burst: pages after 10m'").replace(
        "'0+10x30'\n", "'0+10x3O'\n", 1
    )  # the letter O
    proc = _obsctl_test(_copy(tmp_path, typo))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "OBS602" in proc.stderr and "test 'burst: pages after 10m' expects APIHighErrorRate" in proc.stderr
    assert "cannot read series values '0+10x3O'" in proc.stderr
    assert "cannot test: the spec does not build" in proc.stderr


def test_outcomes_of_not_generated_lines(tmp_path):
    from obsctl.testgen.alerts import spec_test_label
    from obsctl.testing import alert_outcomes, report

    f = tmp_path / "x.tests.yml"
    f.write_text(
        f"# not generated: Slow: {spec_test_label('a: b')}: cannot read series 'bad{{{{'\n"
        "# not generated: Slow: quiet below the threshold: needs 1d of history: too long\n"
        "rule_files: [x.rules.yml]\ntests: []\n"
    )
    outcomes = alert_outcomes(f, True, "")
    assert [(o.status, o.alert, o.scenario, o.detail) for o in outcomes] == [
        ("FAIL", "Slow", "spec test: a: b", "cannot be run with promtool: cannot read series 'bad{{'"),
        ("NOT GENERATED", "Slow", "quiet below the threshold", "needs 1d of history: too long"),
    ]
    out = io.StringIO()
    assert report(tmp_path / "spec.yaml", outcomes, [], stream=out) == 1
    assert "  FAIL          Slow        spec test: a: b\n" in out.getvalue()
    assert "  NOT GENERATED Slow        quiet below the threshold\n" in out.getvalue()


def test_missing_promtool_is_a_clear_error(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no promtool (nor anything else) on PATH
    proc = _obsctl_test(ASSET_WS, env)
    assert proc.returncode == 1
    assert "promtool, which is not installed" in proc.stderr
    assert "Debian package 'prometheus'" in proc.stderr


def test_route_failures_are_reported(tmp_path, monkeypatch, capsys):
    _require("promtool", "amtool")
    from obsctl.plan import routing as alertmanager
    from obsctl.testing import run_tests

    real = alertmanager.route_cases

    def wrong(ctx: object) -> list:
        cases = real(ctx)
        cases[0].receivers = ["nobody"]
        return cases

    monkeypatch.setattr(alertmanager, "route_cases", wrong)
    assert run_tests(ASSET_WS, None, None) == 1
    out = capsys.readouterr().out
    assert "-> nobody" in out
    assert "expected [nobody]" in out
