"""Equivalence by behaviour on the kube-prometheus corpus: promtool evaluates each original rule and the rule
obsctl compiles from its translation on the same generated series (every label the expression names takes two
or more values), and both give the same series with the same labels and values at every evaluation time, so an
alert rule gives the same alerts with the same labels.

A rule counts as evidence only where its result is not empty at some evaluation time; at least 30 must be.
CI runs a seeded sample (OBSCTL_CORPUS_SAMPLE, default 40 rules); OBSCTL_CORPUS_SAMPLE=all runs every rule that
round-trips (one promtool run, about 10 s)."""

from __future__ import annotations

import os
import random
import re
import subprocess

import yaml
from corpus_series import series_for
from test_kube_prometheus import RULES, Refused, known_reason, refused_reason, roundtrip

from obsctl.importers.promql import translate

TIMES = ["10m", "20m", "30m", "39m"]
MIN_EVIDENCE = 30


def _files(i: int, expr: str, compiled: str, kinds: dict[str, str], tmp) -> str:
    orig, comp = f"corpus{i}:original", f"corpus{i}:compiled"
    rules = {
        "groups": [
            {
                "name": f"g{i}",
                "interval": "1m",
                "rules": [{"record": orig, "expr": expr}, {"record": comp, "expr": compiled}],
            }
        ]
    }
    (tmp / f"r{i}.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    differ = f"({orig} unless {comp}) or ({comp} unless {orig}) or (abs({orig} - {comp}) > 1e-9)"
    nonempty = f"(count({orig}) > bool 0) or vector(0)"
    series = series_for(expr, kinds, seed=i)
    tests = [{"expr": differ, "eval_time": t, "exp_samples": []} for t in TIMES]
    tests += [
        {"expr": nonempty, "eval_time": t, "exp_samples": [{"labels": "{}", "value": 1}]} for t in TIMES
    ]
    test = {
        "rule_files": [f"r{i}.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "promql_expr_test": tests,
            }
        ],
    }
    path = tmp / f"t{i}.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    return path.name


def _candidates() -> list[tuple[int, str, str]]:
    rules = [(i, name, expr) for i, (name, expr) in enumerate(RULES) if not known_reason(expr)]
    n = os.environ.get("OBSCTL_CORPUS_SAMPLE", "40")
    if n != "all":
        rules = sorted(
            random.Random(10).sample(rules, min(int(n) * 2, len(rules)))
        )  # half are empty on any data
    return rules


def compare(pairs: list[tuple[str, str, str]], tmp, promtool: str) -> tuple[list[str], list[str]]:
    """For (name, original PromQL, compiled PromQL): the rules whose results differ (with promtool's words),
    and the rules whose results are not empty at some evaluation time. One promtool run for all."""
    files, names = [], {}
    for i, (name, expr, compiled) in enumerate(pairs):
        sub = tmp / f"c{i}"
        sub.mkdir()
        kinds = {m: d["kind"] for m, d in translate(expr).catalog().items()}
        files.append(f"c{i}/" + _files(i, expr, compiled, kinds, sub))
        names[files[-1]] = name
    # one stream, so each file's failures follow its own "Unit Testing:" header (Go writes unbuffered)
    proc = subprocess.run(
        [promtool, "test", "rules", *files],
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sections = re.split(r"Unit Testing:\s+", proc.stdout)[1:]
    assert len(sections) == len(files), proc.stdout
    differ, evidence = [], []
    for section in sections:
        path = section.split()[0]
        fails = section.split("FAILED:")[1] if "FAILED:" in section else ""
        if "unless" in fails or "error" in fails.lower():
            differ.append(f"{names[path]}: {fails.strip()[:400]}")
        if fails.count("count(") < len(TIMES):
            evidence.append(names[path])
    return differ, evidence


def test_original_and_compiled_rules_give_the_same_results(tmp_path, promtool):
    assert RULES, "no kube-prometheus corpus beside these tests"
    pairs = []
    for i, name, expr in _candidates():
        sub = tmp_path / f"rt{i}"
        sub.mkdir()
        try:
            pairs.append((name, expr, roundtrip(expr, sub)))
        except Refused as e:
            if not refused_reason(e):
                raise
    differ, evidence = compare(pairs, tmp_path, promtool)
    assert not differ, "\n".join(differ)
    print(
        f"{len(evidence)} of {len(pairs)} rules gave results, the same for the original and the compiled rule"
    )
    assert len(evidence) >= MIN_EVIDENCE, f"only {len(evidence)} rules gave results on the generated series"


def test_the_comparison_sees_a_collapsed_label(tmp_path, promtool):
    """The check can fail: the old compile (`sum(...)` around a per-series condition) differs on these series."""
    expr = 'rate(node_disk_io_time_seconds_total{job="node-exporter"}[5m]) > 0.01'
    collapsed = 'sum(rate(node_disk_io_time_seconds_total{job="node-exporter"}[5m])) > 0.01'
    differ, evidence = compare([("disk", expr, collapsed), ("same", expr, expr)], tmp_path, promtool)
    assert [d.split(":")[0] for d in differ] == ["disk"] and evidence == ["disk", "same"]
