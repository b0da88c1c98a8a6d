"""`obsctl import` as a user meets it: bad input is one error naming the file (and line, column), exit 1, no
traceback and no file written; the spec written validates; the report and the exit code say what was carried
over; secrets in alertmanager.yml never reach the spec; the translator's one decision keeps meaning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.importers import promql as pq
from obsctl.pipeline import check

runner = CliRunner()

RULES = """\
groups:
  - name: api
    rules:
      - record: job:api_errors:rate5m
        expr: sum by (job) (rate(api_errors_total{job="api"}[5m]))
      - record: cluster:api_errors:sum
        expr: sum(job:api_errors:rate5m)
      - alert: ApiErrors
        expr: sum by (job) (rate(api_errors_total{job="api"}[5m])) > 1
        for: 5m
        labels: {severity: page}
        annotations: {summary: "errors on {{ $labels.job }}", dashboard: "https://grafana.example.org/d/api"}
      - alert: ApiDown
        expr: up{job="api"} == 0
        labels: {severity: page}
        annotations: {summary: down}
"""


def _run(*args: str) -> object:
    return runner.invoke(app, ["import", *args], catch_exceptions=False)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("kind", "name", "text", "code", "where"),
    [
        ("prometheus", "rules.yml", "groups: [\n  {name: a,\n", "OBS820", ":3:1:"),
        ("prometheus", "rules.yml", "just: text\n", "OBS821", ":1:1:"),
        ("prometheus", "rules.yml", "groups:\n  - name: a\n    rules:\n      - expr: up\n", "OBS821", ":4:"),
        (
            "prometheus",
            "rules.yml",
            "groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: sum(\n",
            "OBS823",
            ":4:",
        ),
        ("grafana", "d.json", '{"title": "old", "schemaVersion": 12, "rows": []}', "OBS822", ":1:1:"),
        ("grafana", "d.json", '{"title": ', "OBS820", ":1:"),
        ("alertmanager", "am.yml", "receivers: []\n", "OBS821", ":1:1:"),
    ],
    ids=["not-yaml", "not-rules", "rule-without-name", "bad-promql", "old-dashboard", "not-json", "no-route"],
)
def test_bad_input_is_one_error_with_the_file_and_no_spec(
    tmp_path: Path, kind: str, name: str, text: str, code: str, where: str
) -> None:
    src = _write(tmp_path, name, text)
    out = tmp_path / "spec.yaml"
    result = _run(kind, str(src), "--out", str(out))
    assert result.exit_code == 1
    assert code in result.output and f"{src}{where}" in result.output.replace("\n", ""), result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_prometheus_import_writes_a_spec_that_validates_and_reports(tmp_path: Path) -> None:
    src = _write(tmp_path, "rules.yml", RULES)
    out = tmp_path / "spec.yaml"
    result = _run("prometheus", str(src), "--out", str(out), "--service", "api", "--format", "json")
    assert result.exit_code == 1  # something was reported
    report = json.loads(result.output)
    # `up == 0` outside an aggregation means what PromQL means in obsctl's language, so it is translated
    assert report["counts"][str(src)] == {"items": 4, "translated": 3, "verbatim": 1}
    whys = {(f["item"], f["what"]): f["why"] for f in report["findings"]}
    assert ("alert ApiDown (group api)", "verbatim") not in whys
    assert "cannot keep a record's name" in whys[("record job:api_errors:rate5m (group api)", "changed")]
    assert (
        "reads the recording rule job:api_errors:rate5m"
        in whys[("record cluster:api_errors:sum (group api)", "verbatim")]
    )
    assert check(out).ok
    spec = out.read_text()
    assert 'when: sum by (job) (rate(api_errors_total{job="api"}[5m])) > 1' in spec
    assert 'when: up{job="api"} == 0' in spec
    assert "api_errors_total:\n    kind: counter\n    labels:\n    - job" in spec


def test_a_translation_validate_refuses_is_kept_verbatim_not_an_error(tmp_path: Path) -> None:
    """faithful() lets vector matching through; a join obsctl's label inference finds many-to-many (OBS272) used
    to fail the whole import (OBS824), and now that one rule stays overrides.promql."""
    src = _write(
        tmp_path,
        "rules.yml",
        """\
groups:
  - name: g
    rules:
      - alert: Join
        expr: sum by (a, b) (x) / on (a) sum by (a, c) (y) > 1
        labels: {severity: page}
        annotations: {summary: s}
      - alert: Fine
        expr: x > 1
        labels: {severity: page}
        annotations: {summary: s}
