"""`obsctl import grafana` on kube-prometheus' grafana-dashboardDefinitions.yaml (33 dashboards): the spec builds,
every dashboard passes the checks `build` runs (Grafana's schemas, obsctl's lint), and each built dashboard has
its source's panels, in order, with the same queries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from obsctl.importers import promql as pq
from obsctl.importers.grafana import PANEL_TYPES, import_files


def _panels(panels: list) -> list[dict]:
    """Grafana's panels top to bottom, left to right, rows' own panels after their row; rows left out."""

    def pos(p: dict) -> tuple:
        g = p.get("gridPos") or {}
        return (g.get("y", 0), g.get("x", 0))

    out = []
    for p in sorted(panels, key=pos):
        if p.get("type") == "row":
            out += _panels(p.get("panels") or [])
        else:
            out.append(p)
    return out


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return pq.normalise(a) == pq.normalise(b)
    except pq.PromQLError:
        return False


def test_corpus_dashboards_build_with_the_same_panels_and_queries(
    corpus: Path, tmp_path: Path, build, capsys: pytest.CaptureFixture
) -> None:
    source_file = corpus / "grafana-dashboardDefinitions.yaml"
    doc, report = import_files([source_file], "kube-prometheus")
    spec_path = tmp_path / "obsctl.yaml"
    spec_path.write_text(doc.text(), encoding="utf-8")
    files = build(spec_path, ["grafana"])  # schema checks and lint run in build's verify
    built = {
        json.loads(t)["uid"]: json.loads(t) for p, t in files.items() if p.startswith("grafana/dashboards/")
    }
    sources = [
        json.loads(text)
        for item in yaml.safe_load(source_file.read_text())["items"]
        for text in item["data"].values()
    ]
    assert len(sources) == 33 and len(built) == 33
    queries = 0
    for src in sources:
        got = built[src["uid"]]
        want = [p for p in _panels(src["panels"]) if p.get("type") in PANEL_TYPES]
        have = [p for p in _panels(got["panels"])]
        assert [p.get("title", "") for p in have] == [p.get("title", "") for p in want], src["title"]
        for w, h in zip(want, have, strict=True):
            w_exprs = [t["expr"] for t in w.get("targets") or [] if "expr" in t and not t.get("hide")]
            h_exprs = [t["expr"] for t in h.get("targets") or []]
            assert len(w_exprs) == len(h_exprs), (src["title"], w.get("title"))
            for a, b in zip(w_exprs, h_exprs, strict=True):
                assert _same(a, b), (src["title"], w.get("title"), a, b)
                queries += 1
            if w.get("targets"):
                assert [t.get("legendFormat", "") for t in w["targets"]] == [
                    t.get("legendFormat", "") for t in h.get("targets") or []
                ]
            unit = ((w.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
            if unit and not any(
                "the unit" in f.why and w.get("title", "") in f.item for f in report.findings
            ):
                assert h["fieldConfig"]["defaults"].get("unit") == unit
    assert queries == 581
    with capsys.disabled():
        c = report.counts[str(source_file)]
        print(
            f"\nkube-prometheus dashboards: {len(built)} built, {queries} queries the same, {c.translated} in "
            f"obsctl's language, {c.verbatim} verbatim"
        )
