"""The spec language: schema currency, starter spec, includes, environments, YAML 1.1 surprises, expressions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.durations import format_duration, parse_duration
from obsctl.expr import ast
from obsctl.expr.parser import ExprSyntaxError, parse
from obsctl.pipeline import check
from obsctl.schema import schema_text
from obsctl.yamlsource import load_text

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_is_current():
    committed = (ROOT / "specs" / "obsctl.schema.json").read_text()
    assert committed == schema_text(), "run `obsctl schema --out specs/obsctl.schema.json`"


def test_schema_command_prints_json():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "obsctl spec" and "service" in schema["required"]


def test_init_writes_a_spec_that_validates(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["init", "svc.yaml", "--service", "payments"]).exit_code == 0
    result = check(tmp_path / "svc.yaml", every_env=True)
    assert result.ok and not result.diagnostics, [str(d.message) for d in result.diagnostics]
    from obsctl.build import render

    artifacts, diags, _ = render(tmp_path / "svc.yaml", ["all"], None)
    assert not [d for d in diags if d.level == "error"], [d.message for d in diags]
    assert {a.path.split("/")[0] for a in artifacts} == {"prometheus", "alertmanager", "grafana", "datadog"}
    assert runner.invoke(app, ["init", "svc.yaml"]).exit_code == 1  # no overwrite without --force


def test_yaml_reads_what_users_mean():
    data, smap = load_text(
        "on: yes\ntime: 17:00\nmode: 0755\nn: 12\nf: 0.5\nb: true\nz: null\nd: 2024-01-01\n", "x.yaml"
    )
    assert data == {
        "on": "yes",
        "time": "17:00",
        "mode": "0755",
        "n": 12,
        "f": 0.5,
        "b": True,
        "z": None,
        "d": "2024-01-01",
    }
    assert smap.values[("time",)].line == 2 and smap.values[("time",)].column == 7


def test_yaml_merge_keys():
    data, _ = load_text("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n", "x.yaml")
    assert data["x"] == {"a": 1, "b": 3}


@pytest.mark.parametrize(
    "text,seconds", [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1d", 86400), ("0", 0), ("250ms", 0.25)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "1.5m", "5 m", "1m1h", "m", "-5m"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration():
    assert [format_duration(s) for s in (300, 5400, 86400, 0.5)] == ["5m", "1h30m", "1d", "500ms"]


def test_seed_expression_parses_as_written():
    node = parse("delta(api_requests_errors_total) / max(delta(api_requests_total), 1)")
    assert isinstance(node, ast.BinOp) and node.op == "/"
    assert node.right.func == "max" and node.right.args[1].value == 1


def test_positions_and_precedence():
    node = parse("a + b * c >= 2 and d")
    assert node.op == "and"
    cmp_ = node.left
    assert cmp_.op == ">=" and cmp_.left.op == "+" and cmp_.left.right.op == "*"
    assert node.right.pos.column == 20


def test_prefix_and_postfix_grouping():
    a = parse("sum by (route) (rate(x[5m]))")
    b = parse("sum(rate(x[5m])) by (route)")
    assert a == b and a.by == ["route"]


def test_syntax_error_position():
    with pytest.raises(ExprSyntaxError) as e:
        parse("rate(x[5m]) >")
    assert e.value.line == 1 and e.value.column == 14


@pytest.mark.parametrize(
    "text,value",
    [
        (r'x{a="\u00e9"}', "é"),
        (r'x{a="\u4e2d"}', "中"),
        (r'x{a="\U0001F600"}', "😀"),
        ('x{a="é中"}', "é中"),
        (r'x{a="\xc3\xa9\101"}', "éA"),
        (r'x{a="\a\b\f\n\r\t\v\\\""}', '\a\b\f\n\r\t\v\\"'),
        (r"""x{a='\'"'}""", "'\""),
        (r'x{a=~"\\d+"}', r"\d+"),
    ],
)
def test_strings_unquote_like_promql(text, value):
    assert parse(text).matchers[0].value == value


@pytest.mark.parametrize(
    "text,column",
    [
        (r'delta(reqs{code="\x"}) > 1', 17),
        (r'x{a="\N{BULLET}"}', 5),
        (r'x{a="\8"}', 5),
        (r'x{a="\d"}', 5),
        (r'x{a="\'"}', 5),
        (r"x{a='\"'}", 5),
        (r'x{a="\ud800"}', 5),
        (r'x{a="\xe9"}', 5),
        (r'x{a="\400"}', 5),
        (r'x{a="\u12"}', 5),
        ('x{a="a\nb"}', 5),
        (r'label_replace(x, "a", "\q", "b", "c")', 23),
    ],
)
def test_bad_string_escapes_are_syntax_errors(text, column):
    with pytest.raises(ExprSyntaxError) as e:
        parse(text)
    assert (e.value.line, e.value.column) == (1, column)


def test_bad_escape_is_reported_at_file_line_col(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _spec(
        tmp_path,
        BASE.replace(
            "when: delta(errors_total) > $max_errors", "when: 'delta(errors_total{code=\"\\x\"}) > 1'"
        ),
    )
    result = CliRunner().invoke(app, ["validate", "--format", "json", "spec.yaml"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception  # not a crash
    d = json.loads(result.stdout)[0]
    assert (d["code"], d["file"], d["line"], d["column"]) == ("OBS200", "spec.yaml", 9, 36)
    assert "\\x" in d["message"]


def _spec(tmp_path, text, name="spec.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


BASE = """\
service: demo
runbook: https://runbooks.example.org/demo
vars: {max_errors: 10}
metrics:
  errors_total: {kind: counter}
