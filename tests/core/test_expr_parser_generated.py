"""The expression parser is generated ahead of time and shipped as source: nothing is cached, pickled or read from
a shared temporary directory at run time, and it parses exactly as lark's parser of the grammar does."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from obsctl.expr import ast
from obsctl.expr.parser import MAX_DEPTH, ExprSyntaxError, _transformer, parse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import gen_expr_parser  # noqa: E402

# Every construct of the grammar, plus expressions from the examples' designs.
CORPUS = [
    "delta(api_requests_errors_total) / max(delta(api_requests_total), 1)",
    "rate(x[10m]) > 0.8 and on_call == 1 or y unless z",
    'sum by (route, code) (rate(http_requests_total{code=~"5..", route!="/health"}[5m]))',
    "sum without () (rate(node_disk_io_time_seconds_total[5m])) > 0.8",
    "quantile(0.95, latency_seconds) * 1000 >= $p95_budget",
    "count(refresh_completed, 10m) == 0",
    "cost - cost offset 24h > 500",
    "rate(x offset 1w) % 2 ^ 3 ^ -2",
    "-(a + b) * -c <= 1.5e3",
    "max(x, 'single \\'quoted\\'') != .5",
    'x{a="1",}[1h30m] offset 2d',
    "avg by (instance) (x) / on_missing",
]
INVALID = ["", "a +", "a && b", "(a", "x{a=1}", "x[5]", "a = b", "1 +* 2", '"unterminated', "x\u2028+ y"]


def _positions(node: ast.Node) -> list[tuple[str, int, int]]:
    return [(type(n).__name__, n.pos.line, n.pos.column) for n in ast.walk(node)]


def test_committed_parser_is_generated_from_the_current_grammar():
    pytest.importorskip("lark", reason="lark (a dev dependency) generates the parser")
    committed = (ROOT / "obsctl" / "expr" / "lalr_parser.py").read_text(encoding="utf-8")
    assert f"# grammar sha256: {gen_expr_parser.grammar_digest()}" in committed, (
        "grammar.lark changed: run scripts/gen_expr_parser.py"
    )
    fresh = gen_expr_parser.generate()
    # lark numbers parser states in an order that varies between runs, so the tables are compared by
    # behaviour (the next test); the code around them must be exactly what the generator writes.
    assert committed[: committed.index("DATA = (")] == fresh[: fresh.index("DATA = (")], (
        "run scripts/gen_expr_parser.py (with the pinned dev lark)"
    )


def test_generated_parser_parses_as_lark_does():
    lark = pytest.importorskip("lark", reason="lark (a dev dependency) is the reference parser")
    reference = lark.Lark(
        gen_expr_parser.GRAMMAR.read_text(),
        parser="lalr",
        maybe_placeholders=True,
        transformer=_transformer(),
    )
    for text in CORPUS:
        ours = parse(text)
        theirs = reference.parse(text)
        assert ours == theirs, text
        assert _positions(ours) == _positions(theirs), text
    for text in INVALID:
        with pytest.raises(ExprSyntaxError):
            parse(text)
        if text:
            with pytest.raises(lark.exceptions.LarkError):
                reference.parse(text)


def _lark_version() -> str:
    try:
        import lark
    except ImportError:
        return "1.3.1"
    return lark.__version__


def test_no_runtime_cache_pickle_or_lark(tmp_path):
    """A cache file planted in the shared temp directory by another user is never read; validate writes nothing
    there and imports neither pickle nor lark."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    # lark's cache format: a line, then a pickle it loads before checking anything.
    blob = b"0\n" + pickle.dumps(Payload())
    # The name earlier releases used (sha1 of the grammar and lark's version), and lark's own cache name.
    grammar = (ROOT / "obsctl" / "expr" / "grammar.lark").read_bytes()
    stamps = {hashlib.sha1(grammar + v.encode()).hexdigest()[:12] for v in ("1.3.1", _lark_version())}
    planted = [shared_tmp / f"obsctl-expr-{stamp}.lark-cache" for stamp in sorted(stamps)]
    planted.append(shared_tmp / ".lark_cache_rule.tmp")
    for p in planted:
        p.write_bytes(blob)
        if os.geteuid() == 0:  # the attacker is another local user
            os.chown(p, 65534, 65534)
    before = sorted(os.listdir(shared_tmp))
    probe = (
        "import os, sys\nfrom obsctl.cli import main\n"
        "def _exit(code):\n    raise SystemExit(code)\nos._exit = _exit\n"  # validate ends with os._exit
        f"sys.argv = ['obsctl', 'validate', {str(ROOT / 'examples' / 'relay-ai' / 'obsctl.yaml')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print('LOADED', *sorted(m for m in ('pickle', 'lark') if m in sys.modules))\nsys.exit(code)\n"
    )
    env = dict(os.environ, TMPDIR=str(shared_tmp), TEMP=str(shared_tmp), TMP=str(shared_tmp))
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists(), "a planted pickle was executed"
    assert sorted(os.listdir(shared_tmp)) == before, "validate wrote into the temporary directory"
    assert proc.stdout.strip().splitlines()[-1] == "LOADED", proc.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\u2028+ b", "unexpected character 'U+2028'"),
        ("a +\u0085b", "unexpected character 'U+0085'"),
        ("x * 1e999", "the number 1e999 is out of range"),
        (" + ".join(["x"] * 600), f"nests deeper than {MAX_DEPTH} levels"),
        ("-" * 300 + "x", f"nests deeper than {MAX_DEPTH} levels"),
    ],
    ids=["U+2028", "U+0085", "1e999", "600-terms", "300-negations"],
)
def test_hostile_expressions_are_errors_not_tracebacks(text, message):
    with pytest.raises(ExprSyntaxError) as e:
        parse(text)
    assert message in str(e.value)
    assert e.value.line >= 1 and e.value.column >= 1


