"""`validate` says everything `build` of the spec's targets would (issue 13): every refusal a backend makes at build
(Datadog, Grafana, Alertmanager, Loki and Prometheus mappings, file-name clashes, spec tests that cannot become
promtool tests) is an error at validate with the same code; `targets.for` says which targets a spec is for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsctl.build import render
from obsctl.cli import app

BASE = """\
service: demo
runbook: https://runbooks.example.org/demo
sources:
  metrics: {selector: {job: demo}}
  logs: {type: loki}
metrics:
  requests_total: {kind: counter}
  errors_total: {kind: counter}
  queue_depth: {kind: gauge}
events:
  done: {stream: {service: worker}, message: done}
routing:
  receivers:
    oncall: {pagerduty: {routing_key_file: /etc/am/pd}}
  severities:
    page: [oncall]
alerts:
  Errors: {severity: page, when: delta(errors_total) > 5}
"""

# (id, text appended to BASE, the code build gives)
CASES = [
    # Datadog: an alert comparing with the past, a constant panel, an SLO on log events, tag and name settings
    ("datadog-offset", "  Cost: {severity: page, when: queue_depth - queue_depth offset 1d > 5}\n", "OBS701"),
    (
        "datadog-constant-panel",
        "dashboards:\n  ops:\n    title: ops\n    panels:\n      - {title: One, type: stat, expr: '1'}\n",
        "OBS703",
    ),
    (
        "datadog-log-slo",
        "slos:\n  cycles: {objective: 99, sli: {bad: done, total: done}}\n",
        "OBS702",
    ),
    (
        "prometheus-log-slo",
        "slos:\n  cycles: {objective: 99, sli: {bad: done, total: done}}\ntargets: {for: [prometheus]}\n",
        "OBS410",
    ),
    ("datadog-tag", "targets:\n  datadog: {tags: [not a tag]}\n", "OBS710"),
    ("datadog-namespace", 'targets:\n  datadog: {namespace: "my ns{x}"}\n', "OBS711"),
    # Prometheus: a scrape job with the name of the blackbox job the probes need
    (
        "scrape-job-blackbox-name",
        "",  # set below: sources are replaced
        "OBS243",
    ),
    # an SLO alert with the name of an alert of the spec
    (
        "slo-alert-name",
        "  DemoAvailabilityBudgetBurn: {severity: page, when: delta(errors_total) > 1}\n"
        "slos:\n  availability:\n    objective: 99.9\n    sli: {bad: errors_total, total: requests_total}\n"
        "    alerting: {page_severity: page, ticket_severity: page}\n",
        "OBS411",
    ),
    # two SLO names that slug to one file name
    (
        "file-name-clash",
        "slos:\n  api.availability: {objective: 99.9, sli: {bad: errors_total, total: requests_total}}\n"
        "  api-availability: {objective: 99.5, sli: {bad: errors_total, total: requests_total}}\n",
        "OBS902",
    ),
    # a spec test expecting a Loki alert, which promtool cannot test
    (
        "spec-test-loki-alert",
        "  Stalled: {severity: page, when: 'count(done, 10m) == 0'}\n"
        "tests:\n  - name: stalls\n    series: {'requests_total': '0+1x30'}\n"
        "    expect: [{at: 20m, firing: [Stalled]}]\n",
        "OBS602",
    ),
]


def _text(case_id: str, extra: str) -> str:
    if case_id == "scrape-job-blackbox-name":
        return (
            BASE.replace(
                "  metrics: {selector: {job: demo}}\n",
                "  metrics: {selector: {job: demo}, scrape: [{job: blackbox-http_2xx, targets: ['demo:80']}]}\n"
                "  probes: {health: {url: https://demo.example.org/health}}\n",
            )
            + extra
        )
    return BASE + extra


def _validate(path: Path) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(app, ["validate", str(path), "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("case_id, extra, code", CASES, ids=[c[0] for c in CASES])
def test_validate_refuses_what_build_refuses_with_the_same_code(tmp_path, case_id, extra, code):
    """Each case passed validate before (build alone refused it); now validate gives build's code."""
    path = tmp_path / "spec.yaml"
    path.write_text(_text(case_id, extra))
    _, diags, _ = render(path, ["all"], None)
    built = {d.code for d in diags if d.level == "error"}
    assert code in built, diags
    rc, found = _validate(path)
    assert rc == 1 and code in {d["code"] for d in found if d["level"] == "error"}, found
    # located in the spec where the build located it
    b = next(d for d in diags if d.code == code)
    v = next(d for d in found if d["code"] == code)
    assert (v.get("line"), v.get("field")) == ((b.location.line if b.location else None), b.field)


