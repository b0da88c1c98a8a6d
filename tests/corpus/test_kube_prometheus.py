"""The kube-prometheus rules (234: 139 alerts, 95 recording rules) as a corpus: each expression, translated into
obsctl's language by the importer's translator (obsctl.importers.promql, from promql-parser's tree), validates,
compiles back to PromQL that promtool accepts, and is the same tree as the original after normalisation.

CI runs a seeded sample of OBSCTL_CORPUS_SAMPLE rules (default 40); OBSCTL_CORPUS_SAMPLE=all runs all 234
(about 20 s: `OBSCTL_CORPUS_SAMPLE=all python -m pytest tests/corpus`)."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest
import yaml

from obsctl.compile.promql import PromQL
from obsctl.importers.promql import Untranslatable, normalise, translate
from obsctl.pipeline import check

# The corpus is committed beside these tests (tests/corpus/kube-prometheus, Apache-2.0, its LICENSE with it).
CORPUS = Path(__file__).resolve().parent / "kube-prometheus"

# Rules that cannot pass, each with its reason: the rules that read other recording rules by their colon names
# (`instance:node_num_cpu:sum`); the catalog declares scraped metrics only (OBS104), and in obsctl such a rule is
# a derived metric, whose PromQL name obsctl chooses itself.
COLON_REASON = "reads the recording rule {names} by its colon name (catalog metric names have no ':', OBS104)"


# OBS272 (many-to-many) would be a defect on these rules: the joins that copy a label in (`* on (cluster, instance)
# group_left (node) ...`) are the warning OBS273, and `topk by (...) (1, ...)` is one series per group.
MANY_TO_MANY_REASON = "OBS272: {message}; the extra label has one value per group in practice"


class Refused(AssertionError):
    def __init__(self, diagnostics: list) -> None:
        super().__init__([f"{d.code} {d.message}" for d in diagnostics])
        self.diagnostics = diagnostics


def known_reason(expr: str) -> str | None:
    names = sorted(n for n in translate(expr).catalog() if ":" in n)
    return COLON_REASON.format(names=", ".join(names)) if names else None


def refused_reason(e: Refused) -> str | None:
    """The reason a rule that validate refuses is listed, or None when the refusal is a defect."""
    codes = {d.code for d in e.diagnostics}
    return MANY_TO_MANY_REASON.format(message=e.diagnostics[0].message) if codes == {"OBS272"} else None


def _rules() -> list[tuple[str, str]]:
    out = []
    for f in sorted(CORPUS.glob("*-prometheusRule.yaml")):
        for group in yaml.safe_load(f.read_text())["spec"]["groups"]:
            for i, r in enumerate(group["rules"]):
                out.append((f"{group['name']}/{r.get('alert') or r.get('record')}#{i}", r["expr"]))
    return out


def _sample(rules: list) -> list:
    n = os.environ.get("OBSCTL_CORPUS_SAMPLE", "40")
    if n == "all" or not rules:
        return rules
    return sorted(random.Random(10).sample(rules, min(int(n), len(rules))))


RULES = _rules() if CORPUS.is_dir() else []


def roundtrip(expr: str, tmp: Path) -> str:
    """The PromQL obsctl compiles from the translated expression (Refused, with the diagnostics, when it does
    not validate)."""
    t = translate(expr)
    spec = {
        "service": "kp",
        "runbook": "https://runbooks.example.org/kp",
        "metrics": t.catalog(),
        "derived": {"rule": {"expr": t.text}},
    }
    path = tmp / "obsctl.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = check(path)
    errors = [d for d in result.diagnostics if d.level == "error"]
    if errors:
        raise Refused(errors)
    c = result.checked[0]
    return PromQL(c.spec, c.analysis.refs, c.analysis.exprs).compile(
        c.analysis.exprs[("derived", "rule", "expr")]
    )


def test_the_corpus_is_there():
    assert CORPUS.is_dir(), f"no corpus at {CORPUS}"
    assert len(RULES) == 234


@pytest.mark.parametrize("name,expr", _sample(RULES), ids=[n for n, _ in _sample(RULES)])
def test_rule_round_trips_to_the_same_promql(name, expr, tmp_path, promtool):
    reason = known_reason(expr)
    if reason:
        pytest.xfail(reason)
    try:
        compiled = roundtrip(expr, tmp_path)
    except Untranslatable as e:
        pytest.fail(f"cannot translate: {e}")
    except Refused as e:
        if refused_reason(e):
            pytest.xfail(refused_reason(e))
        raise
    assert normalise(compiled) == normalise(expr)
    rules = tmp_path / "rules.yml"
    rules.write_text(
        yaml.safe_dump({"groups": [{"name": "g", "rules": [{"record": "r", "expr": compiled}]}]})
    )
    proc = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
