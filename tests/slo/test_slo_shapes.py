"""Issue 14's SLO shapes under promtool: one objective per route (`by:`), SLIs as expressions with a subquery,
latency selectors with negative matchers, and the page alert's own name and labels reaching Alertmanager."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from slo_helpers import SPECS, context, slo_build

from obsctl.build import render
from obsctl.plan import slos as plan_slos
from obsctl.plan.routing import route_cases
from obsctl.slo import effective_tiers
from obsctl.verify.amtool import routes_test
from obsctl.verify.promtool import test_rules

BY_ROUTE = SPECS / "by_route.yaml"
SUBQUERY = SPECS / "subquery_by_route.yaml"
LATENCY = SPECS / "latency_selector.yaml"


def _run(tmp_path: Path, spec: Path, tests: list[dict]) -> tuple[bool, str]:
    [(rel, rules)] = [(p, t) for p, t in slo_build(spec).items() if p.endswith(".slo.rules.yml")]
    (tmp_path / "slo.rules.yml").write_text(rules, encoding="utf-8")
    doc = {"rule_files": ["slo.rules.yml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "slo.tests.yml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return test_rules([tmp_path / "slo.tests.yml"])


def _page_fast(spec: Path, name: str, route: str) -> dict:
    """The labels of the page-fast alert for one route: the plan's labels, the records' series labels, route."""
    plan = context(spec)
    tier = effective_tiers(plan.spec.slos[name])[0]
    assert tier.name == "page-fast"
    return {
        **plan_slos.record_labels(plan.spec, name),
        "route": route,
        **plan_slos.alert_labels(plan.spec, name, tier),
    }


def _annotations(spec: Path, name: str, value: str) -> dict:
    plan = context(spec)
    tier = effective_tiers(plan.spec.slos[name])[0]
    return plan_slos.alert_annotations(plan.spec, name, tier, value)


def test_by_route_pages_for_the_burning_route_only(tmp_path: Path, promtool: str) -> None:
    """`by: [route]`: /checkout fails 5% (50x the budget) and pages, /search has no error series at all and stays
    quiet (its ratio reads 0, not no data); the page alert carries route and the page's own name and labels.
    Before by:, one max() over every route paged once, without the route."""
    labels = _page_fast(BY_ROUTE, "requests", "/checkout")
    assert labels["routing_key"] == "myteam" and labels["route"] == "/checkout"
    tests = [
        {
            "interval": "1m",
            "input_series": [
                {
                    "series": 'http_requests_total{job="gateway", route="/checkout", code="200"}',
                    "values": "0+950x20",
                },
                {
                    "series": 'http_requests_total{job="gateway", route="/checkout", code="500"}',
                    "values": "0+50x20",
                },
                {
                    "series": 'http_requests_total{job="gateway", route="/search", code="200"}',
                    "values": "0+1000x20",
                },
            ],
            "alert_rule_test": [
                {
                    "eval_time": "10m",
                    "alertname": "RequestsBudgetBurn",
                    "exp_alerts": [
                        {
                            "exp_labels": labels,
                            "exp_annotations": _annotations(BY_ROUTE, "requests", "5%"),
                        }
                    ],
                }
            ],
            "promql_expr_test": [
                {
                    "expr": 'slo:sli_error:ratio_rate5m{route="/search"}',
                    "eval_time": "10m",
                    "exp_samples": [
                        {
                            "labels": 'slo:sli_error:ratio_rate5m{job="gateway", route="/search", '
                            'sloth_id="gateway-requests", sloth_service="gateway", sloth_slo="requests", '
                            'sloth_window="5m"}',
                            "value": 0,
                        }
                    ],
                }
            ],
        }
    ]
    ok, output = _run(tmp_path, BY_ROUTE, tests)
    assert ok, output


def test_subquery_sli_pages_for_the_burning_route_only(tmp_path: Path, promtool: str) -> None:
    """A subquery SLI (`sum_over_time((x < bool 0.75)[${window}:])`) per route: /a's success ratio drops to 0.5
    (every minute bad) and pages with route="/a"; /b stays at 1 and is quiet."""
    labels = _page_fast(SUBQUERY, "minutes", "/a")
    tests = [
        {
            "interval": "1m",
            "input_series": [
                {"series": 'route_success_ratio{job="edge", route="/a"}', "values": "0.5x20"},
                {"series": 'route_success_ratio{job="edge", route="/b"}', "values": "1x20"},
            ],
            "alert_rule_test": [
                {
                    "eval_time": "10m",
                    "alertname": "EdgeMinutesBudgetBurn",
                    "exp_alerts": [
                        {"exp_labels": labels, "exp_annotations": _annotations(SUBQUERY, "minutes", "100%")}
                    ],
                }
            ],
            "promql_expr_test": [
                {
                    "expr": "slo:sli_error:ratio_rate1h",
                    "eval_time": "10m",
                    "exp_samples": [
                        {
                            "labels": f'slo:sli_error:ratio_rate1h{{job="edge", route="{route}", '
                            'sloth_id="edge-minutes", sloth_service="edge", sloth_slo="minutes", '
                            'sloth_window="1h"}',
                            "value": value,
                        }
                        for route, value in (("/a", 1), ("/b", 0))
                    ],
                }
            ],
        }
    ]
    ok, output = _run(tmp_path, SUBQUERY, tests)
    assert ok, output


def test_latency_selector_excludes_watch(tmp_path: Path, promtool: str) -> None:
    """selector: 'verb!="WATCH", code=~"2.."': WATCH requests (all slower than the threshold) are not counted, so
    the error ratio reads 0. Written as `verb: "!WATCH"` it selected the text !WATCH and counted nothing."""
    rules = slo_build(LATENCY)["prometheus/kube-api.slo.rules.yml"]
    assert 'verb!="WATCH"' in rules and 'code=~"2.."' in rules
    metric = "apiserver_request_duration_seconds"

    def series(verb: str, le: str, per_minute: int) -> dict:
        return {
            "series": f'{metric}_bucket{{job="apiserver", verb="{verb}", code="200", le="{le}"}}',
            "values": f"0+{per_minute}x20",
        }

    tests = [
        {
            "interval": "1m",
            "input_series": [
                series("GET", "0.5", 100),
                {
                    "series": f'{metric}_count{{job="apiserver", verb="GET", code="200"}}',
                    "values": "0+100x20",
                },
                series("WATCH", "0.5", 0),
                {
                    "series": f'{metric}_count{{job="apiserver", verb="WATCH", code="200"}}',
                    "values": "0+100x20",
                },
            ],
            "promql_expr_test": [
                {
                    "expr": "slo:sli_error:ratio_rate5m",
                    "eval_time": "10m",
                    "exp_samples": [
                        {
                            "labels": 'slo:sli_error:ratio_rate5m{job="apiserver", sloth_id="kube-api-latency", '
                            'sloth_service="kube-api", sloth_slo="latency", sloth_window="5m"}',
                            "value": 0,
                        }
                    ],
                }
            ],
            "alert_rule_test": [
                {"eval_time": "10m", "alertname": "KubeApiLatencyBudgetBurn", "exp_alerts": []}
            ],
        }
    ]
    ok, output = _run(tmp_path, LATENCY, tests)
    assert ok, output


def test_page_labels_reach_the_alert_and_its_route(amtool: str, tmp_path: Path) -> None:
    """alerting.page.labels (routing_key: myteam) are on the page alerts, so the route case obsctl tests with
    amtool sends them to myteam; ticket alerts (without the label) go to the severity's receiver."""
    plan = context(BY_ROUTE)
    cases = [c for c in route_cases(plan.spec) if c.labels.get("alertname") == "RequestsBudgetBurn"]
    by_action = {c.labels["action"]: c for c in cases}
    assert by_action["page"].labels["routing_key"] == "myteam"
    assert by_action["page"].receivers == ["myteam"]
    assert "routing_key" not in by_action["ticket"].labels
    assert by_action["ticket"].receivers == ["oncall"]
    # the labels the page alert fires with (series labels too, as the promtool test above shows)
    artifacts, diags, _ = render(BY_ROUTE, ["alertmanager"], None)
    assert not [d for d in diags if d.level == "error"]
    config = tmp_path / "alertmanager.yml"
    config.write_text(artifacts[0].text, encoding="utf-8")
    fired = {**_page_fast(BY_ROUTE, "requests", "/checkout"), "alertname": "RequestsBudgetBurn"}
    assert routes_test(config, fired) == ["myteam"]


