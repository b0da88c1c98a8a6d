"""The position-keeping loader gives the same values, positions and errors whether libyaml composes the nodes
(the fast path) or PyYAML's pure-Python composer does (a PyYAML built without libyaml); only the wording of a YAML
syntax error is the parser's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_broken_specs import CASES

from obsctl import yamlsource
from obsctl.diagnostics import SpecError
from obsctl.yamlsource import MAX_DEPTH, load_text

ROOT = Path(__file__).resolve().parents[2]

EDGES = [
    ("nested-lists-500", "service: demo\nx: " + "[" * 500 + "]" * 500 + "\n"),
    (
        "nested-mappings-80",
        "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 80)) + "  " * 80 + "v\n",
    ),
    ("nested-at-the-limit", "a: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1) + "\n"),
    ("recursive-alias", "x: &x [1, *x]\n"),
    ("two-documents", "a: 1\n---\nb: 2\n"),
    ("value-key", "a: =\n"),
    ("merge", "a: &a {x: 1, z: 3}\nb: {<<: *a, y: 2, z: 4}\n"),
    ("merge-list", "a: &a {x: 1}\nc: &c {w: 1}\nb:\n  <<: [*a, *c]\n  y: 2\n"),
    ("yaml-1.1-scalars", "a: [on, yes, no, 17:00, 0755, 0x1f, 1e3, .inf, -.Inf, ~, null, 2024-01-01, '1']\n"),
    ("tags", "a: !!int 3\nb: ! y\nc: !!str 4\n"),
    ("local-tag", "a: !foo x\n"),
    ("python-tag", "a: !!python/object/apply:os.system [ls]\n"),
    ("block-scalars", "a: |\n  one\n  two\nb: >-\n  folded\n  text\n"),
    ("complex-key", "? [a, b]\n: c\n"),
    ("empty", ""),
    ("comment-only", "# nothing\n"),
    ("bom", "\ufeffservice: x\n"),
]

TEXTS = (
    [(c[0], c[1]) for c in CASES]
    + EDGES
    + [(p.parent.name, p.read_text()) for p in sorted(ROOT.glob("examples/*/*.yaml"))]
)


def _load(text: str, composer: type, monkeypatch: pytest.MonkeyPatch) -> tuple:
    monkeypatch.setattr(yamlsource, "_Composer", composer)
    try:
        value, smap = load_text(text, "spec.yaml")
    except SpecError as e:
        return ("error", [(d.code, d.location, d.hint) for d in e.diagnostics])
    return ("ok", value, smap.values, smap.keys)


@pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="PyYAML built without libyaml")
@pytest.mark.parametrize(("case_id", "text"), TEXTS, ids=[t[0] for t in TEXTS])
def test_libyaml_and_pure_python_compose_alike(case_id, text, monkeypatch):
    fast = _load(text, yamlsource._CComposer, monkeypatch)
    pure = _load(text, yamlsource._PythonComposer, monkeypatch)
    assert fast == pure


def test_libyaml_composes_when_pyyaml_has_it():
    assert yamlsource._Composer is (
        yamlsource._CComposer if getattr(yaml, "__with_libyaml__", False) else yamlsource._PythonComposer
    )


def test_pure_python_composer_refuses_deep_nesting_where_the_builder_would(monkeypatch):
    """PyYAML's composer recurses per level: 500 nested lists used to end in a RecursionError, reported at line 1,
    column 1; the depth error now points at the first node too deep, as with libyaml."""
    text = "service: demo\nx: " + "[" * 500 + "]" * 500 + "\n"
    monkeypatch.setattr(yamlsource, "_Composer", yamlsource._PythonComposer)
    with pytest.raises(SpecError) as e:
        load_text(text, "spec.yaml")
    [d] = e.value.diagnostics
    assert d.code == "OBS013"
    assert (d.location.line, d.location.column) == (2, 4 + MAX_DEPTH)
