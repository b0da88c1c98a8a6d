import copy
import json
from pathlib import Path

import pytest

from obsctl.verify.datadog import validate_dashboard, validate_monitor, validate_slo

DATA = Path(__file__).parent / "data"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


@pytest.fixture
def metric_monitor() -> dict:
    return load("dd_monitor_metric.json")


@pytest.fixture
def log_monitor() -> dict:
    return load("dd_monitor_log.json")


@pytest.mark.parametrize(
    "name", ["dd_monitor_metric.json", "dd_monitor_log.json", "dd_monitor_slo_burn.json"]
)
def test_reference_monitors_pass(name):
    assert validate_monitor(load(name), name) == []


def test_reference_slo_passes():
    assert validate_slo(load("dd_slo_metric.json")) == []


def test_reference_dashboard_passes():
    assert validate_dashboard(load("dd_dashboard.json")) == []


def _thresholds(**values):
    def mutate(m):
        m["options"]["thresholds"].update(values)

    return mutate


def _query(old, new):
    def mutate(m):
        m["query"] = m["query"].replace(old, new)

    return mutate


# (mutation of the metric monitor, where, expected message fragment)
BAD_MONITORS = {
    "type with underscore": (lambda m: m.update(type="metric_alert"), "type", "'metric_alert' is not one of"),
    "unknown enum in options": (
        lambda m: m["options"].update(on_missing_data="resolve_now"),
        "options.on_missing_data",
        "'resolve_now' is not one of ['default', 'resolve', 'show_and_notify_no_data', 'show_no_data']",
    ),
    "unknown enum in a list": (
        lambda m: m["options"].update(renotify_statuses=["alert", "nope"]),
        "options.renotify_statuses[1]",
        "'nope' is not one of",
    ),
    "misspelt key": (_thresholds(crtical=1), "options.thresholds.crtical", "unknown field"),
    "read-only id": (lambda m: m.update(id=5), "id", "read-only field"),
    "read-only matching_downtimes": (
        lambda m: m.update(matching_downtimes=[]),
        "matching_downtimes",
        "read-only",
    ),
    "priority as string": (lambda m: m.update(priority="P2"), "priority", "ApiTypeError"),
    "tags as one string": (lambda m: m.update(tags="env:prod"), "tags", "Required value type is list"),
    "threshold as string": (_thresholds(critical="0.05"), "options.thresholds.critical", "ApiTypeError"),
    "missing query": (lambda m: m.pop("query"), "", "missing 1 required positional argument: 'query'"),
    "critical differs from query": (
        _thresholds(critical=0.5),
        "options.thresholds.critical",
        "thresholds.critical (0.5) does not match the query threshold (0.05)",
    ),
    "warning above critical for >": (
        _thresholds(warning=0.06),
        "options.thresholds.warning",
        "warning (0.06) must be below critical (0.05) for operator '>'",
    ),
    "critical_recovery equal to critical": (
        _thresholds(critical_recovery=0.05),
        "options.thresholds.critical_recovery",
        "critical_recovery (0.05) must be below critical (0.05)",
    ),
    "warning_recovery above warning": (
        _thresholds(warning_recovery=0.03),
        "options.thresholds.warning_recovery",
        "warning_recovery (0.03) must be below warning (0.02)",
    ),
    "warning on the wrong side for <": (
        _query("> 0.05", "< 0.05"),
        "options.thresholds.warning",
        "warning (0.02) must be above critical (0.05) for operator '<'",
    ),
    "query without comparison": (_query(" > 0.05", ""), "query", "query must end with '<operator> <number>'"),
    "warning without critical": (
        lambda m: m["options"].update(thresholds={"warning": 0.02}),
        "options.thresholds",
        "Alert status is required.",
    ),
    "tag without value": (
        lambda m: m["tags"].append("prod"),
        "tags[4]",
        "tag 'prod' is not a key:value string",
    ),
    "tag with a space": (lambda m: m["tags"].append("env: prod"), "tags[4]", "is not a key:value string"),
}


