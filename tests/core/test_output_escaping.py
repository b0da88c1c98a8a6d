"""What obsctl writes reads back as exactly the spec's values: comments cannot be ended early by a value (the spec's
file name, an SLI label value in a `# not generated:` note), and YAML scalars keep control characters and the
Unicode line breaks (U+0085, U+2028, U+2029) that YAML 1.1 readers would otherwise fold. PyYAML reads every
case here; promtool and amtool (Go's yaml) read the ones that matter to Prometheus and Alertmanager."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from obsctl.starter import STARTER
from obsctl.templating import _dump_scalar, _str_scalar, to_comment, to_yaml_block, to_yaml_scalar
from obsctl.verify.promtool import test_rules

# Each was folded, cut or changed by the old filters, or needs escapes to survive any YAML reader.
AWKWARD = [
    "a\x85b",
    "a\u2028b",
    "a\u2029b",
    "a\n\u2028b",
    "a\n\x85",
    "a\n b\n",
    "a\r\nb",
    "tab\there",
    "bell\x07",
    "del\x7f",
    "c1\x9b",
    "bom\ufeff",
    " lead",
    "trail ",
    "\n",
    "",
    "#not a comment",
    "a: b",
    "- x",
    "{{ $value }}",
    "'quoted' \"twice\"",
    "back\\slash",
    "emoji \U0001f600",
    "nbsp\xa0",
    "v\xa0",
    "\u3000ideographic",
    "yes",
    "null",
    "0o17",
    "1e3",
    "~",
]


@pytest.mark.parametrize("value", AWKWARD)
def test_yaml_scalar_round_trips(value):
    """`k: {{ v | yaml }}` and `{{ {k: v} | yaml_block }}` read back as exactly `v` (U+0085 and U+2028 used to fold)."""
    assert yaml.safe_load(f"k: {to_yaml_scalar(value)}\n") == {"k": value}
    assert yaml.safe_load(f"k: [{to_yaml_scalar(value)}]\n") == {"k": [value]}
    assert yaml.safe_load("x:\n  - " + to_yaml_block({"k": value, "after": 1}, 4) + "\n") == {
        "x": [{"k": value, "after": 1}]
    }


# What the plain-string fast path could get wrong: YAML indicators at either end or inside, words and numbers the
# resolver reads as something else (YAML 1.1 booleans, sexagesimal numbers, timestamps, `=`, `<<`), whitespace.
_TRICKY = st.text(
    alphabet=st.sampled_from(
        list("aAyYnNoOeE019_./-+:#,?&*!|>'\"%@`[]{}=<~ \t\n()$;\\^") + ["\x85", "\xa0", "é"]
    ),
    max_size=12,
) | st.sampled_from(
    [
        "yes",
        "No",
        "ON",
        "off",
        "y",
        "n",
        "true",
        "False",
        "null",
        "Null",
        "~",
        "=",
        "<<",
        ".inf",
        "-.inf",
        ".nan",
        "1_000",
        "0x1F",
        "0o17",
        "017",
        "0b101",
        "190:20:30",
        "1:20",
        "1.5e3",
        "6.8523015e+5",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
        "0+1x7",
        "5m",
        "a:b",
        "a: b",
        "a :b",
        "a #b",
        "a#b",
        "a:",
        "/x",
        "_",
        'x{job="a", route="500"}',
        "..",
        "...x",
        "---x",
        "a,b",
    ]
)


@settings(max_examples=600, deadline=None)
@given(_TRICKY)
def test_yaml_scalar_fast_path_writes_what_yaml_dump_writes(value):
    """The plain-string fast path (a build of 1,000 alerts writes 40,000 scalars) gives the emitter's output exactly."""
    _str_scalar.cache_clear()
    assert to_yaml_scalar(value) == _dump_scalar(value)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("Alert0", "Alert0"),
        ("0+1x7", "0+1x7"),
        ('requests_0_total{job="scale", route="500"}', 'requests_0_total{job="scale", route="500"}'),
        ("alert 0: it's 50%", "'alert 0: it''s 50%'"),
        ("yes", "'yes'"),
    ],
)
def test_yaml_scalar_fast_path_is_taken(value, written, monkeypatch):
    """One-line ASCII strings do not run the emitter (it was one yaml.dump per scalar)."""
    _str_scalar.cache_clear()
    monkeypatch.setattr(yaml, "dump", None)  # the fast path must not need it
    assert to_yaml_scalar(value) == written


@pytest.mark.parametrize(
    "value", ["a\x85b", "a\u2028b", " lead", "trail ", "a\n\u2028b", "tab\there", "v\xa0"]
)
def test_unsafe_strings_are_double_quoted(value):
    """Double quotes are the only YAML style whose escapes every reader (PyYAML, yaml.v2, yaml.v3) decodes alike."""
    assert to_yaml_scalar(value).startswith('"')
    assert to_yaml_block({"k": value}).startswith('k: "')


def test_multi_line_text_stays_readable():
    assert to_yaml_block({"k": "line one\nline two"}) == "k: |-\n  line one\n  line two"


