"""A routing tree obsctl did not write (nested routes, continue, matchers, regex and negative matchers): route cases
made from the source tree go through the real `amtool config routes test` for the source config and the built one,
and every case that reaches other receivers is reported with its labels, never silently changed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from obsctl.cli import app
from obsctl.importers.alertmanager import _matchers
from obsctl.importers.routecases import compare, route_cases
from obsctl.verify.amtool import routes_test

SOURCE = Path(__file__).resolve().parent / "data" / "alertmanager-foreign.yml"


def test_route_cases_reach_every_route_of_the_source_tree() -> None:
    import yaml

    root = yaml.safe_load(SOURCE.read_text())["route"]
    cases = route_cases(root, "shop", _matchers)
    assert {"service": "shop"} in cases  # the default receiver
    assert {"service": "shop", "team": "payments"} in cases
    assert {"service": "shop", "severity": "critical", "team": "payments"} in cases  # the nested route
    assert {"service": "shop", "severity": "critical", "team": "payments", "env": "staging"} in cases  # env!=
    assert {"service": "db-x"} in cases  # the regex matcher


def test_a_foreign_tree_reports_each_case_amtool_routes_elsewhere(tmp_path: Path, amtool: str) -> None:
    """Before: nested routes were reported as dropped, but nothing said which alerts now reach other receivers."""
    out = tmp_path / "shop.yaml"
    result = CliRunner().invoke(
        app,
        ["import", "alertmanager", str(SOURCE), "--service", "shop", "--out", str(out), "--format", "json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    report = json.loads(result.output)
    cases = {f["item"]: f["why"] for f in report["findings"] if f["item"].startswith("alerts with")}
    nested = 'alerts with {service="shop", severity="critical", team="payments"}'
    assert cases[nested].startswith(
        "go to payments-slack, payments-pager with the source config, to "
        "payments-slack, oncall-pager with the built one"
    )
    assert 'alerts with {service="db-x"}' in cases  # the regex route on service, outside service="shop"
    assert len(cases) == 2
    # amtool agrees with the report: the source and the built config route these two apart, the rest alike
    from obsctl.build import render

    artifacts, _, _ = render(out, ["alertmanager"], None)
    built = tmp_path / "alertmanager.yml"
    built.write_text(next(a.text for a in artifacts if a.path == "alertmanager/alertmanager.yml"))
    import yaml

    all_cases = route_cases(yaml.safe_load(SOURCE.read_text())["route"], "shop", _matchers)
    differ, error = compare(SOURCE, built, all_cases)
    assert not error and len(differ) == 2
    assert (
        routes_test(SOURCE, {"service": "shop", "team": "payments"})
        == routes_test(built, {"service": "shop", "team": "payments"})
        == ["payments-slack"]
    )
