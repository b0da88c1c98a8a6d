"""Loki backend: ruler rules Grafana's LogQL parser accepts, "no such line" that fires on silence, exact matching."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from obsctl.verify.logql import check_logql
from obsctl.verify.promtool import test_rules

LOKI = "loki/asset-ws.rules.yml"


def _alerts(text: str) -> dict[str, dict]:
    doc = yaml.safe_load(text)
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"]}


def test_log_event_alerts_are_loki_rules(build, asset_ws):
    files = build(asset_ws, ["prometheus", "loki"])
    alerts = _alerts(files[LOKI])
    assert set(alerts) == {"WorkerStalled", "WorkerPersistentRefreshFailures"}
    prom = yaml.safe_load(files["prometheus/asset-ws.rules.yml"])
    assert not {"WorkerStalled", "WorkerPersistentRefreshFailures"} & {
        r.get("alert") for g in prom["groups"] for r in g["rules"]
    }
    stalled = alerts["WorkerStalled"]
    assert stalled["labels"] == {"service": "asset-ws", "severity": "P1", "team": "asset-platform"}
    assert stalled["annotations"]["runbook_url"] == "docs/ops-runbook.md"
    assert stalled["annotations"]["summary"] == "Worker stalled"
    summary = alerts["WorkerPersistentRefreshFailures"]["annotations"]["summary"]
    assert summary == "{{ $value }} refresh cycles completed with errors in 10m"  # verbatim


def test_every_expression_parses_as_a_metric_query(build, asset_ws, require_tool):
    require_tool("logql-check")
    exprs = [r["expr"] for r in _alerts(build(asset_ws, ["loki"])[LOKI]).values()]
    assert exprs
    for expr, result in zip(exprs, check_logql(exprs), strict=True):
        assert result.ok, expr
        assert result.is_metric, expr


def test_no_such_line_counts_silence_as_zero(build, asset_ws):
    expr = _alerts(build(asset_ws, ["loki"])[LOKI])["WorkerStalled"]["expr"]
    assert expr == (
        '(sum(count_over_time({service="asset-worker"} |= "refresh cycle completed" | json '
        '| msg="refresh cycle completed" [10m])) or vector(0)) == 0'
    )


def _standin(expr: str) -> str:
    """The LogQL alert with its log range aggregation replaced by the same aggregation over a metric: Loki
    evaluates everything around the log range (sum, or, vector, comparisons) with Prometheus' vector semantics."""
    out = re.sub(r"count_over_time\(\{.*?\}.*? \[(\w+)\]\)", r"count_over_time(log_lines[\1])", expr)
    assert out != expr and "{" not in out
    return out


def _fires(tmp_path: Path, expr: str, lines: str | None) -> bool:
    rules = {"groups": [{"name": "g", "rules": [{"alert": "Stalled", "expr": expr}]}]}
    (tmp_path / "r.yml").write_text(yaml.safe_dump(rules))
    series = [{"series": "log_lines", "values": lines}] if lines else []
    tests = {
        "rule_files": ["r.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "15m", "alertname": "Stalled", "exp_alerts": [{"exp_labels": {}}]}
                ],
            }
        ],
    }
    (tmp_path / "t.yml").write_text(yaml.safe_dump(tests))
    ok, _ = test_rules(tmp_path / "t.yml")
    return ok


def test_no_such_line_fires_when_there_are_no_lines(build, asset_ws, tmp_path, require_tool):
    require_tool("promtool")
    expr = _standin(_alerts(build(asset_ws, ["loki"])[LOKI])["WorkerStalled"]["expr"])
    assert _fires(tmp_path, expr, None), "silence must fire"
    assert not _fires(tmp_path, expr, "1x20"), "a stream with lines must stay quiet"
    # the trap this guards against: without `or vector(0)` silence gives no series and nothing fires
    naive = expr.replace(" or vector(0)", "")
    assert not _fires(tmp_path, naive, None)


# -- exact message matching -------------------------------------------------------------------------------------

_STAGE = re.compile(
    r'\s*(?:(?P<lf>\|=|\|~|!=|!~)\s*(?P<lfv>"(?:[^"\\]|\\.)*")'
    r"|\|\s*(?P<parser>json|logfmt)\b"
    r'|\|\s*(?P<label>[A-Za-z_]\w*)\s*(?P<op>=~|!~|!=|=)\s*(?P<lv>"(?:[^"\\]|\\.)*"))'
)


