"""Label inference and the checks it proves (issue 10): each broken spec gives its code at file:line:col with a hint
that shows the fix; the inference itself follows Prometheus' vector matching on hand-built trees (what the grammar
does not parse yet: on/ignoring, group_left/group_right)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.expr import ast
from obsctl.semantics.labels import INSTANT, SCALAR, LabelSet, binop

BASE = """\
service: demo
runbook: https://runbooks.example.org/demo
sources:
  metrics: {selector: {job: demo}}
metrics:
  errors_total: {kind: counter, labels: [provider, route]}
  requests_total: {kind: counter, labels: [provider, route]}
  queue_depth: {kind: gauge}
routing:
  receivers:
    oncall: {pagerduty: {routing_key_file: /etc/am/pd}}
  severities:
    page: [oncall]
alerts:
  A:
    severity: page
"""


def alert(when: str, extra: str = "") -> str:
    return BASE + f"    when: {when}\n" + extra


# (id, spec, code, line, column, fragment of the message, fragment of the hint)
CASES = [
    # Issue 10, Why: a one-to-many division with no matching compiles, and no sample ever matches.
    (
        "one-to-many-division",
        alert("sum by (provider) (delta(errors_total)) / sum(delta(requests_total)) > 0.05"),
        "OBS270",
        17,
        51,
        "can never match",
        "/ on() group_left",
    ),
    (
        "disjoint-sides",
        alert("sum by (provider) (delta(errors_total)) / sum by (route) (delta(requests_total)) > 0.05"),
        "OBS270",
        17,
        51,
        "left side keeps (provider), the right side (route)",
        "sum(...) / sum(...)",
    ),
    (
        "set-operation-never-matches",
        alert("sum by (provider) (delta(errors_total)) > 1 and sum by (route) (delta(requests_total)) > 1"),
        "OBS270",
        17,
        55,
        "of 'and' can never match",
        "and on()",
    ),
    (
        "derived-never-matches",
        BASE.replace(
            "alerts:\n",
            "derived:\n  ratio: sum by (route) (delta(errors_total)) / sum(delta(requests_total))\nalerts:\n",
        )
        + "    when: ratio > 0.1\n",
        "OBS270",
        15,
        47,
        "can never match",
        "group_left",
    ),
    (
        "panel-never-matches",
        alert(
            "queue_depth > 1",
            "dashboards:\n  main:\n    title: Main\n    panels:\n"
            "      - {title: p, expr: 'sum by (provider) (rate(errors_total)) / sum(rate(requests_total))'}\n",
        ),
        "OBS270",
        22,
        66,
        "can never match",
        "group_left",
    ),
    # Issue 10, Why: a volume guard that keeps a label the condition does not can never join it.
    (
        "guard-never-joins",
        alert("sum(delta(errors_total)) > 5", "    only_if: sum by (route) (delta(requests_total)) >= 100\n"),
        "OBS330",
        18,
        53,
        "can never join",
        "sum(...)",
    ),
    (
        "route-reads-dropped-label",
        alert("sum(delta(errors_total)) > 5").replace(
            "    page: [oncall]\n",
            "    page: [oncall]\n  routes:\n"
            "    - {match: {alertname: A, provider: openai}, receivers: [oncall]}\n",
        ),
        "OBS331",
        19,
        36,
        "reads the label 'provider'",
        "sum by (provider)",
    ),
    (
        "inhibit-equal-dropped-label",
        alert("sum(delta(errors_total)) > 5").replace(
            "    page: [oncall]\n",
            "    page: [oncall]\n  inhibit:\n"
            "    - {source: {severity: page}, target: {severity: page}, equal: [route]}\n",
        ),
        "OBS331",
        19,
        36,
        "inhibit[0].equal reads the label 'route'",
        "sum by (route)",
    ),
]


def _diags(tmp_path, monkeypatch, text: str) -> tuple[int, list[dict]]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--format", "json", "spec.yaml"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("case_id,text,code,line,col,fragment,hint", CASES, ids=[c[0] for c in CASES])
def test_label_check(tmp_path, monkeypatch, case_id, text, code, line, col, fragment, hint):
    rc, diags = _diags(tmp_path, monkeypatch, text)
    assert rc == 1, diags
    match = [d for d in diags if d["code"] == code and fragment in d["message"]]
    assert match, f"expected {code} '{fragment}', got {[(d['code'], d['message']) for d in diags]}"
    d = match[0]
    assert (d["file"], d["line"], d["column"]) == ("spec.yaml", line, col), d
    assert hint in d["hint"], d["hint"]


def test_summary_label_dropped_is_a_warning(tmp_path, monkeypatch):
    """`$labels.provider` in a summary prints nothing when the condition drops `provider` (OBS332)."""
    rc, diags = _diags(
        tmp_path,
        monkeypatch,
        alert("sum(delta(errors_total)) > 5", "    summary: 'errors at {{ $labels.provider }}'\n"),
    )
    assert rc == 0
    d = next(d for d in diags if d["code"] == "OBS332")
    assert (d["line"], "provider") == (18, "provider") and "sum by (provider)" in d["hint"]


@pytest.mark.parametrize(
    "when,extra",
    [
        ("sum by (provider) (delta(errors_total)) / sum by (provider) (delta(requests_total)) > 0.05", ""),
        (
            "sum by (provider, route) (delta(errors_total)) > 5",
            "    only_if: sum by (provider) (delta(requests_total)) >= 100\n",
        ),
        ("sum by (provider) (delta(errors_total)) > 5", "    summary: 'errors at {{ $labels.provider }}'\n"),
        (
            "max without (pod) (queue_depth) > 5",
            "    summary: 'depth {{ $labels.anything }}'\n",
        ),  # unknown: no guess
        ("delta(errors_total) / max(delta(requests_total), 1) > 0.05", ""),
    ],
)
def test_sound_specs_pass(tmp_path, monkeypatch, when, extra):
    # Sound PromQL; not every case has a Datadog form (OBS701), and this spec is not for Datadog.
    spec = alert(when, extra) + "targets: {for: [prometheus, alertmanager, grafana]}\n"
    rc, diags = _diags(tmp_path, monkeypatch, spec)
    assert rc == 0, diags
    assert not [d for d in diags if d["code"].startswith(("OBS27", "OBS33"))], diags


# -- the inference on hand-built trees ----------------------------------------------------------------------------


def _vec(*labels: str) -> LabelSet:
    return LabelSet(INSTANT, frozenset(labels))


def _op(
    op: str = "/", on: bool | None = None, labels: tuple = (), group: str | None = None, include: tuple = ()
) -> ast.BinOp:
    m = None if on is None else ast.Matching(on, list(labels), group, list(include))
    return ast.BinOp(op, ast.Number(1), ast.Number(1), matching=m)


@pytest.mark.parametrize(
    "node,left,right,result,codes",
    [
        # one-to-one on(x): the result keeps only x (Prometheus' resultMetric)
        (_op(on=True, labels=("env",)), _vec("env"), _vec("env"), {"env"}, []),
        # the left side has several series per env: many-to-one needs group_left
        (_op(on=True, labels=("env",)), _vec("env", "pod"), _vec("env"), {"env"}, ["OBS271"]),
        (_op(on=True, labels=("env",), group="left"), _vec("env", "pod"), _vec("env"), {"env", "pod"}, []),
        # the "one" side keeps only the label group_left copies in: a join that holds when it has one value per env
        (
            _op(on=True, labels=("env",), group="left", include=("team",)),
            _vec("env", "pod"),
            _vec("env", "team"),
            {"env", "pod", "team"},
            ["OBS273"],
        ),
        (
            _op(on=True, labels=("env",), group="left", include=("team",)),
            _vec("env", "pod"),
            _vec("env", "team", "node"),
            {"env", "pod", "team"},
            ["OBS272"],
        ),
        (_op(on=True, labels=("env",), group="right"), _vec("env"), _vec("env", "pod"), {"env", "pod"}, []),
        # both sides many per env: many-to-many
        (_op(on=True, labels=("env",)), _vec("env", "pod"), _vec("env", "route"), {"env"}, ["OBS272"]),
        # ignoring(pod): matches on the rest
        (_op(on=False, labels=("pod",), group="left"), _vec("env", "pod"), _vec("env"), {"env", "pod"}, []),
        (_op(on=False, labels=("pod",)), _vec("env", "pod"), _vec("route"), {"env"}, ["OBS270"]),
        # on(x) with x on one side only
        (_op(on=True, labels=("env",)), _vec("env"), _vec("route"), {"env"}, ["OBS270"]),
        # set operators: many-to-many by nature, the left side's labels
        (_op("and", on=True, labels=("env",)), _vec("env", "pod"), _vec("env"), {"env", "pod"}, []),
        (_op("unless"), _vec("env", "pod"), _vec("env"), {"env", "pod"}, ["OBS270"]),
        (_op("or"), _vec("env"), _vec("pod"), None, []),
        # a scalar side never needs matching
        (_op(">"), _vec("env", "pod"), LabelSet(SCALAR), {"env", "pod"}, []),
    ],
)
def test_vector_matching(node, left, right, result, codes):
    findings = []
    out = binop(node, left, right, findings)
    assert out.labels == (frozenset(result) if result is not None else None)
    assert [f.code for f in findings] == codes


def test_unknown_labels_are_not_guessed():
    findings = []
    out = binop(_op(), LabelSet(INSTANT, None), _vec("env"), findings)
    assert out.labels is None and not findings
    out = binop(_op(on=True, labels=("env",)), LabelSet(INSTANT, None), _vec("env", "pod"), findings)
    assert out.labels == frozenset({"env"}) and not findings


def test_every_node_has_a_result(tmp_path, monkeypatch):
    """The Analysis holds a LabelSet for every node of every expression, kinds included."""
    from obsctl import pipeline

    (tmp_path / "spec.yaml").write_text(alert("sum by (provider) (rate(errors_total)) > 1"), encoding="utf-8")
    analysis = pipeline.check(tmp_path / "spec.yaml").checked[0].analysis
    labels = analysis.labels[("alerts", "A", "when")]
    tree = analysis.exprs[("alerts", "A", "when")]
    assert labels.root == _vec("provider")
    assert labels.of(tree.right).kind == SCALAR
    assert labels.of(tree.left) == _vec("provider")
    # inside the aggregation the counter keeps its series' labels: declared, selector and target labels
    rate = tree.left.args[0]
    assert labels.of(rate) == _vec("provider", "route", "job", "instance")


def _join_spec(tmp_path, right: str, include: str = "") -> list[str]:
    from obsctl.pipeline import check

    spec = tmp_path / "join.yaml"
    spec.write_text(f"""service: pods
metrics:
  kube_pod_status_phase: {{kind: gauge, labels: [namespace, pod, cluster, phase]}}
  kube_pod_owner: {{kind: gauge, labels: [namespace, pod, owner_kind, cluster]}}
alerts:
  PodNotReady:
    severity: warning
    when: >-
      max by (namespace, pod, cluster) (kube_pod_status_phase)
      * on (namespace, pod, cluster) group_left({include}) {right} > 0
""")
    return [d.code for d in check(spec).diagnostics if d.code.startswith("OBS27")]


def test_topk_of_one_per_group_is_a_one_side(tmp_path):
    """kube-prometheus' KubePodNotReady joins `topk by (namespace, pod, cluster) (1, ...)`: one series per group
    whatever labels it keeps, so the join is many-to-one, not many-to-many."""
    owner = "max by (namespace, pod, owner_kind, cluster) (kube_pod_owner)"
    assert _join_spec(tmp_path, f"topk by (namespace, pod, cluster) (1, {owner})") == []
    assert _join_spec(tmp_path, owner) == ["OBS272"]
    assert _join_spec(tmp_path, owner, include="owner_kind") == ["OBS273"]
