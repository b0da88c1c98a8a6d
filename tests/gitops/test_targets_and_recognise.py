"""`--target a,b` and repeated `-t`, and how `validate --only-specs` tells a spec from other YAML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.model import Spec
from obsctl.recognise import SPEC_KEYS, is_spec, is_spec_text

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "examples" / "asset-ws" / "obsctl.yaml"


def _tops(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if not p.name.startswith(".")}


@pytest.mark.parametrize(
    "args",
    [
        ["-t", "prometheus,loki"],
        ["-t", "prometheus", "-t", "loki"],
        ["--target", "prometheus, loki"],
        ["-t", "prometheus,loki,prometheus"],
    ],
)
def test_targets_by_comma_or_repeated(tmp_path, args):
    """`--target prometheus,loki` was refused ("invalid choice"); commas and repeats now mean the same."""
    result = CliRunner().invoke(app, ["build", str(SPEC), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 0, result.output
    assert _tops(tmp_path / "o") == {"prometheus", "loki"}


def test_target_all_in_a_list_means_every_target(tmp_path):
    result = CliRunner().invoke(app, ["build", str(SPEC), "--out", str(tmp_path / "o"), "-t", "loki,all"])
    assert result.exit_code == 0, result.output
    assert _tops(tmp_path / "o") == {"prometheus", "loki", "alertmanager", "grafana", "datadog"}


def test_an_unknown_target_in_a_list_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        app, ["build", str(SPEC), "--out", str(tmp_path / "o"), "-t", "prometheus,lokki"]
    )
    assert result.exit_code == 2
    assert "'lokki' is not one of prometheus, loki, alertmanager, grafana, datadog, all" in result.output
    assert not (tmp_path / "o").exists()


def test_target_completion_offers_the_registry_after_a_comma():
    from obsctl.cli import _complete_target

    assert _complete_target("pro") == ["prometheus"]
    assert _complete_target("prometheus,l") == ["prometheus,loki"]


def test_spec_keys_are_the_models():
    assert SPEC_KEYS | {"service"} == {f.alias or name for name, f in Spec.model_fields.items()}


@pytest.mark.parametrize(
    "text",
    [
        SPEC.read_text(encoding="utf-8"),
        "service: api\nalerts: {}\n",
        "service: 'api'\nalerts:\n  X: {severity: P1, when: [broken\n",  # a broken spec is still a spec (and fails)
        "# yaml-language-server: $schema=../specs/obsctl.schema.json\nrouting: {}\n",  # a fragment that opts in
    ],
)
def test_specs_are_recognised(text):
    assert is_spec_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        "replicaCount: 2\nservice:\n  type: ClusterIP\nmetrics:\n  enabled: true\n",  # Helm values
        "services:\n  web: {image: nginx}\n",  # compose
        "service: api\nimage: x\n",  # a service name but nothing of a spec
        "jobs: [unclosed\n",
        "routing:\n  receivers: {}\n",  # a fragment only included by specs
    ],
)
def test_other_yaml_is_not(text):
    assert not is_spec_text(text)


def test_a_file_named_obsctl_yaml_is_always_a_spec(tmp_path):
    (tmp_path / "obsctl.prod.yaml").write_text("{}\n")
    assert is_spec(tmp_path / "obsctl.prod.yaml")
    assert not is_spec(tmp_path / "missing.yaml")


def test_validate_only_specs_skips_unrelated_yaml(tmp_path):
    shutil.copy(SPEC, tmp_path / "svc.yaml")
    (tmp_path / "values.yaml").write_text("service:\n  port: 80\nmetrics: {enabled: true}\n")
    (tmp_path / "broken.yml").write_text("a: [\n")
    files = [str(tmp_path / n) for n in ("svc.yaml", "values.yaml", "broken.yml")]
    result = CliRunner().invoke(app, ["validate", "--only-specs", *files])
    assert result.exit_code == 0, result.output
    assert "svc.yaml: ok" in result.output and "values.yaml" not in result.output
    assert (
        CliRunner().invoke(app, ["validate", *files]).exit_code == 1
    )  # without the flag every file is a spec


def test_progress_is_silent_when_stderr_is_not_a_terminal(capsys):
    """CI logs and redirected output get no spinner or bar; the work still runs."""
    from obsctl.progress import status, track

    with status("working"):
        done = list(track(range(3), "steps", total=3))
    assert done == [0, 1, 2]
    assert capsys.readouterr() == ("", "")