@pytest.mark.parametrize("case", sorted(BAD_MONITORS))
def test_broken_monitors_are_caught(metric_monitor, case):
    mutate, where, fragment = BAD_MONITORS[case]
    mutate(metric_monitor)
    problems = validate_monitor(metric_monitor, "m.json")
    assert any(p.where == where and fragment in p.message for p in problems), "\n".join(map(str, problems))


def test_threshold_equality_is_numeric(metric_monitor, log_monitor):
    metric_monitor["query"] = metric_monitor["query"].replace("> 0.05", ">5e-2")
    assert validate_monitor(metric_monitor) == []
    log_monitor["query"] = log_monitor["query"].replace("< 1", "< 1.0")
    assert validate_monitor(log_monitor) == []


def test_log_query_with_unescaped_phrase_quotes(log_monitor):
    log_monitor["query"] = (
        'logs("service:asset-worker "refresh cycle completed"").index("*").rollup("count").last("10m") < 1'
    )
    [problem] = validate_monitor(log_monitor)
    assert problem.where == "query"
    assert 'escape double quotes inside it as \\"' in problem.message


def test_log_query_must_use_logs(log_monitor):
    log_monitor["query"] = "service:asset-worker < 1"
    assert any("must start with logs(" in p.message for p in validate_monitor(log_monitor))


def test_validation_does_not_mutate_the_payload(metric_monitor):
    before = copy.deepcopy(metric_monitor)
    validate_monitor(metric_monitor)
    assert metric_monitor == before


def test_broken_slo_is_caught():
    slo = load("dd_slo_metric.json")
    slo["thresholds"][0].update(target=0.999, warning=0.99)
    slo["thresholds"][1].update(timeframe="31d", target_display="99.9")
    slo["id"] = "abc"
    found = {(p.where, p.message) for p in validate_slo(slo, "slo.json")}
    assert found == {
        ("id", "unknown field"),
        ("thresholds[1].timeframe", "'31d' is not one of ['30d', '7d', '90d', 'custom']"),
        ("thresholds[1].target_display", "read-only field (server-assigned); never send it"),
        (
            "thresholds[0].target",
            "target 0.999 looks like a ratio; targets are percentages (99.9, not 0.999)",
        ),
        ("thresholds[0].warning", "warning (0.99) must be above target (0.999)"),
    }


def test_slo_custom_timeframe_and_missing_thresholds():
    slo = load("dd_slo_metric.json")
    slo["thresholds"][0]["timeframe"] = "custom"
    assert [p.message for p in validate_slo(slo)] == [
        "timeframe 'custom' is not allowed when creating an SLO"
    ]
    del slo["thresholds"]
    assert "missing 1 required positional argument: 'thresholds'" in validate_slo(slo)[0].message


def test_broken_dashboard_is_caught():
    dash = load("dd_dashboard.json")
    dash["layout_type"] = "grid"
    dash["id"] = "abc-def-ghi"
    dash["widgets"][0]["definition"]["titel"] = "typo"
    found = {(p.where, p.message.split(" [")[0]) for p in validate_dashboard(dash)}
    assert found == {
        ("layout_type", "'grid' is not one of"),
        ("id", "read-only field (server-assigned); never send it"),
        ("widgets[0].definition.titel", "unknown field"),
    }


def test_dashboard_widget_enum_and_tag_limit():
    dash = load("dd_dashboard.json")
    dash["widgets"][0]["definition"]["requests"][0]["display_type"] = "zigzag"
    # a bad enum inside a oneOf widget makes the whole union unparsed: coarse, but caught
    assert [(p.where, p.message) for p in validate_dashboard(dash)] == [
        ("widgets[0].definition", "does not match any allowed oneOf schema")
    ]
    dash = load("dd_dashboard.json")
    dash["tags"] = [f"team:t{i}" for i in range(6)]
    [problem] = validate_dashboard(dash)
    assert "number of items must be less than or equal to `5`" in problem.message
