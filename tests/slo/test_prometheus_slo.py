"""SLO rules for Prometheus: accepted by promtool, proven by their generated promtool tests, stable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from slo_helpers import EXAMPLES, SPECS, context, generated_tests, only, slo_build, write

from obsctl.backends import BackendError
from obsctl.backends.prometheus import slo as ps
from obsctl.plan import slos as plan_slos
from obsctl.plan.sli import error_ratio, sli
from obsctl.slo import effective_tiers
from obsctl.verify.promtool import check_rules, test_rules

SPEC_FILES = sorted(SPECS.glob("*.yaml"))
AVAILABILITY = SPECS / "availability.yaml"


def _built(tmp_path: Path, spec: Path, env: str | None = None) -> dict[str, Path]:
    return write(tmp_path, slo_build(spec, env))


def _alerts_at(test: dict) -> dict[str, list[dict]]:
    """eval_time -> the labels of the alerts a generated test expects firing then."""
    return {
        case["eval_time"]: [a["exp_labels"] for a in case["exp_alerts"]]
        for case in test.get("alert_rule_test", [])
    }


def _test_named(doc: dict, start: str) -> dict:
    [test] = [t for t in doc["tests"] if t["name"].startswith(start)]
    return test


# --- promtool ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.stem)
def test_rules_pass_promtool_check(tmp_path: Path, promtool: str, spec: Path) -> None:
    files = _built(tmp_path, spec)
    assert set(files) == {f"prometheus/{context(spec).spec.service}.slo.{k}.yml" for k in ("rules", "tests")}
    assert check_rules([only(files, ".slo.rules.yml")]) == []


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.stem)
def test_generated_tests_pass_promtool(tmp_path: Path, promtool: str, spec: Path) -> None:
    files = _built(tmp_path, spec)
    ok, output = test_rules([only(files, ".slo.tests.yml")])
    assert ok, output
    doc = generated_tests(files)
    assert doc["evaluation_interval"] == "10m"
    assert all(t["interval"] == "1m" for t in doc["tests"])  # promtool 2.42 needs it on every test group


def test_999_slo_must_hold(tmp_path: Path, promtool: str) -> None:
    """99.9% over 30 days: 2% errors page, 0.5% only ticket, 0.05% stay quiet, a low-traffic burst stays quiet.
    The generated tests say so (checked here) and promtool proves them against the rules."""
    files = _built(tmp_path, AVAILABILITY)
    ok, output = test_rules([only(files, ".slo.tests.yml")])
    assert ok, output
    doc = generated_tests(files)

    def ratio(test: dict) -> float:
        values = {s["series"]: s["values"] for s in test["input_series"]}
        good = float(
            re.match(r"0\+([\d.]+)x", values['http_requests_total{code="200", job="checkout-api"}'])[1]
        )
        bad = float(
            re.match(r"0\+([\d.]+)x", values['http_requests_total{code="500", job="checkout-api"}'])[1]
        )
        return bad / (good + bad)

    page = _test_named(doc, "CheckoutApiAvailabilityBudgetBurn: 2% errors")
    assert ratio(page) == pytest.approx(0.02)
    fired = _alerts_at(page)
    # the fast page at the first evaluation 2m after the condition held (tests evaluate every 10m), then the slow
    assert [sorted(a["slo_tier"] for a in alerts) for alerts in fired.values()] == [
        ["page-fast"],
        ["page-fast", "page-slow"],
    ]
    assert all(a["severity"] == "P1" for alerts in fired.values() for a in alerts if a["action"] == "page")

    ticket = _test_named(doc, "CheckoutApiAvailabilityBudgetBurn: 0.5% errors")
    assert ratio(ticket) == pytest.approx(0.005)
    fired = _alerts_at(ticket)
    assert {a["action"] for alerts in fired.values() for a in alerts} == {"ticket"}
    assert {a["slo_tier"] for alerts in fired.values() for a in alerts} == {"ticket-fast", "ticket-slow"}
    assert all(a["severity"] == "P3" for alerts in fired.values() for a in alerts)
    assert max(fired, key=lambda t: ps.parse_duration(t)) == "3h10m"  # past the slowest tier's `for`

    quiet = _test_named(doc, "CheckoutApiAvailabilityBudgetBurn: 0.05% errors")
    assert ratio(quiet) == pytest.approx(0.0005)
    assert _alerts_at(quiet) and all(not alerts for alerts in _alerts_at(quiet).values())
    assert max(_alerts_at(quiet), key=lambda t: ps.parse_duration(t)) == "3h10m"

    burst = _test_named(
        doc, "CheckoutApiAvailabilityBudgetBurn: a burst of 50 failing events, under min_events 100"
    )
    assert len(_alerts_at(burst)) == 4 and all(not alerts for alerts in _alerts_at(burst).values())
    loud = _test_named(doc, "CheckoutApiAvailabilityBudgetBurn: the same burst with 200 failing events")
    # the same evaluation times: each tier fires when the burst is over the guard, so the guard is what kept quiet
    assert _alerts_at(loud).keys() == _alerts_at(burst).keys()
    assert [[a["slo_tier"] for a in alerts] for alerts in _alerts_at(loud).values()] == [
        ["page-fast"],
        ["page-slow"],
        ["ticket-fast"],
        ["ticket-slow"],
    ]


def test_generated_tests_catch_a_wrong_rule(tmp_path: Path, promtool: str) -> None:
    """The tests are not vacuous: a page tier with a factor of 30 instead of 14.4, or no low-traffic guard, fails."""
    files = _built(tmp_path, AVAILABILITY)
    rules, tests = only(files, ".slo.rules.yml"), only(files, ".slo.tests.yml")
    text, doc = rules.read_text(encoding="utf-8"), generated_tests(files)

    def run(rule_text: str, test_name: str) -> tuple[bool, str]:
        rules.write_text(rule_text, encoding="utf-8")
        tests.write_text(yaml.safe_dump({**doc, "tests": [_test_named(doc, test_name)]}), encoding="utf-8")
        return test_rules([tests])

    assert run(text, "CheckoutApiAvailabilityBudgetBurn: 2% errors")[0]
    ok, output = run(
        text.replace("(14.4 * 0.001)", "(30 * 0.001)"), "CheckoutApiAvailabilityBudgetBurn: 2% errors"
    )
    assert not ok and "page-fast" in output
    unguarded = re.sub(r" and on\(\) \(sum\(increase\([^\n]*?>= 100\)", "", text)
    assert unguarded != text
    assert run(text, "CheckoutApiAvailabilityBudgetBurn: a burst of 50 failing events")[0]
    ok, output = run(unguarded, "CheckoutApiAvailabilityBudgetBurn: a burst of 50 failing events")
    assert not ok and "page-fast" in output


def test_python_client_bucket_bound(tmp_path: Path, promtool: str) -> None:
    """The latency SLI counts `le="1.0"` buckets (Python client, Prometheus 3) like Go's `le="1"`."""
    files = _built(tmp_path, SPECS / "latency.yaml")
    tests = only(files, ".slo.tests.yml")
    text = tests.read_text(encoding="utf-8")
    assert 'le="1"' in text
    tests.write_text(text.replace('le="1"', 'le="1.0"'), encoding="utf-8")
    ok, output = test_rules([tests])
    assert ok, output


