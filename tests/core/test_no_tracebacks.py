"""Inputs that ended in a Python traceback (or ran out of memory) are clear errors: each case is run through the
real `obsctl validate` and `obsctl build --target all` in a fresh process, under a memory cap, and must exit 1
with a diagnostic and no "Traceback". Run it directly (`python tests/core/test_no_tracebacks.py`) to see each
case's output."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTER = """\
service: demo
runbook: https://runbooks.example.org/demo
metrics:
  http_requests_total: {kind: counter, labels: [code]}
dashboards:
  ops:
    title: ops
    panels:
      - {title: Requests, expr: rate(http_requests_total)}
slos:
  availability:
    objective: 99.9
    sli: {bad: 'http_requests_total{code=~"5.."}', total: http_requests_total}
    alerting: {page_severity: page, ticket_severity: page}
routing:
  receivers:
    oncall: {pagerduty: {routing_key_file: /etc/am/pd}}
  severities:
    page: [oncall]
"""

# (id, spec text or a path to validate as it is, exit code of validate, code the diagnostics must name)
CASES = [
    ("dev-zero", "/dev/zero", 1, "OBS011"),
    ("nested-500", "service: demo\nx: " + "[" * 500 + "]" * 500 + "\n", 1, "OBS013"),
    ("slo-name-240", STARTER.replace("  availability:", "  " + "a" * 240 + ":"), 1, "OBS104"),
    # a constant is a fine Grafana panel; Datadog has no formula without a query: an error at validate (as at
    # build, where it used to be the only one), not a crash
    (
        "datadog-stat-constant",
        STARTER.replace(
            "      - {title: Requests, expr: rate(http_requests_total)}",
            "      - {title: One, type: stat, expr: '1'}",
        ),
        1,
        "OBS703",
    ),
]

MEMORY_CAP = 1024 * 1024 * 1024  # reading /dev/zero without a bound would take all of it


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "obsctl.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_cap_memory,
    )


def check_case(text: str, validate_exit: int, code: str, workdir: Path) -> list[str]:
    """What is wrong with how obsctl handles one case (empty when it is handled)."""
    spec = text if text.startswith("/dev/") else "spec.yaml"
    if spec == "spec.yaml":
        (workdir / spec).write_text(text)
    problems = []
    for args, expected in (
        (["validate", spec], validate_exit),
        (["build", spec, "--target", "all", "--out", "out"], 1),
    ):
        result = run(args, workdir)
        label = " ".join(args[:1] + args[2:])
        if "Traceback" in result.stderr:
            problems.append(f"{label}: traceback\n{result.stderr[-2000:]}")
        if result.returncode != expected:
            problems.append(
                f"{label}: exit {result.returncode}, expected {expected}\n{result.stderr[-2000:]}"
            )
        if expected == 1 and code not in result.stderr:
            problems.append(f"{label}: no {code} in\n{result.stderr[-2000:]}")
    if (workdir / "out").exists():
        problems.append("build wrote output")
    return problems


@pytest.mark.parametrize("case_id, text, validate_exit, code", CASES, ids=[c[0] for c in CASES])
def test_no_traceback(tmp_path, case_id, text, validate_exit, code):
    assert check_case(text, validate_exit, code, tmp_path) == []


if __name__ == "__main__":
    import tempfile

    failed = 0
    for case_id, text, validate_exit, code in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            problems = check_case(text, validate_exit, code, Path(tmp))
        print(f"{'ok  ' if not problems else 'FAIL'} {case_id}")
        for p in problems:
            print("     " + p.replace("\n", "\n     "))
        failed += bool(problems)
    sys.exit(1 if failed else 0)
