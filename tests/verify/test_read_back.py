"""Reading emitted YAML back (build's parse-back): the event reader builds the same document as yaml.load, with
libyaml and with PyYAML's pure-Python parser, and leaves every unusual feature and every error to yaml.load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from obsctl import verify

REPO = Path(__file__).resolve().parents[2]
EMITTED = sorted(p for ext in ("*.yml", "*.yaml") for p in (REPO / "examples").glob(f"*/build/**/{ext}"))

TRICKY = [
    "",
    "---\n",
    "a: 1\nb: [1, 2.5, .inf, -.Inf, .nan, 0x1F, 0o17, 017, 1_000, 190:20:30]\n",
    "a: yes\nb: No\nc: ~\nd: null\ne: ''\nf: 2001-12-14\ng: 2001-12-14t21:59:43.10-05:00\nh: '5'\n",
    "a: 1\na: 2\nb: {c: d, c: e}\n",
    "list:\n  - a\n  - - b\n    - {}\n  - []\nnested: {x: [1, {y: z}]}\n",
    "? [a, b]\n: 1\n",
    "? {a: b}\n: 1\n",
    "base: &b {x: 1}\nuse: *b\n",
    "base: &b {x: 1}\nmerged: {<<: *b, y: 2}\n",
    "a: !!str 5\n",
    "a: !custom x\n",
    "=: x\n",
    "a: =\n",
    "a: 1\n---\nb: 2\n",
    "a: [1, 2\n",
    "a: b: c\n",
    "a:\n\t- b\n",
    "key: |\n  line one\n  line two\n",
    "'quoted key': \"\\u2028 \\x85 \\t\"\n",
    "1: int key\n2.5: float key\ntrue: bool key\n~: null key\n",
]


def _load(text: str, loader: type) -> tuple[str, object]:
    try:
        return "ok", yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        return type(e).__name__, str(e)


def _read(text: str) -> tuple[str, object]:
    try:
        return "ok", verify.read_yaml(text)
    except yaml.YAMLError as e:
        return type(e).__name__, str(e)


@pytest.fixture(params=["libyaml", "pure"])
def loader(request, monkeypatch) -> type:
    if request.param == "pure":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)  # as on a PyYAML built without libyaml
        return yaml.SafeLoader
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML without libyaml")
    return yaml.CSafeLoader


@pytest.mark.parametrize("text", TRICKY)
def test_same_document_or_error_as_yaml_load(text, loader):
    assert _read(text) == _load(text, loader)


def test_examples_output_reads_back_as_yaml_load_reads_it(loader):
    assert len(EMITTED) > 30
    for path in EMITTED:
        text = path.read_text(encoding="utf-8")
        assert _read(text) == _load(text, loader), path


def test_plain_output_does_not_go_through_the_composer(loader, monkeypatch):
    """Before, every parse-back was a yaml.load: composing nodes and constructing them in Python was 80% of
    reading a 1,000-alert tests file."""
    text = next(p for p in EMITTED if p.name.endswith(".tests.yml")).read_text(encoding="utf-8")
    expected = yaml.load(text, Loader=loader)
    monkeypatch.setattr(yaml, "load", None)
    assert verify.read_yaml(text) == expected