@pytest.mark.parametrize("spec", [BY_ROUTE, SUBQUERY, LATENCY], ids=lambda p: p.stem)
def test_every_slo_has_an_info_series(spec: Path) -> None:
    """obsctl_slo_info{slo, objective, period, ...} 1 is recorded for dashboards, whatever the SLI's shape."""
    plan = context(spec)
    rules = yaml.safe_load(next(t for p, t in slo_build(spec).items() if p.endswith(".slo.rules.yml")))
    for name in plan.spec.slos:
        [group] = [g for g in rules["groups"] if g["name"].endswith(f".slo.{name}")]
        [info] = [r for r in group["rules"] if r.get("record") == "obsctl_slo_info"]
        assert info["expr"] == "vector(1)"
        assert info["labels"]["slo"] == name and info["labels"]["period"] == "30d"
        assert info["labels"]["objective"] == f"{plan.spec.slos[name].objective:g}"


def test_expression_slis_are_listed_as_not_generated() -> None:
    """Generated scenarios need to know which series feed an SLI; for expression SLIs obsctl cannot, so each such
    SLO is listed under "not generated" (what `obsctl test` reports), never silently dropped. A by: SLO over
    counters still gets its scenarios, for one value of the by: label."""
    from obsctl.testgen.slos import test_groups

    tests, notes = test_groups(context(SPECS / "expressions.yaml"))
    assert tests == []
    assert sorted(n.split(":")[0] for n in notes) == [
        "QueueErrorsBudgetBurn",
        "QueueJobsBudgetBurn",
        "QueueReplicasBudgetBurn",
    ]
    assert all("written as expressions" in n for n in notes)
    tests, _ = test_groups(context(BY_ROUTE))
    assert tests and all('route="obsctl"' in s["series"] for t in tests for s in t["input_series"])


