"""Input limits as data (docs/diagnostics.md#input-limits): each at its limit and one past it, and the documented
table equal to the code's constants. Also the hostile inputs found past the limits: libyaml's recursion, huge
numbers, tags wherever they stand, NUL in include paths, zero intervals, test series that never end."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from obsctl import loader, model, yamlsource
from obsctl.diagnostics import SpecError
from obsctl.expr import parser
from obsctl.pipeline import check
from obsctl.testgen import promsim

ROOT = Path(__file__).resolve().parents[2]
CONSTANTS = {
    "yamlsource": yamlsource,
    "loader": loader,
    "model": model,
    "expr.parser": parser,
    "testgen.promsim": promsim,
}


def _codes(path: Path, **kw) -> list[str]:
    return [d.code for d in check(path, **kw).diagnostics if d.level == "error"]


def _read_error(path: Path) -> str:
    with pytest.raises(SpecError) as e:
        loader.read_raw(path)
    return e.value.diagnostics[0].code


def test_the_documented_limits_are_the_code_constants():
    doc = (ROOT / "docs" / "diagnostics.md").read_text()
    rows = re.findall(r"^\| [^|]+ \| ([0-9,]+(?: MiB)?) \| (OBS\d{3}) \| `([\w.]+)\.(\w+)` \|$", doc, re.M)
    assert len(rows) >= 13
    for value, _code, module, name in rows:
        number = int(value.split()[0].replace(",", "")) * (1024 * 1024 if value.endswith("MiB") else 1)
        assert getattr(CONSTANTS[module], name) == number, f"{module}.{name}"


# -- files and includes ----------------------------------------------------------------------------------------


def _spec_with_includes(tmp_path: Path, n: int) -> Path:
    for i in range(n):
        (tmp_path / f"inc{i}.yaml").write_text(f"labels: {{l{i}: v}}\n")
    main = tmp_path / "obsctl.yaml"
    main.write_text("service: demo\ninclude: [" + ", ".join(f"inc{i}.yaml" for i in range(n)) + "]\n")
    return main


def test_files_at_the_limit_merge(tmp_path):
    data, _ = loader.read_raw(_spec_with_includes(tmp_path, loader.MAX_FILES - 1))
    assert len(data["labels"]) == loader.MAX_FILES - 1


def test_one_file_past_the_limit_is_obs009(tmp_path):
    assert _read_error(_spec_with_includes(tmp_path, loader.MAX_FILES)) == "OBS009"


def _include_chain(tmp_path: Path, depth: int) -> Path:
    for i in range(depth, 0, -1):
        nxt = f"include: [c{i + 1}.yaml]\n" if i < depth else ""
        (tmp_path / f"c{i}.yaml").write_text(f"{nxt}labels: {{c{i}: v}}\n")
    main = tmp_path / "obsctl.yaml"
    main.write_text("service: demo\ninclude: [c1.yaml]\n")
    return main


def test_includes_nested_to_the_limit_merge(tmp_path):
    data, _ = loader.read_raw(_include_chain(tmp_path, loader.MAX_INCLUDE_DEPTH))
    assert len(data["labels"]) == loader.MAX_INCLUDE_DEPTH


def test_includes_nested_one_past_the_limit_are_obs009(tmp_path):
    assert _read_error(_include_chain(tmp_path, loader.MAX_INCLUDE_DEPTH + 1)) == "OBS009"


def test_an_include_path_with_nul_is_obs009(tmp_path):
    spec = tmp_path / "obsctl.yaml"
    spec.write_text('service: demo\ninclude: ["nul\\0.yaml"]\n')
    assert _read_error(spec) == "OBS009"


# -- nodes: one budget for the spec and its includes -----------------------------------------------------------


def _nodes(text: str) -> int:
    budget = yamlsource.NodeBudget()
    yamlsource.load_text(text, "x.yaml", budget)
    return yamlsource.MAX_NODES - budget.left


def _node_split(tmp_path: Path, extra: int) -> Path:
    """A spec and one include whose nodes add up to MAX_NODES + extra (aliases expand a list in each)."""
    main_head = "service: demo\ninclude: [inc.yaml]\nx: &a [{}]\ny: [*a, *a]\n"
    inc_head = "z: &a [{}]\nw: [*a, *a]\npad: [{}]\n"
    unit = _nodes(main_head.format("0")) - _nodes(main_head.format(""))  # nodes one aliased list item adds
    base = _nodes(main_head.format("")) + _nodes(inc_head.format("", ""))
    left = yamlsource.MAX_NODES + extra - base
    half = left // (2 * unit)
    rest = (left - half * unit) // unit
    pad = left - (half + rest) * unit  # one node per item of an unaliased list
    (tmp_path / "inc.yaml").write_text(inc_head.format(", ".join(["0"] * rest), ", ".join(["0"] * pad)))
    main = tmp_path / "obsctl.yaml"
    main.write_text(main_head.format(", ".join(["0"] * half)))
    assert _nodes(main.read_text()) + _nodes((tmp_path / "inc.yaml").read_text()) == (
        yamlsource.MAX_NODES + extra
    )
    return main


def test_nodes_at_the_limit_across_includes_load(tmp_path):
    data, _ = loader.read_raw(_node_split(tmp_path, 0))
    assert data["service"] == "demo"


def test_one_node_past_the_limit_across_includes_is_obs006(tmp_path):
    """Each file is well under the limit alone: the budget is shared, so 40 files cannot read 40 times it."""
    main = _node_split(tmp_path, 1)
    assert _nodes(main.read_text()) < yamlsource.MAX_NODES
    assert _read_error(main) == "OBS006"


# -- values -------------------------------------------------------------------------------------------------------


def _load(text: str) -> object:
    return yamlsource.load_text(text, "x.yaml")[0]


def _load_error(text: str) -> str:
    with pytest.raises(SpecError) as e:
        _load(text)
    return e.value.diagnostics[0].code


def test_strings_at_the_limit_load_and_one_past_is_obs001():
    n = yamlsource.MAX_STRING_CHARS
    assert _load(f"a: {'x' * n}\n") == {"a": "x" * n}
    assert _load_error(f"a: {'x' * (n + 1)}\n") == "OBS001"
    assert _load_error(f"'{'k' * (n + 1)}': 1\n") == "OBS001"


def test_numbers_at_the_digit_limit_load_and_one_past_is_obs001():
    n = yamlsource.MAX_NUMBER_DIGITS
    assert _load(f"a: {'9' * n}\n") == {"a": int("9" * n)}
    assert _load_error(f"a: {'9' * (n + 1)}\n") == "OBS001"
    assert _load_error(f"a: 0x{'f' * 4000}\n") == "OBS001"  # a hex number Python reads but cannot print


@pytest.mark.parametrize(
    "text",
    [
        "labels: " + "[" * 50_000 + "]" * 50_000 + "\n",
        "labels: " + "{a: " * 30_000 + "1" + "}" * 30_000 + "\n",
        "labels:\n" + "- " * 30_000 + "x\n",
        "labels:\n" + "? " * 60_000 + "x\n",
        "labels:\n" + "- ? " * 30_000 + "x\n",
        "labels:\n? a\n: " + "- " * 60_000 + "x\n",
        "labels:\r" + "- " * 60_000 + "x\n",
        "labels:\u2028" + "- " * 60_000 + "x\n",
    ],
    ids=[
        "flow-lists-50000",
        "flow-maps-30000",
        "compact-dashes-30000",
        "compact-keys-60000",
        "dash-key-30000",
        "explicit-value-60000",
        "carriage-return-lines",
        "line-separator-lines",
    ],
)
def test_nesting_far_past_the_limit_is_obs013_not_a_crash(tmp_path, text):
    """libyaml's composer recurses per level in C and overflowed the stack (a segfault) at 50,000: such text goes
    to the pure-Python composer, which stops at MAX_DEPTH. In a child process, so a crash fails the test."""
    spec = tmp_path / "deep.yaml"
    spec.write_text("service: demo\n" + text, newline="")
    proc = subprocess.run(
        [sys.executable, "-c", "from obsctl.cli import main; main()", "validate", str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "OBS013" in proc.stdout + proc.stderr


def test_the_nesting_bound_keeps_ordinary_specs_on_libyaml():
    for spec in ROOT.glob("examples/*/obsctl.yaml"):
        assert not yamlsource.may_nest_deeper(spec.read_text(), yamlsource._C_COMPOSER_SAFE_DEPTH), spec


# -- tags --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'a: !!python/object/apply:os.system "echo"',
        "a: !!binary aGVsbG8=",
        "a: !!timestamp 2024-01-01",
        "!foo a: 1",
        "!!int 5: 1",
        "a: !!int abc",
        "a: !!bool maybe",
        "a: !!float x1",
        'a: !!int "5"',
    ],
)
def test_tags_other_than_the_core_schema_are_obs001_wherever_they_stand(text):
    assert _load_error(text + "\n") == "OBS001"


@pytest.mark.parametrize(
    "text, value",
    [
        ("a: !!str 123", "123"),
        ("a: !!str true", "true"),
        ("a: !!int 5", 5),
        ("a: !!float 1", 1.0),
        ("a: !!bool false", False),
        ("a: !!null ~", None),
        ('a: "123"', "123"),
        ("a: 123", 123),
        ('a: ! "123"', "123"),  # the non-specific tag: quotes keep it text
        ("a: ! |\n  123", "123\n"),
    ],
)
def test_core_schema_tags_read_as_they_say(text, value):
    assert _load(text + "\n") == {"a": value}


def test_the_key_equals_sign_reads_as_written():
    assert _load("=: 1\n") == {"=": 1}


# -- the model and tests -------------------------------------------------------------------------------------------


SPEC = """\
service: demo
metrics:
  queue_depth: {kind: gauge}
