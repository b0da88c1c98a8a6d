"""`targets.prometheus.engine`: every example's rules in the shape Mimir/Cortex (mimirtool namespace files), the
Thanos ruler and vmalert load, checked by the real vmalert (`vmalert -dryRun`) and by reading the Mimir and Thanos
files back with the structure their loaders read (no Mimir or Thanos server runs here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from obsctl.backends.prometheus import engines
from obsctl.build import render
from obsctl.verify import Problem, Skipped
from obsctl.verify.vmalert import check_rules

REPO = Path(__file__).resolve().parents[2]
SPECS = sorted(REPO.glob("examples/*/obsctl.yaml"))


def build_engine(spec: Path, tmp: Path, **prometheus: object) -> dict[str, str]:
    """The example built with `targets.prometheus` extended by `prometheus` (engine and its options)."""
    data = yaml.safe_load(spec.read_text())
    data.setdefault("targets", {}).setdefault("prometheus", {}).update(prometheus)
    folder = tmp / spec.parent.name
    shutil.copytree(spec.parent, folder, ignore=shutil.ignore_patterns("build"))
    (folder / "obsctl.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    artifacts, diags, _ = render(folder / "obsctl.yaml", ["prometheus"], None)
    errors = [f"{d.code} {d.message}" for d in diags if d.level == "error"]
    assert not errors, errors
    return {a.path: a.text for a in artifacts}


def _rule_groups(built: dict[str, str]) -> list[dict]:
    """Every group of the plain Prometheus rule files, in file order."""
    out = []
    for path, text in sorted(built.items()):
        if path.endswith(".rules.yml"):
            out += yaml.safe_load(text)["groups"]
    return out


def test_engine_prometheus_writes_no_engine_file(tmp_path: Path) -> None:
    built = build_engine(REPO / "examples" / "asset-forge" / "obsctl.yaml", tmp_path)
    assert not [p for p in built if engines.engine_of(p)], sorted(built)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.parent.name)
def test_every_example_passes_vmalert_dry_run(spec: Path, tmp_path: Path, require_tool) -> None:
    """The issue's must-hold: each example's rules, as vmalert loads them, pass `vmalert -dryRun`."""
    require_tool("vmalert")
    built = build_engine(spec, tmp_path, engine="victoriametrics", concurrency=2)
    path = f"prometheus/{yaml.safe_load(spec.read_text())['service']}.vmalert.yml"
    if not _rule_groups(built):
        assert path not in built
        pytest.skip(f"{spec.parent.name} has no Prometheus rules")
    doc = yaml.safe_load(built[path])
    # The same groups as the Prometheus rule files, each with vmalert's group options.
    assert [
        {k: v for k, v in g.items() if k not in ("type", "concurrency")} for g in doc["groups"]
    ] == _rule_groups(built)
    assert all(g["type"] == "prometheus" and g["concurrency"] == 2 for g in doc["groups"])
    staged = tmp_path / "vmalert.yml"
    staged.write_text(built[path])
    assert check_rules([(path, staged)]) == []


def test_vmalert_dry_run_reports_what_it_refuses(tmp_path: Path, require_tool) -> None:
    require_tool("vmalert")
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: rate(x[5m]) >>\n")
    problems = check_rules([("prometheus/svc.vmalert.yml", bad)])
    assert len(problems) == 1 and problems[0].file == "prometheus/svc.vmalert.yml", problems
    assert "A" in problems[0].message and "bad.yml" not in problems[0].message, problems[0].message


def test_vmalert_missing_is_a_skipped_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without vmalert, build warns (OBS901) instead of failing, like promtool."""
    built = build_engine(REPO / "examples" / "asset-ws" / "obsctl.yaml", tmp_path, engine="victoriametrics")
    from obsctl.backends import Artifact

    monkeypatch.setattr("obsctl.verify.vmalert.find_tool", _missing)
    staging = tmp_path / "staging"
    arts = [Artifact(p, t) for p, t in built.items()]
    for a in arts:
        (staging / a.path).parent.mkdir(parents=True, exist_ok=True)
        (staging / a.path).write_text(a.text)
    found, plain = engines.verify(arts, staging)
    assert found == [Skipped("vmalert", "apt-get install victoria-metrics")]
    assert len(plain) == 1  # the groups still go to promtool