""",
    )
    out = tmp_path / "spec.yaml"
    result = _run("prometheus", str(src), "--out", str(out), "--service", "s", "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["counts"][str(src)] == {"items": 2, "translated": 1, "verbatim": 1}
    whys = {(f["item"], f["what"]): f["why"] for f in report["findings"]}
    assert "obsctl refuses its translation: OBS272" in whys[("alert Join (group g)", "verbatim")]
    assert check(out).ok
    assert "when: x > 1" in out.read_text()


def test_an_existing_spec_is_not_replaced_without_force(tmp_path: Path) -> None:
    src = _write(tmp_path, "rules.yml", RULES)
    out = _write(tmp_path, "spec.yaml", "mine\n")
    assert _run("prometheus", str(src), "--out", str(out)).exit_code == 2
    assert out.read_text() == "mine\n"


def test_alertmanager_inline_secrets_are_reported_and_never_copied(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        "alertmanager.yml",
        """\
global:
  slack_api_url: https://hooks.slack.com/services/T000/B000/XXXSECRETXXX
route:
  receiver: team
receivers:
  - name: team
    slack_configs:
      - api_url: https://hooks.slack.com/services/T000/B000/YYYSECRETYYY
        channel: '#team'
  - name: pd
    pagerduty_configs:
      - routing_key_file: /etc/alertmanager/pd
  - name: hook
    webhook_configs:
      - url: https://hooks.example.org/alert?token=ZZZSECRETZZZ
""",
    )
    out = tmp_path / "spec.yaml"
    result = _run("alertmanager", str(src), "--out", str(out))
    assert result.exit_code == 1
    spec = out.read_text()
    for secret in ("XXXSECRETXXX", "YYYSECRETYYY", "ZZZSECRETZZZ"):
        assert secret not in spec and secret not in result.output
    assert "routing_key_file: /etc/alertmanager/pd" in spec
    assert "global.slack_api_url: dropped: an inline secret" in result.output
    assert "receiver team: dropped: slack api_url is an inline secret" in result.output
    assert check(out).ok


@pytest.mark.parametrize(
    ("expr", "said"),
    [
        ("sum(rate(x_total[5m])) > 1", True),
        ("sum by (a) (x) / sum by (a) (y)", True),
        ("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))", True),
        ("rate(x_total[5m]) > 1", True),  # no implicit sum: it means what PromQL means
        ("x > 1", True),
        ("sum(x) / on() sum(y)", True),  # vector matching
        ("x * on (a) group_left (b) y", True),
        ("sum(x) > bool 1", True),
        ("quantile(0.9, sum by (a) (x))", True),  # quantile over series
        ("max_over_time(sum(x)[5m:1m])", True),  # subquery
        ('sum(label_replace(x, "a", "$1", "b", "(.*)"))', True),
        ("sum(delta(x_total[5m]))", False),  # obsctl reads delta of a counter as increase
        ("sum(rate(x[5m]))", False),  # rate() of what the catalog holds as a gauge
        ("a:b:c > 1", False),  # a recording rule's colon name: the catalog cannot hold it
        ('sum({__name__=~"x|y"})', False),  # no metric name
        ("histogram_quantile(0.9, x)", False),  # not a histogram's buckets
        ("z > 1", False),  # not in the catalog
    ],
)
def test_faithful_says_yes_only_where_obsctl_means_the_same(expr: str, said: bool) -> None:
    """The language reads PromQL as PromQL does, so faithful() refuses only what it cannot spell or hold."""
    node = pq.parse(expr)
    ctx = pq.Context(kinds={"x": "gauge", "y": "gauge", "x_total": "counter", "h_bucket": "part"})
    assert (pq.faithful(node, ctx) is None) is said


def test_normalise_ignores_spelling_but_not_meaning() -> None:
    assert pq.normalise('sum by (a,b) (x{c="1",d="2"}) * 100') == pq.normalise(
        '(sum by(b, a)(x{d="2", c="1"}))*1e2'
    )
    assert pq.normalise("sum(rate(x[1d]))") == pq.normalise("sum(rate(x[24h]))")
    assert pq.normalise("a / b") != pq.normalise("a / on() b")
    assert pq.normalise("a - (b - c)") != pq.normalise("a - b - c")
