"""What keeps reading and checking a spec linear in its size: no garbage collection over the growing heap while a
spec is read and checked, and each distinct expression parsed once however many a spec holds."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from obsctl.expr import parser
from obsctl.pipeline import check

ROOT = Path(__file__).resolve().parents[2]
RELAY_AI = ROOT / "examples" / "relay-ai" / "obsctl.yaml"


def test_check_reads_and_analyses_without_garbage_collection(monkeypatch):
    """Each full collection walks everything read so far: at 10,000 alerts they were 40% of `validate`."""
    from obsctl import loader, semantics

    seen: list[tuple[str, bool]] = []

    def spy(module: object, name: str) -> None:
        real = getattr(module, name)

        def wrapped(*args: object, **kwargs: object) -> object:
            seen.append((name, gc.isenabled()))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapped)

    spy(loader, "read_raw")
    spy(semantics, "analyse")
    result = check(RELAY_AI, every_env=True)
    assert result.ok and result.checked
    assert seen and all(not enabled for _, enabled in seen), seen
    assert gc.isenabled()


def test_check_leaves_the_collector_off_when_it_was_off(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("service: [unclosed\n")
    gc.disable()
    try:
        assert not check(spec).ok
        assert not gc.isenabled()
    finally:
        gc.enable()


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the expression parser is asked to parse from here on (the tree cache emptied first)."""
    real = parser._parser()
    calls: list[str] = []

    class Counting:
        def parse(self, text: str) -> object:
            calls.append(text)
            return real.parse(text)

    monkeypatch.setattr(parser, "_parser", lambda: Counting())
    parser._parse_cached.cache_clear()
    return calls


def test_each_distinct_expression_is_parsed_once(monkeypatch):
    """The tree cache held 4,096 expressions: a spec with more (10,000 alerts) parsed its expressions again
    wherever a later check asked for them."""
    calls = _count_parses(monkeypatch)
    texts = [f"rate(x_{i}[5m]) > {i}" for i in range(5000)]  # not `x > 1`, which skips the parser
    try:
        for text in texts + texts:
            parser.parse(text)
    finally:
        parser._parse_cached.cache_clear()
    assert len(calls) == len(texts)


@pytest.mark.parametrize("text", ["", "rate(", "x +"])
def test_parse_errors_are_not_cached_as_trees(text):
    with pytest.raises(parser.ExprSyntaxError):
        parser.parse(text)
    with pytest.raises(parser.ExprSyntaxError):
        parser.parse(text)


def test_the_validate_command_runs_without_garbage_collection(monkeypatch):
    """What a validate process allocates stays referenced until it exits: collections cost 13% of a cold run."""
    from obsctl import cli

    states: list[bool] = []
    monkeypatch.setattr(cli, "app", lambda: states.append(gc.isenabled()))
    monkeypatch.setattr("sys.argv", ["obsctl", "validate", "spec.yaml"])
    try:
        cli.main()
    finally:
        gc.enable()
    monkeypatch.setattr("sys.argv", ["obsctl", "build", "spec.yaml"])
    cli.main()
    assert states == [False, True]


def test_a_spec_without_includes_is_read_as_merging_would_read_it(tmp_path, monkeypatch):
    """read_raw merged an include-free spec beneath an empty one, copying every position (64 ms at 10,000 alerts);
    it now returns what load_text read, the same values and positions as that merge."""
    from obsctl import loader
    from obsctl.yamlsource import SourceMap, load_text

    monkeypatch.chdir(tmp_path)
    text = RELAY_AI.read_text()
    (tmp_path / "spec.yaml").write_text(text)
    data, smap = load_text(text, "spec.yaml")
    merged_map = SourceMap()
    merged = loader._merge({}, data, merged_map, smap, ())
    got, got_map = loader.read_raw(Path("spec.yaml"))
    assert got == merged
    assert (got_map.values, got_map.keys, got_map.lines) == (
        merged_map.values,
        merged_map.keys,
        merged_map.lines,
    )


def test_validate_of_many_specs_shares_what_does_not_depend_on_the_spec(tmp_path, monkeypatch):
    """`obsctl validate a.yaml b.yaml` is one process: imports, the Spec validator and parsed expressions are made
    once (two copies of the largest example parse its expressions once)."""
    from typer.testing import CliRunner

    from obsctl.cli import app

    calls = _count_parses(monkeypatch)
    monkeypatch.chdir(RELAY_AI.parent)
    copy = tmp_path / "copy.yaml"
    copy.write_text(RELAY_AI.read_text())
    try:
        result = CliRunner().invoke(app, ["validate", "obsctl.yaml", str(copy)])
    finally:
        parser._parse_cached.cache_clear()
    assert result.exit_code == 0, result.output
    assert result.stdout.count(": ok") == 2
    assert calls and len(calls) == len(set(calls))