alerts:
  Errors:
    severity: page
    when: delta(errors_total) > $max_errors
routing:
  receivers: {oncall: {webhook: {url: "http://127.0.0.1:9/x"}}}
  severities: {page: [oncall]}
environments:
  prod:
    vars: {max_errors: 100}
    alerts:
      Errors: {for: 10m}
"""


def test_environment_overrides_merge(tmp_path):
    path = _spec(tmp_path, BASE)
    base = check(path).checked[0].spec
    prod = check(path, "prod").checked[0].spec
    assert base.vars["max_errors"] == 10 and prod.vars["max_errors"] == 100
    assert base.alerts["Errors"].for_ == "0s" and prod.alerts["Errors"].for_ == "10m"
    assert prod.alerts["Errors"].when == base.alerts["Errors"].when


def test_validate_checks_every_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _spec(tmp_path, BASE.replace("Errors: {for: 10m}", "Errors: {severity: pager}"))
    result = CliRunner().invoke(app, ["validate", "--format", "json", "spec.yaml"])
    assert result.exit_code == 1
    d = json.loads(result.stdout)[0]
    assert d["code"] == "OBS301" and "(environment prod)" in d["message"] and d["line"] == 17


def test_include_merges_and_keeps_positions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _spec(
        tmp_path,
        "routing:\n  receivers: {oncall: {webhook: {url: 'http://127.0.0.1:9/x'}}}\n"
        "  severities: {page: [oncall], ticket: [oncal]}\n",
        "shared.yaml",
    )
    _spec(
        tmp_path,
        "include: [shared.yaml]\nservice: demo\nrunbook: x\nmetrics: {e_total: {kind: counter}}\n"
        "alerts:\n  E: {severity: page, when: rate(e_total) > 1}\n",
    )
    result = CliRunner().invoke(app, ["validate", "--format", "json", "spec.yaml"])
    assert result.exit_code == 1
    d = json.loads(result.stdout)[0]
    assert (d["code"], d["file"], d["line"]) == ("OBS310", "shared.yaml", 3)


def test_warnings_do_not_fail_unless_strict(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _spec(tmp_path, BASE.replace("runbook: https://runbooks.example.org/demo\n", ""))
    runner = CliRunner()
    assert runner.invoke(app, ["validate", "spec.yaml"]).exit_code == 0
    assert runner.invoke(app, ["validate", "--strict", "spec.yaml"]).exit_code == 1


def test_every_diagnostic_code_is_documented():
    import re

    used = set()
    for path in (ROOT / "obsctl").rglob("*.py"):
        used |= set(re.findall(r'"(OBS\d{3})"', path.read_text()))
    documented = set(re.findall(r"\| (OBS\d{3}) \|", (ROOT / "docs" / "diagnostics.md").read_text()))
    assert used, "no codes found"
    assert used <= documented, f"undocumented: {sorted(used - documented)}"


def test_the_readme_tour_validates_and_builds(tmp_path):
    import re

    text = (ROOT / "README.md").read_text()
    tour = re.search(r"```yaml\n(service: asset-ws.*?)```", text, re.S).group(1)
    path = tmp_path / "tour.yaml"
    path.write_text(tour)
    result = check(path, every_env=True)
    assert result.ok, [f"{d.location}: {d.message}" for d in result.diagnostics]
    from obsctl.build import render

    for env in (None, "prod"):
        artifacts, diags, _ = render(path, ["all"], env)
        assert artifacts and not [d for d in diags if d.level == "error"], [d.message for d in diags]


def test_wheels_carry_templates_specs_and_the_grammar():
    # obsctl/templates and obsctl/specs link to the repository's folders so a wheel installs them in the package.
    import tomllib

    from obsctl.resources import resource_dir

    for name in ("templates", "specs"):
        link = ROOT / "obsctl" / name
        assert link.is_symlink() and link.resolve() == (ROOT / name).resolve()
        assert resource_dir(name).resolve() == (ROOT / name).resolve()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "obsctl"
    ]
    assert {"expr/grammar.lark", "templates/**/*", "specs/**/*"} <= set(data)
