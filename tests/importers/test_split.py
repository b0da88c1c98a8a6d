"""A spec over the 2 MiB obsctl reads in one file is split into the main spec and `include:` files under
`<stem>.d/`, each under the limit, instead of stopping with OBS825: it validates and builds the same rules as one
file would. The limit is lowered here so that 45 of kube-prometheus' rules are "large" (the real 5,000-rule case is
`benchmarks/import_rules.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import obsctl.importers.specfile as specfile
import obsctl.yamlsource as yamlsource
from obsctl.cli import app
from obsctl.importers.prometheus import import_rules
from obsctl.pipeline import check

LIMIT = 12_000
FILES = (
    "nodeExporter-prometheusRule.yaml",
    "kubeStateMetrics-prometheusRule.yaml",
)  # 45 rules, ~30 kB of spec


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # only the importer's view of the limit: the loader still reads 2 MiB, so each part must simply be under LIMIT
    monkeypatch.setattr(yamlsource, "MAX_FILE_BYTES", LIMIT)
    monkeypatch.setattr(specfile, "PART_BYTES", LIMIT // 2)


def test_a_spec_over_the_file_limit_is_split_into_includes_that_build_the_same_rules(
    corpus: Path, tmp_path: Path, small_limit: None, build
) -> None:
    """Before: OBS825 and nothing written. Now: main spec + parts, each under the limit, same built rules."""
    paths = [corpus / f for f in FILES]
    out = tmp_path / "kp.yaml"
    result = CliRunner().invoke(
        app,
        ["import", "prometheus", *map(str, paths), "--service", "kp", "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output  # 1: the report lists verbatim rules, not an error
    assert "OBS825" not in result.output
    main = yaml.safe_load(out.read_text())
    parts = sorted((tmp_path / "kp.d").glob("part-*.yaml"))
    assert main["include"] == [
        f"kp.d/{p.name}" for p in sorted(parts, key=lambda p: int(p.stem.split("-")[1]))
    ]
    assert len(parts) >= 3
    assert all(p.stat().st_size <= LIMIT for p in [out, *parts])
    assert not {"alerts", "derived", "metrics"} & set(main)
    checked = check(out)
    assert checked.ok, [f"{d.code} {d.message}" for d in checked.diagnostics if d.level == "error"]
    split_rules = build(out, ["prometheus"])["prometheus/kp.rules.yml"]

    whole = tmp_path / "whole" / "kp.yaml"
    whole.parent.mkdir()
    doc, _ = import_rules(paths, "kp")
    whole.write_text(doc.text(), encoding="utf-8")
    assert (
        split_rules.split("\n", 1)[1]
        == build(whole, ["prometheus"])["prometheus/kp.rules.yml"].split("\n", 1)[1]
    )


def test_a_split_spec_cannot_go_to_standard_output(corpus: Path, small_limit: None) -> None:
    """OBS826: the parts need a folder; nothing is printed as the spec."""
    paths = [corpus / f for f in FILES]
    result = CliRunner().invoke(app, ["import", "prometheus", *map(str, paths)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "OBS826" in result.output and "--out" in result.output
    assert "alerts:" not in result.output
