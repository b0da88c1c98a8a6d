"""`obsctl import` of hostile or mistyped files: one error naming the file, exit 1, in seconds and little memory;
never a traceback or a crash of the PromQL parser (it recursed per operator in Rust and crashed at 5,000)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.importers import promql as pq
from obsctl.importers import yamlin

runner = CliRunner()


def _import(tmp_path: Path, kind: str, name: str, text: str, *extra: str) -> object:
    src = tmp_path / name
    src.write_text(text)
    return runner.invoke(app, ["import", kind, str(src), "-o", str(tmp_path / "out.yaml"), *extra])


def _refused(result: object, code: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert code in result.output, result.output


def _rule(expr: str) -> str:
    return "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: " + json.dumps(expr) + "\n"


@pytest.mark.parametrize(
    "expr",
    [
        "-" * 20_000 + "up",
        " + ".join(["up"] * 20_000),
        "(" * 5_000 + "up" + ")" * 5_000,
        " + ".join(["up"] * (pq.MAX_EXPR_OPERATORS + 2)),  # one operator past the limit
    ],
    ids=["unary-20000", "sum-20000", "parens-5000", "operators-over-the-limit"],
)
def test_expressions_the_parser_cannot_survive_are_obs823(tmp_path, expr):
    _refused(_import(tmp_path, "prometheus", "rules.yaml", _rule(expr)), "OBS823")


def test_expressions_at_the_operator_limit_still_import(tmp_path):
    expr = " + ".join(["up"] * (pq.MAX_EXPR_OPERATORS // 2)) + " > 1"
    result = _import(tmp_path, "prometheus", "rules.yaml", _rule(expr))
    assert "OBS823" not in result.output, result.output


def test_an_alias_bomb_is_obs820_before_it_expands(tmp_path):
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
    )
    _refused(_import(tmp_path, "prometheus", "rules.yaml", bomb + "groups: *a8\n"), "OBS820")


def test_a_recursive_alias_is_obs820(tmp_path):
    _refused(_import(tmp_path, "prometheus", "rules.yaml", "groups: &g [*g]\n"), "OBS820")


def test_the_expansion_limit_is_counted_without_expanding():
    text = (
        "a0: &a0 ["
        + ", ".join(["x"] * 10)
        + "]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 30))
    )  # 10^30 nodes
    with pytest.raises(yamlin.ImportFailure, match="expand to over"):
        yamlin.load_documents(Path("bomb.yaml"), text)


def test_deep_nesting_is_obs820_not_a_crash(tmp_path):
    src = tmp_path / "deep.yaml"
    src.write_text("groups: " + "[" * 60_000 + "]" * 60_000 + "\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from obsctl.cli import main; main()", "import", "prometheus", str(src)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "OBS820" in proc.stderr + proc.stdout, proc.stderr


@pytest.mark.parametrize(
    "kind, name, text",
    [
        ("prometheus", "r.yaml", "groups: [{name: g, rules: [{alert: A, expr: up, labels: [a, b]}]}]\n"),
        ("prometheus", "r.yaml", "kind: 5\ngroups: []\n"),
        ("grafana", "d.json", json.dumps({"title": "x", "schemaVersion": 39, "panels": 5})),
        ("grafana", "d.json", '{"a":' * 5000 + "1" + "}" * 5000),
        ("alertmanager", "am.yml", "route: {receiver: r, routes: 5}\nreceivers: [{name: r}]\n"),
        ("alertmanager", "am.yml", "route: {receiver: r}\nreceivers: 5\n"),
        (
            "datadog",
            "m.json",
            json.dumps([{"type": "metric alert", "query": "avg(last_5m):x{*} > 1", "options": 5}]),
        ),
        ("openslo", "s.yaml", "apiVersion: openslo/v1\nkind: SLO\nmetadata: 5\nspec: {}\n"),
    ],
)
def test_values_of_the_wrong_type_are_an_error_not_a_traceback(tmp_path, kind, name, text):
    result = _import(tmp_path, kind, name, text)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert "OBS8" in result.output and not (tmp_path / "out.yaml").exists(), result.output


def test_writing_the_spec_where_it_cannot_go_is_an_error(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(_rule("up == 0"))
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    for out, code in ((tmp_path / "adir", 2), (tmp_path / "afile" / "x.yaml", 1)):
        result = runner.invoke(app, ["import", "prometheus", str(rules), "-o", str(out), "--force"])
        assert result.exit_code == code and "error:" in result.output, result.output
        assert isinstance(result.exception, SystemExit | None), result.exception


def test_a_duplicate_key_is_obs820_as_prometheus_refuses_it(tmp_path):
    text = (
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        expr: up == 1\n"
    )
    _refused(_import(tmp_path, "prometheus", "rules.yaml", text), "OBS820")


@pytest.mark.parametrize("setting", ["for: 5", "for: 2001-12-14", "keep_firing_for: [1]"])
def test_a_rule_duration_that_is_not_one_is_obs821_at_its_rule(tmp_path, setting):
    text = f"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        {setting}\n"
    result = _import(tmp_path, "prometheus", "rules.yaml", text)
    _refused(result, "OBS821")
    assert "rules.yaml:4:" in result.output


def test_a_utf8_metric_name_is_kept_verbatim(tmp_path):
    """`{"my.metric", job="x"}` (Prometheus 3) put `__name__` into sources.metrics.selector: OBS824."""
    result = _import(tmp_path, "prometheus", "rules.yaml", _rule('{"my.metric", job="x"} == 0'))
    assert "OBS824" not in result.output and "verbatim" in result.output, result.output
    assert "__name__" not in (tmp_path / "out.yaml").read_text().split("overrides")[0]


@pytest.mark.parametrize(
    "defaults, dropped",
    [
        ({"thresholds": {"steps": {"a": 1}}}, "threshold steps that are not a list"),
        (
            {"thresholds": {"steps": [{"value": "high", "color": "red"}]}},
            "threshold steps without a number value",
        ),
        ({"decimals": 10**30}, "decimals"),
        ({"min": float("nan")}, "min: nan"),
    ],
)
def test_grafana_settings_that_cannot_be_kept_are_reported_not_dropped_silently(tmp_path, defaults, dropped):
    panel = {
        "type": "timeseries",
        "title": "P",
        "targets": [{"expr": "up"}],
        "fieldConfig": {"defaults": defaults},
    }
    dash = {"title": "T", "uid": "t", "schemaVersion": 39, "panels": [panel]}
    result = _import(tmp_path, "grafana", "d.json", json.dumps(dash))
    assert result.exit_code == 1 and "dropped: " + dropped in result.output, result.output


@pytest.mark.parametrize("name", ["", "{a: 1}", "[a]"])
def test_an_alert_without_a_name_is_obs821(tmp_path, name):
    """`alert:` with no value was imported as an alert named "None"."""
    text = f"groups:\n  - name: g\n    rules:\n      - alert: {name}\n        expr: up == 0\n"
    _refused(_import(tmp_path, "prometheus", "rules.yaml", text), "OBS821")
