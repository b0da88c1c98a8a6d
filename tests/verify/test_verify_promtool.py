import shutil
from pathlib import Path

import pytest

from obsctl.verify.promtool import check_rules, promql_errors
from obsctl.verify.promtool import test_rules as run_rule_tests

DATA = Path(__file__).parent / "data"


@pytest.fixture
def promtool(require_tool):
    require_tool("promtool")


def write(tmp_path: Path, text: str, name: str = "rules.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_realistic_rule_file_passes(promtool):
    assert check_rules([DATA / "rules_realistic.yml"]) == []


BAD_RULES = {
    "promql syntax": (
        """
groups:
  - name: g
    rules:
      - record: job:x:rate5m
        expr: sum by (job) (rate(x[5m)
""",
        "could not parse expression",
        "6:15",
    ),
    "unknown field": (
        """
groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        severity: critical
""",
        "field severity not found",
        "",
    ),
    "bare-number duration": (
        """
groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        for: 5
""",
        'not a valid duration string: "5"',
        "",
    ),
    "broken annotation template": (
        """
groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        annotations:
          summary: "{{ $value "
""",
        'annotation "summary": template',
        "",
    ),
    "invalid recording rule name": (
        """
groups:
  - name: g
    rules:
      - record: "bad name"
        expr: up
""",
        "invalid recording rule name",
        "5:17",
    ),
    "duplicate rule (lint is fatal)": (
        """
groups:
  - name: g
    rules:
      - record: x:y
        expr: up
      - record: x:y
        expr: up
""",
        "duplicate rule",
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_RULES))
def test_bad_rule_files_are_rejected(promtool, tmp_path, case):
    text, expected, where = BAD_RULES[case]
    path = write(tmp_path, text)
    problems = check_rules([path])
    assert problems, case
    assert all(p.file == str(path) for p in problems)
    assert any(expected in p.message for p in problems), problems
    if where:
        assert any(p.where == where for p in problems), problems


def test_problems_are_attributed_to_their_file(promtool, tmp_path):
    good = write(tmp_path, (DATA / "rules_realistic.yml").read_text(), "good.yml")
    bad = write(tmp_path, "groups: [\n", "bad.yml")
    problems = check_rules([good, bad])
    assert [p.file for p in problems] == [str(bad)]  # reported once, though promtool prints it twice


def test_rule_unit_tests_pass(promtool, tmp_path):
    shutil.copy(DATA / "rules_realistic.yml", tmp_path)
    shutil.copy(DATA / "rules_realistic.test.yml", tmp_path)
    ok, output = run_rule_tests([tmp_path / "rules_realistic.test.yml"])
    assert ok, output
    assert "SUCCESS" in output


def test_rule_unit_test_failure_reports_the_alert(promtool, tmp_path):
    shutil.copy(DATA / "rules_realistic.yml", tmp_path)
    text = (DATA / "rules_realistic.test.yml").read_text()
    # the last test expects AssetWorkerDown with severity critical; expect warning instead
    head, sep, tail = text.rpartition("severity: critical")
    (tmp_path / "t.yml").write_text(head + "severity: warning" + tail)
    ok, output = run_rule_tests([tmp_path / "t.yml"])
    assert not ok
    assert "FAILED" in output
    assert "alertname: AssetWorkerDown" in output
    assert 'severity="warning"' in output


@pytest.mark.parametrize(
    "expr",
    [
        'sum by (service, env) (rate(http_requests_total{service="asset-worker"}[5m]))',
        'absent(up{job="asset-worker"} == 1)',
        "service:http_requests_errors:rate5m / service:http_requests:rate5m",
    ],
)
def test_promql_that_parses(expr):
    assert promql_errors(expr) is None


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("rate(up[5m)", "unexpected character inside brackets: ')'"),
        ("", "no expression found"),
        ('x{a=~"("}', "illegal regex"),
        ("topk(n, x)", "expected type scalar"),
    ],
)
def test_promql_that_does_not_parse(expr, message):
    err = promql_errors(expr)
    assert err is not None and message in err