def test_deepest_allowed_expressions_build_to_every_target(tmp_path):
    """MAX_DEPTH leaves the recursive compilers room: the deepest sum validate accepts, inside an alert that
    adds a level, builds to every target (and the generated tests) without a RecursionError."""
    from obsctl.build import render

    spec = tmp_path / "obsctl.yaml"
    text = (ROOT / "examples" / "asset-ws" / "obsctl.yaml").read_text()
    deep = " + ".join(["delta(api_requests_total)"] * (MAX_DEPTH - 1))
    new = text.replace(
        "expr: sum(delta(api_requests_errors_total)) / max(sum(delta(api_requests_total)), 1)",
        f"expr: {deep}",
        1,
    )
    assert new != text
    spec.write_text(new)
    artifacts, diags, _ = render(spec, ["all"], None)
    assert not [d for d in diags if d.level == "error"], [d.message for d in diags]
    assert any(a.path.startswith("datadog/") for a in artifacts)
    assert any(
        deep.count("+") <= a.text.count("increase(api_requests_total")
        for a in artifacts
        if a.path.startswith("prometheus/")
    )


# `NAME CMP NUMBER|$VAR` skips the LALR parser (parser._simple_condition). These are the shapes it takes and the
# near misses it must leave to the parser: keywords, other whitespace, signs, durations, hex, comments.
SIMPLE = [
    "x > 0.5",
    "error_ratio_5m>=$error_ratio_max",
    "  a:b.c   !=   .5e3  ",
    "\tq == 5.",
    "Inf < 1E-3",
    "nan <= 0",
    "offset_total > 1",
    "byte_rate < 2",
]
NEAR_MISSES = [
    "by > 1",
    "OFFSET > 1",
    "bool == 1",
    "atan2 > 1",
    "on > 1",
    "x > -1",
    "x > 5m",
    "x > 0x1f",
    "x > 1 # why",
    "x >\n1",
    "x\f> 1",
    "x > 1e999",
    "x > bool 1",
    "x > = 1",
    "x => 1",
    "x > 1e",
    "1 > x",
    "$a > 1",
    "x > $1a",
    "x{} > 1",
    "x > 1.2.3",
    "x\u00a0> 1",
]


def test_simple_conditions_skip_the_parser_and_build_its_tree():
    from obsctl.expr.parser import _parser, _simple_condition

    for text in SIMPLE:
        fast = _simple_condition(text)
        assert fast is not None, f"{text!r} should take the fast path"
        slow = _parser().parse(text)
        assert fast == slow, text
        assert _positions(fast) == _positions(slow), text
    for text in NEAR_MISSES:
        assert _simple_condition(text) is None, f"{text!r} must be left to the parser"


def test_simple_conditions_agree_with_the_parser_on_generated_text():
    """Strings built from the fast path's alphabet and its neighbours: wherever it answers, the parser (which it
    skips) gives the same tree and positions; wherever the parser refuses, the fast path does not answer."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from obsctl.expr.parser import _parser, _simple_condition

    words = st.sampled_from(
        ["x", "by", "On", "bool", "offset", "a.b", "a:b", "_", "inf", "atan2", "group_left", "$v", "$", "5m"]
    )
    gaps = st.sampled_from(["", " ", "\t", "  ", "\n", "\f"])
    ops = st.sampled_from([">", "<", ">=", "<=", "==", "!=", "=", "=>", "> bool"])
    numbers = st.sampled_from(
        ["1", "0.5", ".5", "5.", "1e3", "1E-3", "1e", "0x1f", "-1", "1e999", "$max", "$1"]
    )

    @settings(derandomize=True, max_examples=400, deadline=None, database=None)
    @given(st.tuples(gaps, words, gaps, ops, gaps, numbers, gaps))
    def check(parts):
        text = "".join(parts)
        fast = _simple_condition(text)
        try:
            slow = _parser().parse(text)
        except Exception:  # noqa: BLE001 - any refusal by the parser
            assert fast is None, text
            return
        if fast is not None:
            assert fast == slow, text
            assert _positions(fast) == _positions(slow), text

    check()
