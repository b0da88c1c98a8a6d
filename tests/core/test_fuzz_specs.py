"""Mutation fuzz of the example specs: keys deleted, types swapped, odd numbers (NaN, huge, negative), odd durations,
hostile strings and random expressions, through validate and build in-process. Properties: no uncaught exception;
every diagnostic has a code, a level and a message; a spec that builds gives files its checkers accept (build runs
them). CI runs a fixed seed and a few dozen cases (about a minute here); the longer local run is

    OBSCTL_FUZZ_SPECS=500 python -m pytest -q tests/core/test_fuzz_specs.py

which shrinks a failure to its smallest form."""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from obsctl.build import render
from obsctl.pipeline import check

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {p.parent.name: yaml.safe_load(p.read_text()) for p in sorted(ROOT.glob("examples/*/obsctl.yaml"))}
CASES = int(os.environ.get("OBSCTL_FUZZ_SPECS", "40"))

ODD_VALUES = st.sampled_from(
    [
        None,
        True,
        0,
        -1,
        10**30,
        1e308,
        -1e-300,
        math.nan,
        math.inf,
        "",
        " ",
        "0x200",
        "1e3",
        "-5m",
        "0s",
        "999999999999999999999y",
        "5m5m",
        "{{ $value",
        "}}",
        "${x}",
        "a\u2028b",
        "\x1b[31m",
        "'\"",
        "{a: b}",
        "[1, 2",
        "rate(",
        "sum by (a) (x) / on(b) group_left y",
        "x offset -1h",
        "count(e, 0s) == 0",
        "x[5m:1m]",
        "@ 1",
        [],
        [1, "a"],
        {},
        {"k": "v"},
        {"when": 1},
    ]
)


def _paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    """Every path into the document (mappings and lists), the root excluded."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append(prefix + (k,))
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append(prefix + (i,))
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def mutated_specs(draw: st.DrawFn) -> dict:
    doc = copy.deepcopy(EXAMPLES[draw(st.sampled_from(sorted(EXAMPLES)))])
    doc.pop("environments", None)  # one environment's worth of work per case
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        key = path[-1]
        action = draw(st.sampled_from(["delete", "replace", "replace", "duplicate-into-list"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(ODD_VALUES)
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return doc


@settings(
    max_examples=CASES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if "OBSCTL_FUZZ_SPECS" in os.environ else []),
)
@given(doc=mutated_specs())
def test_mutated_specs_never_crash(tmp_path_factory: pytest.TempPathFactory, doc: dict) -> None:
    spec = tmp_path_factory.mktemp("fuzz") / "obsctl.yaml"
    try:
        spec.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    except (ValueError, yaml.YAMLError):
        return  # not writable as YAML at all (e.g. a lone surrogate): not an input obsctl can receive
    result = check(spec, every_env=True)
    for d in result.diagnostics:
        assert d.code.startswith("OBS") and d.level in ("error", "warning") and d.message, d
    if not result.ok:
        return
    artifacts, diags, _ = render(spec, ["all"], None)
    for d in diags:
        assert d.code.startswith("OBS") and d.message, d
        # what obsctl writes must pass its own checkers: OBS900 is a generated file a real tool rejected
        assert d.code != "OBS900", d.message
    assert artifacts or any(d.level == "error" for d in diags)