@pytest.mark.parametrize(
    "value", ["a\nb", "a\rb", "a\x85b", "a\u2028b", "a\u2029b", "a\x00b", "a\x1bb", "a\ufeffb"]
)
def test_comment_text_stays_on_its_line(value):
    text = f"# {to_comment(value)}\nk: 1\n"
    assert yaml.safe_load(text) == {"k": 1}
    assert len(text.splitlines()) == 2  # str.splitlines breaks at U+0085 and U+2028 too
    assert to_comment("plain: text {{ x }} 'q'") == "plain: text {{ x }} 'q'"


INJECTION = (
    "x\u2028inhibit_rules: [{source_matchers: ['a=b'], target_matchers: ['c=d'], equal: [x]}]\u2028#.yaml"
)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "obsctl.yaml"  # the spec `obsctl init` writes: it builds to every target
    path.write_text(STARTER.format(service="svc", path=path.name), encoding="utf-8")
    return path


def test_file_name_cannot_add_alertmanager_config(spec, build, amtool, tmp_path):
    """The spec's file name is in every header comment: U+2028 in it used to end the comment, so the name added
    an inhibit rule that amtool accepted."""
    hostile = spec.rename(spec.with_name(INJECTION))
    files = build(hostile, ["all"])
    for path, text in files.items():
        if path.endswith((".yml", ".yaml")):
            assert text.splitlines()[0].startswith("# Generated by obsctl from x\\u2028inhibit_rules"), path
            assert "inhibit_rules" not in (yaml.safe_load(text) or {}), path
    am = tmp_path / "alertmanager.yml"
    am.write_text(files["alertmanager/alertmanager.yml"], encoding="utf-8")
    out = subprocess.run([amtool, "check-config", str(am)], capture_output=True, text=True, check=True).stdout
    assert "0 inhibit rules" in out, out


def test_sli_label_value_cannot_add_test_file_keys(spec, build):
    """An SLI selector's label value is quoted in the `# not generated:` note of the SLO tests; a raw U+2028 in it
    used to end the comment and add a key to the promtool test file."""
    text = spec.read_text(encoding="utf-8").replace(
        '      bad: http_requests_total{code=~"5.*"}\n      total: http_requests_total\n',
        '      bad: "http_requests_total{code=\\"5\\u2028evaluation_interval: 1h\\"}"\n'
        "      total: 'http_requests_total{code=\"2\"}'\n",
    )
    assert "evaluation_interval: 1h" in text
    spec.write_text(text, encoding="utf-8")
    tests = build(spec, ["prometheus"])["prometheus/svc.slo.tests.yml"]
    notes = [line for line in tests.splitlines() if line.startswith("# not generated:")]
    assert len(notes) == 1 and 'code="5\\u2028evaluation_interval: 1h"' in notes[0]
    assert yaml.safe_load(tests)["evaluation_interval"] != "1h"


def test_promtool_reads_label_and_summary_values_exactly(spec, build, promtool, tmp_path):
    """U+0085 in a label value and U+2028 after a newline in a summary used to be folded on output: the alert
    Prometheus raised carried other values than the spec's. The expected values here are ASCII escapes, which
    Go's yaml decodes independently of how obsctl quoted the rule file."""
    text = spec.read_text(encoding="utf-8").replace(
        "    for: 3m\n",
        '    for: 3m\n    labels: {team: "a\\x85b"}\n    summary: "down\\n\\u2028since {{ $value }}"\n',
        1,
    )
    spec.write_text(text, encoding="utf-8")
    rules = build(spec, ["prometheus"])["prometheus/svc.rules.yml"]
    (tmp_path / "svc.rules.yml").write_text(rules, encoding="utf-8")
    (tmp_path / "check.yml").write_text(
        textwrap.dedent("""\
        rule_files: [svc.rules.yml]
        evaluation_interval: 1m
        tests:
          - interval: 1m
            input_series:
              - {series: 'probe_success{instance="https://svc.example.org/health", job="blackbox-http_2xx"}',
                 values: '0x10'}
            alert_rule_test:
              - eval_time: 5m
                alertname: ServiceDown
                exp_alerts:
                  - exp_labels: {severity: page, service: svc, team: "a\\u0085b",
                                 instance: "https://svc.example.org/health", job: blackbox-http_2xx}
                    exp_annotations: {summary: "down\\n\\u2028since 0", title: Health check failing,
                                      runbook_url: "https://runbooks.example.org/svc"}
        """),
        encoding="utf-8",
    )
    ok, output = test_rules(tmp_path / "check.yml")
    assert ok, output


def test_promtool_accepts_escaped_comments(spec, tmp_path, promtool):
    """The escaped header keeps the generated files loadable: promtool checks the whole build."""
    hostile = spec.rename(spec.with_name(INJECTION))
    out = tmp_path / "out"
    obsctl = shutil.which("obsctl")
    assert obsctl
    done = subprocess.run(
        [obsctl, "build", str(hostile), "--target", "prometheus", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    ok, output = test_rules(out / "prometheus" / "svc.tests.yml")
    assert ok, output