alerts:
  Q: {severity: page, when: queue_depth > 5, runbook: "https://runbooks.example.org/q"}
"""


@pytest.mark.parametrize(
    "extra",
    [
        "targets: {prometheus: {evaluation_interval: 0s}}\n",
        "sources: {metrics: {scrape_interval: 0}}\n",
        "tests: [{name: t, interval: 0s, series: {queue_depth: '10x10'}, expect: [{at: 5m, firing: [Q]}]}]\n",
    ],
)
def test_a_zero_interval_is_refused_at_validate(tmp_path, extra):
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(SPEC + extra)
    assert _codes(spec, targets=True) == ["OBS104"]


@pytest.mark.parametrize(
    "text, limit",
    [
        ("service: " + "a" * (model.MAX_SERVICE_NAME + 1) + "\n", False),
        ("service: " + "a" * model.MAX_SERVICE_NAME + "\n", True),
        (
            "service: demo\nmetrics: {up: {kind: gauge}}\nalerts: {"
            + "A" * (model.MAX_ENTRY_NAME + 1)
            + ": {severity: page, when: up == 0}}",
            False,
        ),
        (
            "service: demo\nmetrics: {up: {kind: gauge}}\nalerts: {"
            + "A" * model.MAX_ENTRY_NAME
            + ": {severity: page, when: up == 0}}",
            True,
        ),
        ("service: demo\ndashboards: {" + "d" * (model.MAX_ENTRY_NAME + 1) + ": {title: x}}", False),
        ("service: demo\ndashboards: {" + "d" * model.MAX_ENTRY_NAME + ": {title: x}}", True),
    ],
)
def test_names_that_become_file_names_are_bounded(tmp_path, text, limit):
    """A 300-character name passed validate and failed build with 'File name too long'."""
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(text + "\n")
    codes = _codes(spec, targets=True)
    assert codes == [] if limit else codes == ["OBS100"]


def _with_test(tmp_path: Path, series: str, at: str, interval: str = "1m") -> Path:
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(
        SPEC + f"tests:\n  - {{name: t, interval: {interval}, series: {{queue_depth: '{series}'}}, "
        f"expect: [{{at: {at}, firing: [Q]}}]}}\n"
    )
    return spec


def test_series_samples_at_the_limit_load_and_one_past_is_refused():
    n = promsim.MAX_SAMPLES
    assert len(promsim.parse_values(f"0+1x{n - 1}")) == n
    with pytest.raises(promsim.Unsupported, match="expand to over"):
        promsim.parse_values(f"0+1x{n}")
    with pytest.raises(promsim.Unsupported):
        promsim.parse_values("0+1x99999999999")  # refused before it is expanded


def test_a_test_series_that_never_ends_is_obs602_at_validate(tmp_path):
    assert _codes(_with_test(tmp_path, "0+1x99999999999", "10m"), targets=True) == ["OBS602"]


def test_test_steps_at_the_limit_validate_and_one_past_is_obs602(tmp_path):
    n = promsim.MAX_SAMPLES
    assert _codes(_with_test(tmp_path, "10x10", f"{n}s", "1s"), targets=True) == []
    assert _codes(_with_test(tmp_path, "10x10", f"{n + 1}s", "1s"), targets=True) == ["OBS602"]
    assert _codes(_with_test(tmp_path, "10x10", "100y"), targets=True) == ["OBS602"]


def test_spec_tests_without_the_prometheus_target_are_obs602(tmp_path):
    """The tests run on the Prometheus rules: a spec not for prometheus would drop every expectation."""
    spec = _with_test(tmp_path, "10x10", "5m")
    spec.write_text(spec.read_text() + "targets: {for: [alertmanager, loki]}\n")
    assert _codes(spec, targets=True) == ["OBS602"]


@pytest.mark.parametrize("values", ["0+1x" + "9" * 5000, "1 _x" + "9" * 5000, "1 _x\u00b2"])
def test_test_series_counts_past_what_python_reads_are_refused(values):
    """A 5,000-digit repeat count raised Python's int-digits ValueError; '²' passed str.isdigit()."""
    with pytest.raises(promsim.Unsupported):
        promsim.parse_values(values)