def _selects(selector: str, line: str) -> bool:
    """Loki's pipeline semantics for the stages obsctl emits: line filters, json/logfmt, label filters."""
    rest = selector[selector.index("}") + 1 :]
    labels: dict[str, str] = {}
    while rest.strip():
        m = _STAGE.match(rest)
        assert m, f"unexpected LogQL stage: {rest!r}"
        rest = rest[m.end() :]
        if m["lf"]:
            value = json.loads(m["lfv"])
            hit = value in line if m["lf"] in ("|=", "!=") else re.search(value, line) is not None
            if hit != (m["lf"] in ("|=", "|~")):
                return False
        elif m["parser"] == "json":
            labels.update({k: str(v) for k, v in json.loads(line).items()})
        elif m["parser"] == "logfmt":
            labels.update(dict(re.findall(r'(\w+)="?((?<=")[^"]*|[^\s"]*)"?', line)))
        else:
            value, have = json.loads(m["lv"]), labels.get(m["label"], "")
            hit = have == value if m["op"] in ("=", "!=") else re.fullmatch(value, have) is not None
            if hit != (m["op"] in ("=", "=~")):
                return False
    return True


def _selectors(text: str) -> dict[str, str]:
    return {
        name: re.search(r"count_over_time\((\{.*?) \[\w+\]\)", r["expr"])[1]
        for name, r in _alerts(text).items()
    }


def test_exact_message_match_json(build, asset_ws):
    sel = _selectors(build(asset_ws, ["loki"])[LOKI])
    ok = json.dumps({"level": "info", "msg": "refresh cycle completed"})
    with_errors = json.dumps({"level": "warn", "msg": "refresh cycle completed with errors"})
    assert _selects(sel["WorkerStalled"], ok)
    assert not _selects(sel["WorkerStalled"], with_errors)  # a substring filter alone would count this line
    assert _selects(sel["WorkerPersistentRefreshFailures"], with_errors)
    assert not _selects(sel["WorkerPersistentRefreshFailures"], ok)


def test_exact_message_match_logfmt_and_text(build, asset_ws, tmp_path):
    data = yaml.safe_load(asset_ws.read_text())
    for fmt, ok, bad in (
        (
            "logfmt",
            'level=info msg="refresh cycle completed"',
            'level=warn msg="refresh cycle completed with errors"',
        ),
        ("text", "refresh cycle completed", "refresh cycle completed with errors"),
    ):
        data["sources"]["logs"]["format"] = fmt
        spec = tmp_path / fmt / "obsctl.yaml"
        spec.parent.mkdir()
        spec.write_text(yaml.safe_dump(data, sort_keys=False))
        sel = _selectors(build(spec, ["loki"])[LOKI])
        assert _selects(sel["WorkerStalled"], ok), fmt
        assert not _selects(sel["WorkerStalled"], bad), fmt
        assert _selects(sel["WorkerPersistentRefreshFailures"], bad), fmt


def test_verify_rejects_log_queries_and_syntax_errors(tmp_path, require_tool):
    require_tool("logql-check")
    from obsctl.backends import Artifact
    from obsctl.backends.loki import verify

    text = yaml.safe_dump(
        {
            "groups": [
                {
                    "name": "g",
                    "rules": [
                        {"alert": "LogQuery", "expr": '{service="x"} |= "error"'},
                        {"alert": "Broken", "expr": "count_over_time({service=x}[5m])"},
                        {
                            "alert": "Fine",
                            "expr": '(sum(count_over_time({service="x"} |= "e" [5m])) or vector(0)) > 1',
                        },
                    ],
                }
            ]
        }
    )
    problems = verify([Artifact("loki/x.rules.yml", text)], tmp_path)
    assert len(problems) == 2, problems
    assert "rule LogQuery: a ruler expression must be a metric query" in str(problems[0])
    assert "rule Broken: LogQL syntax error" in str(problems[1])


def test_deterministic_with_header(build, asset_ws):
    first, second = build(asset_ws, ["loki"]), build(asset_ws, ["loki"])
    assert first == second
    assert first[LOKI].startswith("# Generated by obsctl from obsctl.yaml")