def test_prometheusrule_holds_the_same_groups(tmp_path: Path, promtool: str) -> None:
    """--format prometheusrule: one PrometheusRule whose groups are the rule file's; promtool checks them and the
    generated tests pass against them."""
    plain = _built(tmp_path, AVAILABILITY)
    crd = slo_build(AVAILABILITY, fmt="prometheusrule")
    assert list(crd) == ["prometheus/checkout-api.slo.prometheusrule.yml"]
    doc = yaml.safe_load(crd["prometheus/checkout-api.slo.prometheusrule.yml"])
    assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule"
    assert doc["metadata"] == {
        "name": "checkout-api-slo-rules",
        "namespace": "monitoring",
        "labels": {"app.kubernetes.io/managed-by": "obsctl", "release": "kube-prometheus-stack"},
    }
    rules = yaml.safe_load(only(plain, ".slo.rules.yml").read_text(encoding="utf-8"))
    assert doc["spec"]["groups"] == rules["groups"]
    extracted = only(plain, ".slo.rules.yml").with_name("extracted.rules.yml")
    extracted.write_text(yaml.safe_dump({"groups": doc["spec"]["groups"]}, sort_keys=False), encoding="utf-8")
    assert check_rules([extracted]) == []
    tests = generated_tests(plain)
    tests["rule_files"] = [extracted.name]
    retarget = extracted.with_name("extracted.tests.yml")
    retarget.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    ok, output = test_rules([retarget])
    assert ok, output


