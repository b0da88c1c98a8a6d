"""Valid PromQL means what PromQL means (issue 10, items 2, 3 and 5): nothing is aggregated that the expression
does not aggregate; vector matching, `bool`, keywords in any case, chained comparisons, subqueries, `@` and the
functions real rules use compile to PromQL that promtool accepts; Datadog refuses what it cannot say, by name."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from obsctl.compile.datadog import Datadog
from obsctl.compile.logql import LogQL
from obsctl.compile.promql import CompileError, PromQL
from obsctl.expr import ast
from obsctl.expr.parser import ExprSyntaxError, parse
from obsctl.pipeline import check

SPEC = """\
service: node
runbook: https://runbooks.example.org/node
metrics:
  node_disk_io_time_seconds_total: {kind: counter, labels: [instance, device]}
  flink_jobmanager_numRunningJobs: {kind: gauge, labels: [instance]}
  node_filesystem_avail_bytes: {kind: gauge, labels: [instance, mountpoint]}
  node_filesystem_size_bytes: {kind: gauge, labels: [instance, mountpoint]}
  kube_pod_info: {kind: gauge, labels: [pod, node]}
  errors_total: {kind: counter, labels: [provider, reason]}
  requests_total: {kind: counter, labels: [provider]}
alerts:
  DiskBusy: {severity: page, when: "rate(node_disk_io_time_seconds_total[5m]) > 0.8"}
  FlinkDown: {severity: page, when: "flink_jobmanager_numRunningJobs == 0"}