def test_selector_equality_labels_stay_on_the_alerts(tmp_path: Path, promtool: str) -> None:
    """selector: {verb: GET} pins verb: the records sum by (verb), so the generated tests (which promtool passes)
    expect verb="GET" on every alert. Before, max() dropped it."""
    spec = SPECS / "latency_pinned.yaml"
    built = slo_build(spec)
    assert (
        "sum by (verb) (rate(http_request_duration_seconds_count" in built["prometheus/reads.slo.rules.yml"]
    )
    (tmp_path / "reads.slo.rules.yml").write_text(built["prometheus/reads.slo.rules.yml"], encoding="utf-8")
    (tmp_path / "reads.slo.tests.yml").write_text(built["prometheus/reads.slo.tests.yml"], encoding="utf-8")
    ok, output = test_rules([tmp_path / "reads.slo.tests.yml"])
    assert ok, output
    doc = yaml.safe_load(built["prometheus/reads.slo.tests.yml"])
    fired = [
        a["exp_labels"] for t in doc["tests"] for c in t.get("alert_rule_test", []) for a in c["exp_alerts"]
    ]
    assert fired and all(labels["verb"] == "GET" for labels in fired)


def test_grafana_and_datadog_follow_by_and_refuse_expressions(tmp_path: Path) -> None:
    """Grafana's SLO panels draw one line per route; Datadog groups a by: SLO's queries by route, and refuses an
    expression SLI with OBS702 naming Datadog (a metric SLO counts events)."""
    import json

    artifacts, diags, _ = render(BY_ROUTE, ["grafana"], None)
    assert not [d for d in diags if d.level == "error"]
    dashboard = json.loads(next(a.text for a in artifacts if a.path.endswith("-slos.json")))
    legends = {t.get("legendFormat") for p in dashboard["panels"] for t in p.get("targets", [])}
    assert {"{{route}} SLI", "{{route}} 5m"} <= legends

    spec = tmp_path / "obsctl.yaml"
    spec.write_text(
        BY_ROUTE.read_text(encoding="utf-8").replace('code=~"5.."', 'code="500"'), encoding="utf-8"
    )
    artifacts, diags, _ = render(spec, ["datadog"], None)
    assert not [d for d in diags if d.level == "error"], [d.message for d in diags]
    slo = json.loads(next(a.text for a in artifacts if a.path.startswith("datadog/slos/")))
    assert slo["query"]["denominator"] == "sum:http.requests.total{job:gateway} by {route}.as_count()"

    _, diags, _ = render(SPECS / "expressions.yaml", ["datadog"], None)
    refused = [d for d in diags if d.code == "OBS702"]
    assert refused and all(
        "Datadog cannot express an SLI written as expressions" in d.message for d in refused
    )