def _examples() -> list[tuple[Path, str | None]]:
    out = []
    for spec in sorted(EXAMPLES.glob("*/obsctl.yaml")):
        raw = yaml.safe_load(spec.read_text(encoding="utf-8"))
        if raw.get("slos"):
            out += [(spec, None)] + [(spec, env) for env in sorted(raw.get("environments") or {})]
    return out


@pytest.mark.parametrize(
    "spec,env", _examples(), ids=lambda v: v.parent.name if isinstance(v, Path) else str(v)
)
def test_examples_slo_rules(tmp_path: Path, promtool: str, spec: Path, env: str | None) -> None:
    """Every example's SLO rules pass promtool check; their generated tests pass (once per example: environments
    change objectives, which the check covers)."""
    files = _built(tmp_path, spec, env)
    assert check_rules([only(files, ".slo.rules.yml")]) == []
    if env is None:
        ok, output = test_rules([only(files, ".slo.tests.yml")])
        assert ok, output


def test_environments_share_one_prometheus(tmp_path: Path, promtool: str) -> None:
    """beta's and prod's SLO rules loaded together: beta's errors page beta only (the recordings of each carry its
    SLO labels, and every rule selects by them)."""
    spec = SPECS / "environments.yaml"
    for env in ("beta", "prod"):
        rules = slo_build(spec, env)["prometheus/shop.slo.rules.yml"]
        (tmp_path / f"{env}.rules.yml").write_text(rules, encoding="utf-8")
    page = {
        "action": "page",
        "environment": "beta",
        "service": "shop",
        "severity": "critical",
        "slo": "availability",
        "slo_tier": "page-fast",
        # the records' series labels stay on the alert (no label-dropping max())
        "sloth_id": "shop-availability",
        "sloth_service": "shop",
        "sloth_slo": "availability",
    }
    test = {
        "rule_files": ["beta.rules.yml", "prod.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'http_requests_total{environment="beta", code="200"}', "values": "0+98x20"},
                    {"series": 'http_requests_total{environment="beta", code="500"}', "values": "0+2x20"},
                    {"series": 'http_requests_total{environment="prod", code="200"}', "values": "0+1000x20"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "5m",
                        "alertname": "ShopAvailabilityBudgetBurn",
                        "exp_alerts": [
                            {
                                "exp_labels": page,
                                "exp_annotations": plan_slos.alert_annotations(
                                    context(spec, "beta").spec,
                                    "availability",
                                    effective_tiers(context(spec, "beta").spec.slos["availability"])[0],
                                    "2%",
                                ),
                            }
                        ],
                    }
                ],
                "promql_expr_test": [
                    {
                        "expr": 'slo:period_error_budget_remaining:ratio{environment="prod"}',
                        "eval_time": "5m",
                        "exp_samples": [
                            {
                                "labels": (
                                    'slo:period_error_budget_remaining:ratio{environment="prod", '
                                    'sloth_id="shop-availability", sloth_service="shop", sloth_slo="availability", '
                                    'sloth_window="30d"}'
                                ),
                                "value": 1,
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "envs.tests.yml").write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
    ok, output = test_rules([tmp_path / "envs.tests.yml"])
    assert ok, output


def test_environments_share_one_prometheus_by_the_selector_alone(tmp_path: Path, promtool: str) -> None:
    """Issue 10: with no SLO labels, the records and alerts carry the source selector's labels, so beta's and prod's
    rules in one Prometheus write distinct series (they used to write the same ones: "duplicate sample for
    timestamp") and beta's errors page beta only."""
    text = (SPECS / "environments.yaml").read_text(encoding="utf-8")
    text = text.replace("    labels: {environment: prod}\n", "").replace(
        "    slos:\n      availability: {labels: {environment: beta}}\n", ""
    )
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(text, encoding="utf-8")
    for env in ("beta", "prod"):
        rules = slo_build(spec, env)["prometheus/shop.slo.rules.yml"]
        (tmp_path / f"{env}.rules.yml").write_text(rules, encoding="utf-8")
    page = {
        "action": "page",
        "environment": "beta",
        "service": "shop",
        "severity": "critical",
        "slo": "availability",
        "slo_tier": "page-fast",
        "sloth_id": "shop-availability",
        "sloth_service": "shop",
        "sloth_slo": "availability",
    }
    ratio = (
        '{{environment="{env}", sloth_id="shop-availability", sloth_service="shop", '
        'sloth_slo="availability", sloth_window="5m"}}'
    )
    test = {
        "rule_files": ["beta.rules.yml", "prod.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'http_requests_total{environment="beta", code="200"}', "values": "0+98x20"},
                    {"series": 'http_requests_total{environment="beta", code="500"}', "values": "0+2x20"},
                    {"series": 'http_requests_total{environment="prod", code="200"}', "values": "0+1000x20"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "5m",
                        "alertname": "ShopAvailabilityBudgetBurn",
                        "exp_alerts": [
                            {
                                "exp_labels": page,
                                "exp_annotations": plan_slos.alert_annotations(
                                    context(spec, "beta").spec,
                                    "availability",
                                    effective_tiers(context(spec, "beta").spec.slos["availability"])[0],
                                    "2%",
                                ),
                            }
                        ],
                    }
                ],
                "promql_expr_test": [
                    {
                        "expr": "round(slo:sli_error:ratio_rate5m, 0.001)",
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": ratio.format(env="beta"), "value": 0.02},
                            {"labels": ratio.format(env="prod"), "value": 0},
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "envs.tests.yml").write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
    ok, output = test_rules([tmp_path / "envs.tests.yml"])
    assert ok, output


# --- the rules, without promtool ---------------------------------------------------------------------------------


def test_output_is_deterministic() -> None:
    for spec in SPEC_FILES:
        assert slo_build(spec) == slo_build(spec)
        assert slo_build(spec, fmt="prometheusrule") == slo_build(spec, fmt="prometheusrule")


def test_no_slos_no_output(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("service: plain\nmetrics: {up: {kind: gauge}}\n", encoding="utf-8")
    assert slo_build(spec) == {}


def test_record_names_are_what_the_rules_record() -> None:
    ctx = context(AVAILABILITY)
    names = plan_slos.record_names(ctx.spec, "availability")
    assert (
        names["selector"]
        == '{job="checkout-api", sloth_id="checkout-api-availability", sloth_service="checkout-api", '
        'sloth_slo="availability", team="checkout"}'
    )
    assert list(names["error_ratio"]) == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert names["period"] == "30d"
    [group] = [g for g in ps.rule_groups(ctx) if g.name == "checkout-api.slo.availability"]
    recorded = {r.record for r in group.rules if r.record}
    published = set(names["error_ratio"].values()) | {
        v for k, v in names.items() if k not in ("selector", "error_ratio", "period")
    }
    assert published == recorded


def test_record_selector_builds_the_selector_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules ask for an SLO's record selector about 30 times: it is the selector record_names publishes,
    built without the windows and names record_names also computes (once per call before)."""
    ctx = context(AVAILABILITY)
    selector = plan_slos.record_names(ctx.spec, "availability")["selector"]
    monkeypatch.setattr(
        plan_slos, "alert_windows", lambda slo: pytest.fail("record_selector read the windows")
    )
    assert plan_slos.record_selector(ctx.spec, "availability", "slo:x") == "slo:x" + selector


def test_alert_rules_per_tier() -> None:
    ctx = context(AVAILABILITY)
    [group] = [g for g in ps.rule_groups(ctx) if g.name == "checkout-api.slo.availability"]
    alerts = [r for r in group.rules if r.alert]
    assert {r.alert for r in alerts} == {"CheckoutApiAvailabilityBudgetBurn"}
    assert [(r.labels["slo_tier"], r.for_) for r in alerts] == [
        ("page-fast", "2m"),
        ("page-slow", "15m"),
        ("ticket-fast", "1h"),
        ("ticket-slow", "3h"),
    ]
    fast = alerts[0]
    assert fast.expr == (
        '(max without (sloth_window) (slo:sli_error:ratio_rate1h{job="checkout-api", sloth_id="checkout-api-availability", '
        'sloth_service="checkout-api", sloth_slo="availability", team="checkout"}) > (14.4 * 0.001) and '
        'max without (sloth_window) (slo:sli_error:ratio_rate5m{job="checkout-api", sloth_id='
        '"checkout-api-availability", sloth_service="checkout-api", sloth_slo="availability", team="checkout"}) > '
        "(14.4 * 0.001)) "
        'and on() (sum(increase(http_requests_total{job="checkout-api"}[1h])) >= 100)'
    )
    # the spec's own `tier` label survives; severity is the spec's vocabulary; the SLO's team wins over the spec's
    assert fast.labels == {
        "action": "page",
        "job": "checkout-api",
        "service": "checkout-api",
        "severity": "P1",
        "slo": "availability",
        "slo_tier": "page-fast",
        "team": "checkout",
        "tier": "1",
    }
    assert fast.annotations["runbook_url"] == "https://runbooks.example.org/checkout-api/availability"
    assert fast.annotations["description"].startswith(
        "Error ratio {{ $value | humanizePercentage }} over the last 1h"
    )


def test_tiers_from_the_spec() -> None:
    """asset-generation (90%): page-fast is disabled; the others keep their factors, windows and `for`."""
    ctx = context(AVAILABILITY)
    [group] = [g for g in ps.rule_groups(ctx) if g.name == "checkout-api.slo.asset-generation"]
    tiers = [(r.labels["slo_tier"], r.labels["severity"]) for r in group.rules if r.alert]
    assert tiers == [("page-slow", "P1"), ("ticket-fast", "P3"), ("ticket-slow", "P3")]
    assert "(6 * 0.1)" in next(r.expr for r in group.rules if r.alert)


def test_bad_total_and_missing_error_series() -> None:
    ctx = context(SPECS / "errors.yaml")
    s = sli(ctx, "database")
    assert (str(s.events), str(s.total), s.counts_good) == (
        'db_errors_total{job="orders", error_type!="timeout"}',
        'db_queries_total{job="orders"}',
        False,
    )
    # no db_errors_total series yet means no errors, not no data
    assert error_ratio(s, "1h") == (
        '(sum(rate(db_errors_total{job="orders", error_type!="timeout"}[1h])) or '
        'vector(0)) / sum(rate(db_queries_total{job="orders"}[1h]))'
    )
    [group] = [g for g in ps.rule_groups(ctx) if g.name == "orders.slo.database"]
    alert = next(r for r in group.rules if r.alert)
    assert "increase" not in alert.expr  # min_events 0: no low-traffic guard
    assert "slo:sli_error:ratio_rate28d" in {r.record for r in group.rules}
    # what is not generated is said in the file, for `obsctl test` to report
    tests = slo_build(SPECS / "errors.yaml")["prometheus/orders.slo.tests.yml"]
    assert (
        "# not generated: OrdersDatabaseBudgetBurn: low-traffic burst: alerting.min_events is under 2"
        in tests
    )


def test_latency_sli_matches_every_bound_spelling() -> None:
    s = sli(context(SPECS / "latency.yaml"), "latency")
    assert str(s.events) == r'http_request_duration_seconds_bucket{job="media-api", le=~"1|1\\.0"}'
    assert str(s.total) == 'http_request_duration_seconds_count{job="media-api"}'
    assert s.counts_good


def test_log_event_sli_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "events.yaml"
    spec.write_text(
        """
service: worker
sources: {logs: {type: loki}}
events:
  job_done: {stream: {service: worker}, message: job done}
  job_failed: {stream: {service: worker}, message: job failed}
slos:
  jobs:
    objective: 99
    sli: {bad: job_failed, total: job_done}
""",
        encoding="utf-8",
    )
    with pytest.raises(BackendError) as err:
        slo_build(spec)
    [diag] = err.value.diagnostics
    assert diag.code == "OBS410" and "log event 'job_failed'" in diag.message and diag.location.line == 10


def test_alert_name_clash_is_reported(tmp_path: Path) -> None:
    spec = tmp_path / "clash.yaml"
    spec.write_text(
        """
service: web
metrics: {requests_total: {kind: counter, labels: [code]}}
alerts:
  WebAvailabilityBudgetBurn: {severity: page, when: rate(requests_total) > 1, runbook: x}
slos:
  availability: {objective: 99, sli: {bad: 'requests_total{code="500"}', total: requests_total}}
""",
        encoding="utf-8",
    )
    with pytest.raises(BackendError) as err:
        slo_build(spec)
    assert err.value.diagnostics[0].code == "OBS411"