def test_a_spec_not_for_datadog_gets_no_datadog_error(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(
        BASE
        + "  Cost: {severity: page, when: queue_depth - queue_depth offset 1d > 5}\n"
        + "targets: {for: [prometheus, loki, alertmanager, grafana]}\n"
    )
    rc, found = _validate(path)
    assert rc == 0 and not [d for d in found if d["code"].startswith("OBS70")], found
    artifacts, diags, _ = render(path, ["all"], None)
    assert not [d for d in diags if d.level == "error"], diags
    assert artifacts and "datadog" not in {a.path.split("/", 1)[0] for a in artifacts}


def test_build_of_a_target_the_spec_is_not_for_is_obs017_naming_the_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + "targets:\n  for: [prometheus, alertmanager]\n")
    result = CliRunner().invoke(app, ["build", str(path), "--target", "grafana,datadog", "--out", "out"])
    assert result.exit_code == 1
    assert "OBS017" in result.stderr and "prometheus, alertmanager" in result.stderr, result.stderr
    assert "spec.yaml:20:3" in result.stderr  # at targets.for
    assert not (tmp_path / "out").exists()


def test_build_all_builds_the_spec_targets_only(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + "targets: {for: [alertmanager]}\n")
    artifacts, diags, _ = render(path, ["all"], None)
    assert not [d for d in diags if d.level == "error"], diags
    assert {a.path.split("/", 1)[0] for a in artifacts} == {"alertmanager"}


def test_targets_for_refuses_an_unknown_target(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + "targets: {for: [prometheus, nagios]}\n")
    rc, found = _validate(path)
    assert rc == 1 and [d["field"] for d in found if d["level"] == "error"] == ["targets.for.1"], found


def test_validate_checks_every_environment_as_build_does(tmp_path):
    """An environment that brings in what Datadog cannot say is refused at validate, naming the environment."""
    path = tmp_path / "spec.yaml"
    path.write_text(
        BASE
        + "environments:\n  prod:\n    alerts:\n"
        + "      Errors: {when: queue_depth - queue_depth offset 1d > 5}\n"
    )
    rc, found = _validate(path)
    assert rc == 1 and [d["code"] for d in found] == ["OBS701"], found
    assert "(environment prod)" in found[0]["message"]


ROOT = Path(__file__).resolve().parents[2]
ASSET_WS = ROOT / "examples" / "asset-ws" / "obsctl.yaml"
AM_FULL = ROOT / "tests" / "alertmanager" / "data" / "full.yaml"
PANEL = "      - {title: API request volume (5m rate), expr: sum(rate(api_requests_total)), unit: reqps}\n"

# (id, spec file, text replaced, its replacement, the code build gives): Alertmanager's and Grafana's refusals
EDITS = [
    ("am-weekday", AM_FULL, 'weekdays: ["monday:friday"]', 'weekdays: ["mon:fri"]', "OBS322"),
    ("am-responder", AM_FULL, "{type: team, name: payments}", "{type: squad, name: payments}", "OBS320"),
    ("am-empty-match", AM_FULL, '{component: ["db.primary", "db|replica"]}', "{component: []}", "OBS323"),
    (
        "grafana-unit",
        ASSET_WS,
        PANEL,
        PANEL + "      - {title: x, expr: ws_connections_active, unit: precent}\n",
        "OBS515",
    ),
    (
        "grafana-stack",
        ASSET_WS,
        PANEL,
        PANEL + "      - {title: x, type: stat, expr: ws_connections_active, stack: true}\n",
        "OBS516",
    ),
]


@pytest.mark.parametrize("case_id, spec, old, new, code", EDITS, ids=[e[0] for e in EDITS])
def test_validate_refuses_what_alertmanager_and_grafana_builds_refuse(
    tmp_path, case_id, spec, old, new, code
):
    text = spec.read_text()
    assert old in text
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(old, new))
    _, diags, _ = render(path, ["all"], None)
    assert code in {d.code for d in diags if d.level == "error"}, diags
    rc, found = _validate(path)
    assert rc == 1 and code in {d["code"] for d in found if d["level"] == "error"}, found


def test_the_blackhole_receiver_name_is_refused_at_validate(tmp_path):
    text = ASSET_WS.read_text().replace("    incidents:\n", "    obsctl-blackhole: {}\n    incidents:\n")
    text = text.replace("P3: {receivers: [incidents]", "P3: {receivers: [incidents, obsctl-blackhole]")
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    rc, found = _validate(path)
    assert rc == 1 and "OBS321" in {d["code"] for d in found}, found


@pytest.mark.parametrize(
    "when",
    [
        "abs(count(done, 10m)) == 0",
        "ceil(count(done, 10m)) == 0",
        "floor(count(done, 10m)) == 0",
        "max(count(done, 10m), 1) == 0",
        "min(count(done, 10m), 1) == 0",
        "-count(done, 10m) == 0",
    ],
)
def test_logql_without_a_form_is_refused_at_validate_not_by_the_parser_at_build(tmp_path, when):
    """These compiled to abs(...), clamp_min(...), -(...): LogQL has none of them, so validate passed and build
    failed with OBS900 from the LogQL parser. Now the Loki backend refuses them by name, at validate too."""
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + f"  L: {{severity: page, when: '{when}'}}\ntargets: {{for: [prometheus, loki]}}\n")
    rc, found = _validate(path)
    assert rc == 1 and [(d["code"], d["field"]) for d in found] == [("OBS701", "alerts.L.when")], found
    assert "overrides.logql" in found[0]["message"] + found[0]["hint"]


