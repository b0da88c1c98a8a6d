"""`obsctl test` stays linear in the alert count: each test group runs against a rule file holding only the rules it
needs (its alert rules and the recording rules they read, transitively), all files in one promtool process, and route
cases that differ only by alertname share one amtool run; the outcomes are those of the whole-file run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from test_cli_test import _require

from obsctl.testing import _routes_on_alertname, alert_outcomes, run_alert_tests, split_tests

REPO = Path(__file__).resolve().parents[1]
TEST_FILES = sorted(REPO.glob("examples/*/build/prometheus/*.tests.yml"))


def _copy(tmp_path: Path, test_file: Path) -> Path:
    shutil.copytree(test_file.parent, tmp_path / "prometheus")
    return tmp_path / "prometheus" / test_file.name


def _rules(path: Path) -> tuple[set[str], set[str]]:
    doc = yaml.safe_load(path.read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    return {r["alert"] for r in rules if "alert" in r}, {r["record"] for r in rules if "record" in r}


def test_each_split_file_holds_only_the_rules_its_groups_need(tmp_path):
    """asset-ws: every generated group used to run against all 5 alert rules and 4 recording rules."""
    test_file = _copy(tmp_path, REPO / "examples/asset-ws/build/prometheus/asset-ws.tests.yml")
    parts = split_tests(test_file, tmp_path / "split")
    assert len(parts) == 5  # one per alert: groups that need the same rules share a file
    for part in parts:
        doc = yaml.safe_load(part.read_text())
        checked = {c["alertname"] for g in doc["tests"] for c in g.get("alert_rule_test", [])}
        [rule_file] = doc["rule_files"]
        alerts, records = _rules(part.parent / rule_file)
        assert alerts == checked
        assert len(records) <= 1
        # every group of the original stays (group_eval_order names them)
        assert [g["name"] for g in yaml.safe_load((part.parent / rule_file).read_text())["groups"]] == [
            "asset-ws.recording",
            "asset-ws.alerts",
        ]


def test_a_rule_that_reads_any_series_keeps_the_whole_files(tmp_path):
    test_file = _copy(tmp_path, REPO / "examples/asset-ws/build/prometheus/asset-ws.tests.yml")
    rules = test_file.parent / "asset-ws.rules.yml"
    rules.write_text(
        rules.read_text().replace("expr: (service:", 'expr: count({__name__=~"x"}) or (service:', 1)
    )
    parts = split_tests(test_file, tmp_path / "split")
    whole = [p for p in parts if str(rules) in yaml.safe_load(p.read_text())["rule_files"]]
    assert len(whole) == 1


@pytest.mark.parametrize("test_file", TEST_FILES, ids=[f"{p.parts[-4]}/{p.name}" for p in TEST_FILES])
def test_split_run_reports_what_the_whole_file_run_does(tmp_path, test_file):
    from obsctl.verify.promtool import test_rules

    _require("promtool")
    test_file = _copy(tmp_path, test_file)
    whole = alert_outcomes(test_file, *test_rules([test_file]))
    split = alert_outcomes(test_file, *run_alert_tests([test_file], tmp_path / "split")[test_file])
    assert split == whole
    assert whole and all(o.status != "FAIL" for o in whole)


def test_split_run_reports_failures_as_the_whole_file_run_does(tmp_path):
    from obsctl.verify.promtool import test_rules

    _require("promtool")
    test_file = _copy(tmp_path, REPO / "examples/asset-ws/build/prometheus/asset-ws.tests.yml")
    text = test_file.read_text()
    assert "summary: API error rate is 10%" in text and "values: 0+10x30" in text
    test_file.write_text(text.replace("summary: API error rate is 10%", "summary: API error rate is 11%"))
    rules = test_file.parent / "asset-ws.rules.yml"
    rules.write_text(rules.read_text().replace("for: 3m", "for: 30m"))  # APIUnavailable fires too late now
    whole = alert_outcomes(test_file, *test_rules([test_file]))
    split = alert_outcomes(test_file, *run_alert_tests([test_file], tmp_path / "split")[test_file])
    assert split == whole
    failed = {o.alert for o in whole if o.status == "FAIL"}
    assert failed == {"APIHighErrorRate", "APIUnavailable"}


def test_route_cases_differing_only_by_alertname_share_one_amtool_run(monkeypatch):
    """asset-ws has 10 route cases in 3 label sets once alertname is left out: amtool ran 10 times."""
    from obsctl.pipeline import check
    from obsctl.testing import route_outcomes
    from obsctl.verify import amtool

    _require("amtool")
    runs: list[dict] = []
    real = amtool.verify_route

    def counting(config: object, labels: dict, receivers: list) -> object:
        runs.append(labels)
        return real(config, labels, receivers)

    monkeypatch.setattr(amtool, "verify_route", counting)
    checked = check(REPO / "examples/asset-ws/obsctl.yaml").checked[0]
    config = REPO / "examples/asset-ws/build/alertmanager/alertmanager.yml"
    outcomes = route_outcomes(checked, config)
    assert len([o for o in outcomes if o.status == "PASS"]) == 10
    assert len(runs) == 3


@pytest.mark.parametrize(
    ("route", "on_alertname"),
    [
        ({"receiver": "a", "routes": [{"receiver": "b", "matchers": ['severity="page"']}]}, False),
        ({"receiver": "a", "routes": [{"receiver": "b", "matchers": ['alertname=~"Disk.*"']}]}, True),
        ({"receiver": "a", "routes": [{"routes": [{"receiver": "b", "match": {"alertname": "X"}}]}]}, True),
        ({"receiver": "a", "routes": [{"receiver": "b", "match_re": {"alertname": "X.*"}}]}, True),
    ],
)
def test_routes_on_alertname(tmp_path, route, on_alertname):
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump({"route": route, "receivers": [{"name": "a"}, {"name": "b"}]}))
    assert _routes_on_alertname(config) is on_alertname