def test_slo_tier_names_are_bounded(tmp_path):
    """Tier names are part of Datadog file names (<service>.slo-<slo>-<tier>.json)."""
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(
        SPEC
        + "slos:\n  availability:\n    objective: 99.9\n"
        + "    sli: {good: queue_depth, total: queue_depth}\n"
        + "    alerting:\n      tiers:\n"
        + f"        - {{name: {'t' * (model.MAX_TIER_NAME + 1)}, long: 1h, short: 5m, factor: 14.4, action: page}}\n"
    )
    assert "OBS100" in _codes(spec, targets=True)


@pytest.mark.parametrize("field", ["group_interval", "repeat_interval"])
def test_alertmanager_intervals_of_zero_are_refused_at_validate(tmp_path, field):
    """Alertmanager refuses them ('cannot be zero'); validate passed them to a failing build."""
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(
        SPEC + f"routing:\n  {field}: 0s\n  severities: {{page: {{receivers: [ops]}}}}\n"
        "  receivers: {ops: {slack: {channel: '#ops', api_url_file: /etc/am/slack}}}\n"
    )
    assert _codes(spec, targets=True) == ["OBS104"]


def test_validate_with_stdout_closed_exits_without_a_traceback(tmp_path):
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(SPEC)
    proc = subprocess.run(
        f"{sys.executable} -c 'from obsctl.cli import main; main()' validate {spec} >&-",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in proc.stderr, proc.stderr


def test_two_tests_with_one_name_are_obs603(tmp_path):
    """`obsctl test` reports by test name: a failing test marked its passing twin as failed too."""
    spec = _with_test(tmp_path, "10x10", "5m")
    text = spec.read_text()
    spec.write_text(text + text[text.index("  - {name: t") :])
    assert _codes(spec, targets=True) == ["OBS603"]


@pytest.mark.parametrize("stream", ["{}", "{service: ''}"])
def test_a_log_event_with_an_empty_stream_is_obs244(tmp_path, stream):
    """Found by the spec fuzz (seed 21): validate passed, and Loki's parser refused the `{}` build wrote."""
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(
        SPEC + "sources: {logs: {type: loki}}\n"
        f"events:\n  failed: {{stream: {stream}, message: failed}}\n"
    )
    assert _codes(spec, targets=True) == ["OBS244"]