def test_logql_negative_numbers_and_subtraction_still_build(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(
        BASE
        + "  L: {severity: page, when: 'count(done, 10m) > -1'}\n"
        + "  M: {severity: page, when: '0 - count(done, 10m) < 0'}\n"
        + "targets: {for: [prometheus, loki]}\n"
    )
    artifacts, diags, _ = render(path, ["loki"], None)
    assert not [d for d in diags if d.level == "error"], diags
    rules = next(a.text for a in artifacts if a.path.startswith("loki/"))
    assert "> -1" in rules and "0 - (" in rules


def test_content_no_listed_target_writes_is_a_warning(tmp_path):
    """A log-event alert in a spec for Prometheus and Alertmanager only went nowhere without a word."""
    path = tmp_path / "spec.yaml"
    path.write_text(
        BASE
        + "  Stalled: {severity: page, when: 'count(done, 10m) == 0'}\n"
        + "dashboards:\n  ops: {title: ops, panels: [{title: q, expr: queue_depth}]}\n"
        + "targets: {for: [prometheus, alertmanager]}\n"
    )
    rc, found = _validate(path)
    assert rc == 0
    assert [(d["code"], d["level"], d["field"]) for d in found] == [
        ("OBS018", "warning", "alerts.Stalled"),
        ("OBS018", "warning", "dashboards.ops"),
    ], found
    assert "add loki (or datadog) to targets.for" in found[0]["hint"]
    # the same spec for Datadog too: every item has a target
    path.write_text(
        path.read_text().replace("[prometheus, alertmanager]", "[prometheus, alertmanager, datadog]")
    )
    assert _validate(path) == (0, [])


def _panel(panel: dict):
    return lambda d: d["dashboards"]["ops"]["panels"].append(panel)


# (id, change to the asset-ws example as data, the code Grafana's build gives)
GRAFANA = [
    (
        "queries-and-override",
        _panel({"title": "x", "queries": [{"expr": "ws_connections_active"}], "overrides": {"promql": "up"}}),
        "OBS511",
    ),
    (
        "uid-twice",
        lambda d: d["dashboards"].update({"copy": {"title": "C", "uid": "asset-ws-ops", "panels": []}}),
        "OBS512",
    ),
    (
        "datasource-variable",
        lambda d: d["dashboards"]["ops"].update(
            {"variables": [{"name": "datasource", "type": "custom", "values": ["a"]}]}
        ),
        "OBS513",
    ),
    (
        "interval-variable",
        lambda d: d["dashboards"]["ops"].update(
            {"variables": [{"name": "step", "type": "interval", "values": ["soon"]}]}
        ),
        "OBS514",
    ),
    (
        "two-null-thresholds",
        _panel(
            {
                "title": "x",
                "expr": "ws_connections_active",
                "thresholds": [{"value": None, "color": "green"}, {"value": None, "color": "red"}],
            }
        ),
        "OBS517",
    ),
]


@pytest.mark.parametrize("case_id, change, code", GRAFANA, ids=[g[0] for g in GRAFANA])
def test_validate_refuses_what_the_grafana_build_refuses(tmp_path, case_id, change, code):
    import yaml

    data = yaml.safe_load(ASSET_WS.read_text())
    change(data)
    data["targets"]["for"] = ["grafana"]
    data.pop("tests", None)  # promtool tests of a spec not for prometheus are OBS602 themselves
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    _, diags, _ = render(path, ["all"], None)
    assert code in {d.code for d in diags if d.level == "error"}, diags
    rc, found = _validate(path)
    assert rc == 1 and code in {d["code"] for d in found if d["level"] == "error"}, found


def test_a_file_name_clash_is_one_error_at_the_entries_that_share_a_name(tmp_path):
    """OBS902 came once per shared file (five for two SLOs) with no file, line or field; now one error, at the
    second of the entries, naming both."""
    path = tmp_path / "spec.yaml"
    path.write_text(
        BASE
        + "slos:\n  api.availability: {objective: 99.9, sli: {bad: errors_total, total: requests_total}}\n"
        + "  api-availability: {objective: 99.5, sli: {bad: errors_total, total: requests_total}}\n"
    )
    rc, found = _validate(path)
    clashes = [d for d in found if d["code"] == "OBS902"]
    assert rc == 1 and len(clashes) == 1, found
    assert (clashes[0]["line"], clashes[0]["field"]) == (21, "slos.api-availability")
    assert "'api.availability' and 'api-availability'" in clashes[0]["message"]
