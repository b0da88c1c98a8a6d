"""YAML input edges: tags on mappings and lists are refused like tags on values, tabs get a hint, and `-` reads
the spec from standard input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from obsctl.pipeline import check

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("service: x\nlabels: !!python/object/apply:os.system {a: b}\n", 2, 9),
        ("service: x\nalerts: !!python/object/new:list []\n", 2, 9),
        ("service: x\ndefaults: !custom {window: 5m}\n", 2, 11),
    ],
    ids=["mapping", "list", "local-tag"],
)
def test_tags_on_collections_are_errors_at_their_position(tmp_path, text, line, column):
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    [d] = [d for d in check(spec).diagnostics if d.level == "error"]
    assert d.code == "OBS001" and "unsupported YAML tag" in d.message
    assert (d.location.line, d.location.column) == (line, column)


def test_core_collection_tags_are_accepted(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("service: x\nlabels: !!map {team: a}\n")
    assert check(spec).ok


def test_tab_indentation_gets_a_hint(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("service: x\nlabels:\n\tteam: a\n")
    [d] = check(spec).diagnostics
    assert d.code == "OBS001" and "tabs" in d.hint and d.location.line == 3


def test_dash_reads_the_spec_from_standard_input():
    text = (ROOT / "examples" / "asset-ws" / "obsctl.yaml").read_text()
    proc = subprocess.run(
        [sys.executable, "-m", "obsctl.cli", "validate", "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT / "examples" / "asset-ws",
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "<stdin>: ok"
    bad = subprocess.run(
        [sys.executable, "-m", "obsctl.cli", "validate", "-"],
        input="service: [\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and bad.stderr.startswith("<stdin>:"), bad.stderr


# obsctl already reads `on`, `010` and `17:00` as written; hex and exponents are still numbers.
@pytest.mark.parametrize(("written", "read"), [("0x200", "int 512"), ("1e3", "float 1000.0")])
def test_yaml_1_1_surprises_in_text_fields_get_a_hint_to_quote(tmp_path, written, read):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "service: x\ntests:\n  - name: t\n    series:\n      'up{job=\"x\"}': "
        + written
        + "\n    expect: [{at: 1m, quiet: []}]\n"
    )
    errors = [d for d in check(spec).diagnostics if d.code == "OBS103"]
    assert errors, [d.message for d in check(spec).diagnostics]
    assert (
        f"'{written}'" in errors[0].hint
        and read in errors[0].hint
        and (errors[0].location.line, errors[0].location.column) == (5, 22)
    )


@pytest.mark.parametrize("written", ["010", "0755", "17:00"])
def test_yaml_1_1_numbers_in_test_values_are_read_as_written(tmp_path, written):
    """YAML 1.1 reads 010 as 8 (octal) and 17:00 as 1020 (base 60); obsctl reads them as the text written, so the
    series notation gets exactly what the spec says and there is nothing to warn about."""
    from obsctl.loader import read_raw

    spec = tmp_path / "spec.yaml"
    spec.write_text(f"service: x\ntests:\n  - name: t\n    series:\n      up: {written}\n")
    assert read_raw(spec)[0]["tests"][0]["series"]["up"] == written