"""


@pytest.fixture
def compiled(tmp_path):
    path = tmp_path / "obsctl.yaml"
    path.write_text(SPEC)
    result = check(path)
    assert result.ok, [d.message for d in result.diagnostics]
    c = result.checked[0]
    pq = PromQL(c.spec, c.analysis.refs, c.analysis.exprs)
    dd = Datadog(c.spec, c.analysis.refs, c.analysis.exprs)
    return c, pq, dd


def _check_rules(promtool: str, tmp_path, exprs: list[str]) -> None:
    rules = {
        "groups": [{"name": "t", "rules": [{"record": f"r{i}", "expr": e} for i, e in enumerate(exprs)]}]
    }
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules))
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_per_series_condition_stays_per_series(compiled):
    """Issue 10's defect: `rate(x[5m]) > 0.8` and `x == 0` compiled to `sum(...)`, so one healthy instance hid a
    dead one. They now compile to the same PromQL, keeping every instance."""
    c, pq, _ = compiled
    assert (
        pq.compile(c.analysis.exprs[("alerts", "DiskBusy", "when")])
        == "rate(node_disk_io_time_seconds_total[5m]) > 0.8"
    )
    assert (
        pq.compile(c.analysis.exprs[("alerts", "FlinkDown", "when")])
        == "flink_jobmanager_numRunningJobs == 0"
    )


def test_delta_of_a_counter_is_increase_and_keeps_labels(compiled):
    c, pq, _ = compiled
    assert pq.compile(parse("delta(errors_total)")) == "increase(errors_total[5m])"
    assert (
        pq.compile(parse("delta(node_filesystem_avail_bytes[1h])"))
        == "delta(node_filesystem_avail_bytes[1h])"
    )


CASES = [
    # (obsctl text, PromQL it compiles to)
    (
        "sum by (provider) (delta(errors_total)) / on (provider) group_left sum(delta(requests_total))",
        "sum by (provider) (increase(errors_total[5m])) / on (provider) group_left sum(increase(requests_total[5m]))",
    ),
    (
        "rate(errors_total[5m]) / ignoring (reason) group_left rate(requests_total[5m])",
        "rate(errors_total[5m]) / ignoring (reason) group_left rate(requests_total[5m])",
    ),
    (
        "node_filesystem_avail_bytes * on (instance) group_left (node) kube_pod_info",
        "node_filesystem_avail_bytes * on (instance) group_left (node) kube_pod_info",
    ),
    (
        "kube_pod_info * ON(node) GROUP_RIGHT(pod) node_filesystem_size_bytes",
        "kube_pod_info * on (node) group_right (pod) node_filesystem_size_bytes",
    ),
    ("node_filesystem_avail_bytes > bool 0", "node_filesystem_avail_bytes > bool 0"),
    # a bare group_left before a bracket would take the bracket as its label list
    (
        "node_filesystem_avail_bytes / on (instance) group_left () (node_filesystem_size_bytes + 1)",
        "node_filesystem_avail_bytes / on (instance) group_left () (node_filesystem_size_bytes + 1)",
    ),
    (
        "SUM(rate(errors_total[5m])) BY (provider) AND ON(provider) sum by (provider) (rate(requests_total[5m])) > 1",
        "sum by (provider) (rate(errors_total[5m])) and on (provider) sum by (provider) (rate(requests_total[5m])) > 1",
    ),
    (
        "node_filesystem_avail_bytes unless on (instance) kube_pod_info",
        "node_filesystem_avail_bytes unless on (instance) kube_pod_info",
    ),
    ("node_filesystem_avail_bytes > 1 < 10", "node_filesystem_avail_bytes > 1 < 10"),
    ("time() - vector(1)", "time() - vector(1)"),
    ("scalar(sum(node_filesystem_size_bytes)) * 2", "scalar(sum(node_filesystem_size_bytes)) * 2"),
    ("last_over_time(node_filesystem_avail_bytes[10m])", "last_over_time(node_filesystem_avail_bytes[10m])"),
    (
        "predict_linear(node_filesystem_avail_bytes[6h], 4 * 3600) < 0",
        "predict_linear(node_filesystem_avail_bytes[6h], 4 * 3600) < 0",
    ),
    (
        "quantile_over_time(0.9, node_filesystem_avail_bytes[1h])",
        "quantile_over_time(0.9, node_filesystem_avail_bytes[1h])",
    ),
    (
        'label_replace(kube_pod_info, "host", "$1", "node", "(.*)")',
        'label_replace(kube_pod_info, "host", "$1", "node", "(.*)")',
    ),
    (
        'count_values by (instance) ("v", node_filesystem_size_bytes)',
        'count_values by (instance) ("v", node_filesystem_size_bytes)',
    ),
    (
        "topk by (instance) (1, node_filesystem_avail_bytes)",
        "topk by (instance) (1, node_filesystem_avail_bytes)",
    ),
    ("bottomk(3, node_filesystem_avail_bytes)", "bottomk(3, node_filesystem_avail_bytes)"),
    (
        "absent_over_time(flink_jobmanager_numRunningJobs[10m])",
        "absent_over_time(flink_jobmanager_numRunningJobs[10m])",
    ),
    ("clamp(node_filesystem_avail_bytes, 0, 1)", "clamp(node_filesystem_avail_bytes, 0, 1)"),
    ("clamp_max(node_filesystem_avail_bytes, 1)", "clamp_max(node_filesystem_avail_bytes, 1)"),
    ("round(node_filesystem_avail_bytes, 0.1)", "round(node_filesystem_avail_bytes, 0.1)"),
    ("max_over_time(rate(errors_total[5m])[1h:5m])", "max_over_time(rate(errors_total[5m])[1h:5m])"),
    (
        "avg_over_time((node_filesystem_avail_bytes / node_filesystem_size_bytes)[1h:])",
        "avg_over_time((node_filesystem_avail_bytes / node_filesystem_size_bytes)[1h:])",
    ),
    (
        "max_over_time(flink_jobmanager_numRunningJobs[30m:1m] offset 1h)",
        "max_over_time(flink_jobmanager_numRunningJobs[30m:1m] offset 1h)",
    ),
    ("flink_jobmanager_numRunningJobs @ 1700000000", "flink_jobmanager_numRunningJobs @ 1700000000"),
    ("rate(errors_total[5m] @ end())", "rate(errors_total[5m] @ end())"),
    (
        "stddev(node_filesystem_avail_bytes) > 0 or group(kube_pod_info)",
        "stddev(node_filesystem_avail_bytes) > 0 or group(kube_pod_info)",
    ),
    ("-2 ^ 2 ^ node_filesystem_avail_bytes", "-(2 ^ 2 ^ node_filesystem_avail_bytes)"),
]


@pytest.mark.parametrize("text,promql", CASES, ids=[c[0][:40] for c in CASES])
def test_compiles_as_promql_and_promtool_accepts_it(compiled, tmp_path, promtool, text, promql):
    c, pq, _ = compiled
    out = pq.compile(parse(text))
    assert out == promql
    _check_rules(promtool, tmp_path, [out])


def test_matching_parses_into_the_tree():
    node = parse("a / ignoring (reason) group_left (x, y) b")
    assert node.matching == ast.Matching(on=False, labels=["reason"], group="left", include=["x", "y"])
    assert parse("a > BOOL 1").return_bool
    chained = parse("a > b < c")
    assert chained.op == "<" and chained.left.op == ">"


@pytest.mark.parametrize(
    "text,column", [("a offset 1m offset 2m", 13), ("a @ soon()", 5), ("a / on(x) group_left(y", 23)]
)
def test_bad_modifiers_are_syntax_errors_at_their_column(text, column):
    with pytest.raises(ExprSyntaxError) as e:
        parse(text)
    assert e.value.column == column


@pytest.mark.parametrize(
    "text,named",
    [
        (
            "rate(errors_total[5m]) / ignoring (reason) group_left rate(requests_total[5m])",
            "ignoring(reason) group_left",
        ),
        (
            "sum by (provider) (rate(errors_total[5m])) / on () group_left sum(rate(requests_total[5m]))",
            "on() group_left",
        ),
        ("max_over_time(rate(errors_total[5m])[1h:5m])", "subquery"),
        ("rate(errors_total[5m] @ end())", "@ end()"),
    ],
)
def test_datadog_refuses_what_it_cannot_say_by_name(compiled, text, named):
    _, _, dd = compiled
    with pytest.raises(CompileError) as e:
        dd.formula(parse(text))
    assert named in str(e.value)


def test_datadog_says_matching_on_the_labels_both_sides_group_by(compiled):
    """One query per provider on each side: Datadog joins formula queries by their group tags, so `on (provider)`
    over two `sum by (provider)` is what Datadog does anyway."""
    _, _, dd = compiled
    text = dd.formula(
        parse(
            "sum by (provider) (rate(errors_total[5m])) / on (provider) "
            "sum by (provider) (rate(requests_total[5m]))"
        )
    ).inline()
    assert text.count(" by {provider}") == 2 and " / " in text


def test_logql_keeps_vector_matching(tmp_path, require_tool):
    path = tmp_path / "obsctl.yaml"
    path.write_text(
        SPEC + "sources:\n  logs: {type: loki, format: json}\nevents:\n"
        "  boom: {message: boom, stream: {app: a}}\n  bang: {message: bang, stream: {app: a}}\n"
    )
    c = check(path).checked[0]
    lq = LogQL(c.spec, c.analysis.refs)
    outs = [
        lq.compile(parse(t))
        for t in (
            "count(boom, 5m) > on () group_left count(bang, 5m)",
            "count(boom, 5m) / ignoring () count(bang, 5m) > bool 1",
        )
    ]
    assert " > on () group_left () (" in outs[0] and " / ignoring () " in outs[1] and " > bool 1" in outs[1]
    require_tool("logql-check")
    from obsctl.verify.logql import check_logql

    assert [r.ok for r in check_logql(outs)] == [True, True], outs


@pytest.mark.parametrize(
    "text,code",
    [
        (
            "flink_jobmanager_numRunningJobs and on (instance) group_left flink_jobmanager_numRunningJobs",
            "OBS250",
        ),
        ("flink_jobmanager_numRunningJobs > on (instance) 1", "OBS251"),
        ("1 > 2", "OBS252"),
    ],
)
def test_what_validate_refuses_promtool_refuses_too(tmp_path, promtool, text, code):
    """OBS250-OBS252 say at validate what promtool would say at load time: the compiled rule is invalid."""
    path = tmp_path / "obsctl.yaml"
    path.write_text(SPEC + f"  Bad: {{severity: page, when: '{text}'}}\n")
    result = check(path)
    assert [d.code for d in result.diagnostics if d.level == "error"] == [code]
    # the spec has no selector, so the PromQL obsctl would write is the text itself
    rules = {"groups": [{"name": "t", "rules": [{"alert": "Bad", "expr": text}]}]}
    (tmp_path / "r.yml").write_text(yaml.safe_dump(rules))
    proc = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "r.yml")], capture_output=True, text=True
    )
    assert proc.returncode != 0, proc.stdout


def test_a_subquery_over_log_events_is_refused_at_validate(tmp_path):
    path = tmp_path / "obsctl.yaml"
    path.write_text(
        SPEC + "  Logs: {severity: page, when: 'max_over_time(count(boom, 5m)[1h:5m]) > 1'}\n"
        "sources:\n  logs: {type: loki, format: json}\nevents:\n  boom: {message: boom, stream: {app: a}}\n"
    )
    assert "OBS253" in [d.code for d in check(path).diagnostics]


def test_logql_refuses_at_by_name(tmp_path):
    """Dropping `@` silently would count the wrong lines: LogQL has no such modifier."""
    path = tmp_path / "obsctl.yaml"
    path.write_text(
        SPEC
        + "sources:\n  logs: {type: loki, format: json}\nevents:\n  boom: {message: boom, stream: {app: a}}\n"
    )
    c = check(path).checked[0]
    with pytest.raises(CompileError, match="@ 100"):
        LogQL(c.spec, c.analysis.refs).compile(parse("count(boom @ 100, 5m)"))


def test_quote_is_json_dumps_without_an_encoder_per_call(monkeypatch):
    """quote() runs for every matcher of every rule: the C string encoder json.dumps uses for a str, called
    directly, gives its text exactly (escapes, non-ASCII, lone surrogates); other values still go through dumps."""
    import json

    from obsctl.compile import promql

    values = [
        "",
        "a",
        'say "hi"\\n',
        "line\nbreak\ttab\x00\x1f\x7f",
        "é ü 日本 \u2028\U0001f600",
        "\ud800",
        "</>",
    ]
    expected = [json.dumps(v, ensure_ascii=False) for v in values]
    assert promql.quote(5) == "5"
    monkeypatch.setattr(promql.json, "dumps", lambda *a, **k: pytest.fail("json.dumps called for a str"))
    assert [promql.quote(v) for v in values] == expected