def _missing(name: str) -> str:
    from obsctl.verify.tools import ToolMissing

    raise ToolMissing(name)


def test_mimir_namespace_file_reads_back_as_mimirtool_reads_it(tmp_path: Path, promtool: str) -> None:
    """One namespace file per service: `namespace` is the service, every group of the service (recordings,
    alerts, SLOs) once, with unique names, source_tenants on each group; the groups pass promtool."""
    from obsctl.verify.promtool import check_rules as promtool_check

    built = build_engine(
        REPO / "examples" / "asset-forge" / "obsctl.yaml",
        tmp_path,
        engine="mimir",
        source_tenants=["team-a", "team-b"],
    )
    text = built["prometheus/asset-forge.mimir.yml"]
    doc = yaml.safe_load(text)
    assert list(doc) == ["namespace", "groups"] and doc["namespace"] == "asset-forge"
    assert engines.structure_problems("f", doc, "mimir") == []
    names = [g["name"] for g in doc["groups"]]
    assert names == [g["name"] for g in _rule_groups(built)] and len(set(names)) == len(names)
    assert {"asset-forge.recording", "asset-forge.alerts"} <= set(names)
    assert any(n.startswith("asset-forge.slo.") for n in names)
    assert all(g["source_tenants"] == ["team-a", "team-b"] for g in doc["groups"])
    plain = tmp_path / "plain.yml"
    plain.write_text(
        yaml.safe_dump(
            {"groups": [{k: v for k, v in g.items() if k != "source_tenants"} for g in doc["groups"]]}
        )
    )
    assert promtool_check([plain]) == []


def test_mimir_without_source_tenants_writes_none(tmp_path: Path) -> None:
    built = build_engine(REPO / "examples" / "asset-ws" / "obsctl.yaml", tmp_path, engine="mimir")
    doc = yaml.safe_load(built["prometheus/asset-ws.mimir.yml"])
    assert all("source_tenants" not in g for g in doc["groups"])


def test_thanos_rule_file_carries_partial_response_strategy(tmp_path: Path) -> None:
    built = build_engine(
        REPO / "examples" / "asset-forge" / "obsctl.yaml",
        tmp_path,
        engine="thanos",
        partial_response_strategy="warn",
    )
    doc = yaml.safe_load(built["prometheus/asset-forge.thanos.yml"])
    assert list(doc) == ["groups"] and doc["groups"]
    assert all(g["partial_response_strategy"] == "warn" for g in doc["groups"])
    assert engines.structure_problems("f", doc, "thanos") == []


@pytest.mark.parametrize(
    ("engine", "doc", "says"),
    [
        ("mimir", {"groups": []}, "needs a `namespace`"),
        (
            "mimir",
            {"namespace": "s", "groups": [{"name": "a", "rules": []}, {"name": "a", "rules": []}]},
            "group 'a' is repeated",
        ),
        (
            "thanos",
            {"groups": [{"name": "a", "rules": [], "source_tenants": ["x"]}]},
            "thanos does not read source_tenants",
        ),
        (
            "thanos",
            {"groups": [{"name": "a", "rules": [], "partial_response_strategy": "maybe"}]},
            "abort or warn",
        ),
        (
            "victoriametrics",
            {"groups": [{"name": "a", "rules": []}], "namespace": "s"},
            "unknown top-level field",
        ),
    ],
)
def test_engine_structure_problems(engine: str, doc: dict, says: str) -> None:
    problems = engines.structure_problems("f", doc, engine)
    assert any(says in p.message for p in problems), problems
    assert all(isinstance(p, Problem) for p in problems)
