"""`obsctl docs` for every example: the pages' links resolve, every dashboard picture parses as SVG and shows every
panel title of the built dashboard, and the catalog says what each alert means, where it goes and how it differs
per environment."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsctl.build import render
from obsctl.cli import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent.name for p in (REPO / "examples").glob("*/obsctl.yaml"))
SVG = "{http://www.w3.org/2000/svg}"
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for name in EXAMPLES:
        folder = tmp_path_factory.mktemp(name) / "docs"
        result = CliRunner().invoke(
            app, ["docs", str(REPO / "examples" / name / "obsctl.yaml"), "--out", str(folder)]
        )
        assert result.exit_code == 0, result.output
        out[name] = folder
    return out


def _ids(page: Path) -> set[str]:
    return set(re.findall(r'<a id="([^"]+)"></a>', page.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_link_resolves(docs, name):
    folder = docs[name]
    pages = sorted(folder.glob("*.md"))
    assert {p.name for p in pages} == {"oncall.md", "alerts.md"}
    checked = 0
    for page in pages:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+://", target):
                continue
            path, _, fragment = target.partition("#")
            dest = (page.parent / path) if path else page
            assert dest.is_file(), f"{page.name}: {target} does not exist"
            if fragment:
                assert fragment in _ids(dest), f"{page.name}: {target} has no anchor {fragment}"
            checked += 1
    assert checked > 0


def _titles(panels: list) -> list[tuple[str, str]]:
    out = []
    for p in panels:
        out.append((p.get("title", ""), p.get("type", "")))
        out += _titles(p.get("panels") or [])
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_dashboard_pictures_show_every_panel(docs, name):
    artifacts, _, _ = render(REPO / "examples" / name / "obsctl.yaml", ["grafana"], None)
    built = {
        Path(a.path).stem: json.loads(a.text) for a in artifacts if a.path.startswith("grafana/dashboards/")
    }
    assert built
    oncall = (docs[name] / "oncall.md").read_text(encoding="utf-8")
    for uid, model in built.items():
        svg = docs[name] / "dashboards" / f"{uid}.svg"
        assert f"](dashboards/{uid}.svg)" in oncall
        root = ET.parse(svg).getroot()
        assert root.tag == f"{SVG}svg"
        shown = []
        for g in root.iter(f"{SVG}g"):
            if g.get("class") == "panel":
                text = g.find(f"{SVG}text")
                words = " ".join("".join(t.itertext()).strip() for t in text.iter(f"{SVG}tspan")) or "".join(
                    text.itertext()
                ).removesuffix(" (collapsed)")
                shown.append((words, g.get("data-kind")))
        assert shown == _titles(model.get("panels") or []), uid


def test_a_dashboard_picture_keeps_collapsed_rows_apart():
    from obsctl.layout import _placed

    panels = [
        {
            "type": "row",
            "title": "r",
            "collapsed": True,
            "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
            "panels": [{"type": "stat", "title": "a", "gridPos": {"x": 0, "y": 1, "w": 12, "h": 4}}],
        },
        {"type": "timeseries", "title": "b", "gridPos": {"x": 0, "y": 1, "w": 24, "h": 8}},
    ]
    assert [(p["title"], y, inner) for p, y, inner in _placed(panels)] == [
        ("r", 0, False),
        ("a", 1, True),
        ("b", 5, False),
    ]


def test_the_catalog_says_what_an_alert_means_and_where_it_goes(docs):
    text = (docs["asset-ws"] / "alerts.md").read_text(encoding="utf-8")
    section = text.split("## APIHighErrorRate", 1)[1].split("\n## ", 1)[0]
    assert (
        "Fires when `api_error_rate_5m` is at or above 0.05 and has held for 10m, and only while "
        "`sum(delta(api_requests_total)) >= 100` (volume guard)."
    ) in section
    assert "| severity | P1 (user-visible outage or severe degradation) |" in section
    assert "| receivers | `pager` |" in section and "| for | 10m |" in section
    assert "- `api_requests_total`: counter: API requests served" in section
    assert (
        "- [asset-ws operations](oncall.md#dashboard-asset-ws-ops): *API request volume (5m rate)*, "
        "*API error rate (%)*"
    ) in section
    p2 = (
        (docs["asset-ws"] / "alerts.md")
        .read_text()
        .split("## APILatencyRegression", 1)[1]
        .split("\n## ", 1)[0]
    )
    assert "| receivers | `oncall`, `incidents` |" in p2


def test_thresholds_per_environment(docs):
    text = (docs["relay-ai"] / "alerts.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (base|beta|prod) \| > (0\.[23]) \(\$latency_p95_max\) \|", text, re.M)
    assert ("beta", "0.3") in rows and ("prod", "0.2") in rows and ("base", "0.2") in rows


def test_slos_with_their_budgets(docs):
    text = (docs["asset-forge"] / "oncall.md").read_text(encoding="utf-8")
    assert (
        "| [availability](#slo-availability) | 99.9% | 30d | 0.1% of events | 43m12s of total outage |"
        in text
    )
    assert "| page-fast | page | 14.4x | 1h and 5m | 1.44% | 2d2h | critical | `pagerduty-oncall` |" in text


def test_a_broken_spec_writes_no_docs(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("service: s\nalerts: {A: {severity: P1, when: nope > 1}}\n")
    result = CliRunner().invoke(app, ["docs", str(spec), "--out", str(tmp_path / "d")])
    assert result.exit_code == 1 and "OBS201" in result.output
    assert not (tmp_path / "d").exists()


def test_the_readme_shows_the_committed_screenshot():
    shot = REPO / "docs" / "img" / "oncall-asset-ws.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "docs/img/oncall-asset-ws.png" in (REPO / "README.md").read_text(encoding="utf-8")
