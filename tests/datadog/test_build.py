"""`obsctl build --target datadog`: payloads the Datadog client accepts, built from the spec as the spec means it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from textwrap import dedent

import pytest
from ddhelpers import ASSET_WS, ROUTING, build_datadog, payloads

from obsctl.backends import Artifact
from obsctl.backends import datadog as backend
from obsctl.compile.datadog import Datadog
from obsctl.pipeline import check
from obsctl.verify.datadog import validate_dashboard, validate_monitor, validate_slo

MONITORS = (
    "APIUnavailable",
    "APIHighErrorRate",
    "APILatencyRegression",
    "WebSocketAuthFailuresSpike",
    "WebSocketSessionInitFailures",
    "WorkerStalled",
    "WorkerPersistentRefreshFailures",
)


@pytest.fixture(scope="module")
def q():
    """q(metric) -> the example's Datadog query of a counter as a rate (its names and tags are the example's)."""
    c = check(ASSET_WS).checked[0]
    dd = Datadog(c.spec, c.analysis.refs, c.analysis.exprs)
    return lambda metric: f"sum:{dd.metric_name(metric)}{dd.tag_filter([])}.as_rate()"


@pytest.fixture(scope="module")
def asset_ws() -> dict[str, str]:
    files, errors = build_datadog(ASSET_WS)
    assert not errors, [e.message for e in errors]
    return files


def monitor(files: dict[str, str], name: str) -> dict:
    return json.loads(files[f"datadog/monitors/asset-ws.{name}.json"])


def validate(path: str, payload: dict) -> list:
    if path.startswith("datadog/monitors/"):
        return validate_monitor(payload, path)
    if path.startswith("datadog/slos/"):
        return validate_slo(payload, path)
    return validate_dashboard(payload, path)


def logs_search(query: str) -> str:
    m = re.match(r'logs\("((?:[^"\\]|\\.)*)"\)', query)
    assert m, query
    return re.sub(r"\\(.)", r"\1", m.group(1))


# --- asset-ws -----------------------------------------------------------------------------------------------


def test_asset_ws_builds_every_alert_and_the_dashboard(asset_ws):
    assert sorted(asset_ws) == sorted(
        [f"datadog/monitors/asset-ws.{m}.json" for m in MONITORS]
        + ["datadog/dashboards/asset-ws.ops.json", "datadog/conf.d/http_check.d/asset-ws.yaml"]
    )


def test_every_asset_ws_payload_passes_strict_client_and_semantic_checks(asset_ws):
    problems = [str(p) for path, d in payloads(asset_ws).items() for p in validate(path, d)]
    assert problems == []
    for path, text in asset_ws.items():
        assert text.endswith("\n") and not text.endswith("\n\n"), path


def test_threshold_in_query_is_options_critical(asset_ws):
    for name in MONITORS:
        m = monitor(asset_ws, name)
        if m["type"] == "service check":
            continue
        op, value = re.search(r"(<=|>=|<|>|==|!=)\s*([\d.]+)$", m["query"]).groups()
        assert float(value) == m["options"]["thresholds"]["critical"], name


def test_high_error_rate_keeps_window_for_and_guard(asset_ws, q):
    m = monitor(asset_ws, "APIHighErrorRate")
    assert m["type"] == "query alert"
    # every point is delta(errors)/delta(requests) over 5m; below 100 requests it has no value (the guard, which
    # also makes max(..., 1) a no-op); min(last_10m) holds the condition for the 10m of `for`
    assert m["query"] == (
        f"min(last_10m):(moving_rollup({q('api_requests_errors_total')}, 300, 'avg') * 300) / "
        f"cutoff_min(moving_rollup({q('api_requests_total')}, 300, 'avg') * 300, 100) >= 0.05"
    )
    assert m["options"]["thresholds"] == {"critical": 0.05}
    assert m["options"]["require_full_window"] is True
    assert m["priority"] == 1
    message = m["message"]
    assert "@pagerduty-asset-ws" in message and "@slack" not in message
    assert "Datadog has no 'for'" in message and "min(last_10m)" in message
    assert "only_if: sum(delta(api_requests_total)) >= 100" in message and "cutoff_min" in message
    assert "API error rate is {{value}}" in message  # {{ $value | humanizePercentage }} translated
    assert "Runbook: docs/ops-runbook.md" in message
    assert message.endswith("Do not edit: change the spec and rebuild.")
    assert m["tags"] == ["service:asset-ws", "team:asset-platform", "severity:p1", "managed-by:obsctl"]
    assert m["options"]["renotify_interval"] == 60  # P1's repeat_interval: 1h


def test_latency_and_websocket_alerts(asset_ws, q):
    assert monitor(asset_ws, "APILatencyRegression")["query"] == (
        f"min(last_15m):(moving_rollup({q('api_request_latency_ms_total')}, 300, 'avg') * 300) / "
        f"cutoff_min(moving_rollup({q('api_request_latency_samples_total')}, 300, 'avg') * 300, 100) >= 750"
    )
    ws = monitor(asset_ws, "WebSocketAuthFailuresSpike")
    assert (
        ws["query"] == f"min(last_10m):(moving_rollup({q('ws_auth_failures_total')}, 300, 'avg') * 300) >= 50"
    )
    assert ws["priority"] == 2
    assert (
        "@slack-asset-ws-oncall @slack-eng-incidents" in ws["message"] and "@pagerduty" not in ws["message"]
    )


def test_worker_stalled_fires_with_no_logs_and_matches_the_exact_phrase(asset_ws):
    m = monitor(asset_ws, "WorkerStalled")
    assert m["type"] == "log alert"
    # "refresh cycle completed" must not count "refresh cycle completed with errors"
    assert (
        logs_search(m["query"])
        == 'service:asset-worker "refresh cycle completed" -"refresh cycle completed with errors"'
    )
    assert m["query"] == (
        'logs("service:asset-worker \\"refresh cycle completed\\" -\\"refresh cycle completed '
        'with errors\\"").index("*").rollup("count").last("10m") < 1'
    )
    assert m["options"]["thresholds"] == {"critical": 1.0}
    assert m["options"]["on_missing_data"] == "default"  # no log at all counts 0, and 0 < 1 fires
    assert "notify_no_data" not in m["options"]
    assert "excludes 'refresh cycle completed with errors'" in m["message"]
    other = monitor(asset_ws, "WorkerPersistentRefreshFailures")
    assert logs_search(other["query"]) == 'service:asset-worker "refresh cycle completed with errors"'
    assert other["query"].endswith('.last("10m") >= 5')


def test_probe_alert_is_a_service_check_on_the_emitted_http_check(asset_ws):
    m = monitor(asset_ws, "APIUnavailable")
    assert m["type"] == "service check"
    # for: 3m at the probe's 30s interval: the last 6 checks failed
    assert m["query"] == (
        '"http.can_connect".over("url:https://asset-ws.example.org/health").by("host","url")'
        ".last(6).count_by_status()"
    )
    assert m["options"]["thresholds"] == {"critical": 6, "ok": 1}
    import yaml

    conf = yaml.safe_load(asset_ws["datadog/conf.d/http_check.d/asset-ws.yaml"])
    assert conf["instances"][0]["url"] == "https://asset-ws.example.org/health"
    assert conf["instances"][0]["min_collection_interval"] == 30
    assert asset_ws["datadog/conf.d/http_check.d/asset-ws.yaml"].startswith("# Generated by obsctl")


def test_dashboard_has_the_eight_panels(asset_ws):
    d = json.loads(asset_ws["datadog/dashboards/asset-ws.ops.json"])
    kinds = [w["definition"]["type"] for w in d["widgets"]]
    assert kinds == ["timeseries"] * 4 + ["query_value"] + ["timeseries"] * 2 + ["toplist"]
    logs = d["widgets"][7]["definition"]
    assert logs["time"] == {"live_span": "5m"}  # count(..., 5m) as one count over the last 5m
    searches = [q["search"]["query"] for q in logs["requests"][0]["queries"]]
    assert searches == [
        'service:asset-worker "refresh cycle completed" -"refresh cycle completed with errors"',
        'service:asset-worker "refresh cycle completed with errors"',
    ]
    assert [f["alias"] for f in logs["requests"][0]["formulas"]] == ["completed", "completed with errors"]
    assert d["tags"] == ["team:asset-platform"]
    assert d["default_timeframe"] == {"type": "live", "unit": "hour", "value": 6}


def test_building_twice_is_byte_identical(asset_ws):
    again, _ = build_datadog(ASSET_WS)
    assert again == asset_ws


# --- constructs Datadog cannot express ---------------------------------------------------------------------

LATENCY_SPEC = (
    """
service: checkout
runbook: https://runbooks.example.org/checkout
metrics:
  request_seconds: {kind: histogram, buckets: [0.1, 0.5, 1]}
alerts:
  SlowCheckout:
    severity: critical
    when: quantile(0.95, request_seconds) > 0.5
    for: 5m
"""
    + ROUTING
)


def test_unknown_construct_exits_1_naming_alert_and_construct(write_spec, tmp_path):
    spec = write_spec(LATENCY_SPEC)
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "obsctl.cli", "build", str(spec), "--target", "datadog", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    text = run.stdout + run.stderr
    assert (
        "OBS701" in text
        and "SlowCheckout" in text
        and "quantile() of the histogram 'request_seconds'" in text
    )
    assert "alerts.SlowCheckout.datadog.query" in text
    assert not out.exists()


def test_an_override_makes_it_build(write_spec):
    spec = write_spec(
        LATENCY_SPEC.replace(
            "    for: 5m\n",
            "    for: 5m\n    datadog:\n"
            "      query: 'avg(last_5m):p95:request.seconds{service:checkout} > 0.5'\n",
        )
    )
    files, errors = build_datadog(spec)
    assert not errors, [e.message for e in errors]
    m = json.loads(files["datadog/monitors/checkout.SlowCheckout.json"])
    assert m["query"] == "avg(last_5m):p95:request.seconds{service:checkout} > 0.5"
    assert m["type"] == "query alert" and m["options"]["thresholds"] == {"critical": 0.5}
    assert validate_monitor(m) == []


def test_guard_that_cannot_fold_is_refused(write_spec):
    spec = write_spec(
        dedent("""
        service: checkout
        runbook: x
        metrics:
          errors_total: {kind: counter}
          requests_total: {kind: counter}
        alerts:
          Errors:
            severity: critical
            when: delta(errors_total) >= 10
            only_if: delta(requests_total) >= 100
    """)
        + ROUTING
    )
    _, errors = build_datadog(spec)
    assert [e.code for e in errors] == ["OBS701"]
    assert "alert 'Errors'" in errors[0].message and "volume guard" in errors[0].message
    assert errors[0].field == "alerts.Errors.only_if"


def test_count_form_and_band_conditions(write_spec):
    spec = write_spec(
        dedent("""
        service: checkout
        runbook: x
        metrics:
          errors_total: {kind: counter}
          requests_total: {kind: counter}
        derived:
          ratio: delta(errors_total) / delta(requests_total)
        alerts:
          Errors:
            severity: critical
            when: ratio > 0.05
          Elevated:
            severity: warning
            when: ratio > 0.01 and ratio <= 0.05
            for: 15m
          NoTraffic:
            severity: warning
            when: delta(requests_total) == 0
            for: 10m
    """)
        + ROUTING
    )
    files, errors = build_datadog(spec)
    assert not errors, [e.message for e in errors]
    ms = {p.rsplit(".", 2)[1]: d for p, d in payloads(files).items()}
    assert ms["Errors"]["query"] == (
        "sum(last_5m):sum:errors.total{*}.as_count() / sum:requests.total{*}.as_count() > 0.05"
    )
    assert ms["Elevated"]["query"] == (
        "min(last_15m):cutoff_max((moving_rollup(sum:errors.total{*}.as_rate(), 300, "
        "'avg') * 300) / (moving_rollup(sum:requests.total{*}.as_rate(), 300, 'avg') * "
        "300), 0.05) > 0.01"
    )
    assert ms["NoTraffic"]["query"] == (
        "max(last_10m):abs((moving_rollup(sum:requests.total{*}.as_rate(), 300, 'avg') * 300)) <= 0"
    )
    for path, d in payloads(files).items():
        assert validate(path, d) == [], path


# --- SLOs ------------------------------------------------------------------------------------------------------

SLO_SPEC = (
    """
service: checkout
team: payments
runbook: https://runbooks.example.org/checkout
metrics:
  http_requests_total: {kind: counter, labels: [code]}
  http_request_duration_seconds: {kind: histogram, buckets: [0.1, 0.25, 0.5, 1]}
slos:
  availability:
    objective: 99.9
    description: 99.9% of checkout requests succeed
    sli: {bad: 'http_requests_total{code=~"5.*"}', total: http_requests_total}
    alerting: {page_severity: critical, ticket_severity: warning, min_events: 100}
  latency:
    objective: 99
    period: 28d
    sli: {latency: {metric: http_request_duration_seconds, threshold: 0.5}}
    alerting: {page_severity: critical, ticket_severity: warning}
"""
    + ROUTING
)


def test_slos_and_burn_rate_monitors(write_spec):
    files, errors = build_datadog(write_spec(SLO_SPEC))
    assert not errors, [e.message for e in errors]
    docs = payloads(files)
    for path, d in docs.items():
        assert validate(path, d) == [], path
    slo = docs["datadog/slos/checkout.availability.json"]
    assert slo["query"] == {
        "numerator": "sum:http.requests.total{*}.as_count() - sum:http.requests.total{code:5*}.as_count()",
        "denominator": "sum:http.requests.total{*}.as_count()",
    }
    assert slo["thresholds"] == [{"timeframe": "30d", "target": 99.9}]
    latency = docs["datadog/slos/checkout.latency.json"]
    assert (
        latency["query"]["numerator"]
        == "sum:http.request.duration.seconds.bucket{upper_bound:0.5}.as_count()"
    )
    assert "28d is not a Datadog timeframe" in latency["description"] and "30d" in latency["description"]

    fast = docs["datadog/monitors/checkout.slo-availability-page-fast.json"]
    assert fast["type"] == "slo alert"
    assert fast["query"] == (
        'burn_rate("<SLO_ID:checkout.availability>").over("30d").long_window("1h").short_window("5m") > 14.4'
    )
    assert fast["options"]["thresholds"] == {"critical": 14.4}
    assert fast["priority"] == 1 and "@pagerduty-checkout" in fast["message"]
    slow = docs["datadog/monitors/checkout.slo-availability-ticket-slow.json"]
    assert slow["query"].endswith('.long_window("48h").short_window("4h") > 1')
    assert "3d/6h windows are mapped to 48h/4h" in slow["message"]
    assert "min_events: 100" in slow["message"] and "@slack-checkout" in slow["message"]
    assert backend.slo_id_placeholder("checkout.availability") in slow["message"]


def test_log_event_sli_needs_raw_queries(write_spec):
    text = """
        service: worker
        runbook: x
        sources: {logs: {type: loki}}
        events:
          done: {stream: {service: worker}, message: done}
          failed: {stream: {service: worker}, message: failed}
        slos:
          cycles:
            objective: 99
            sli: {bad: failed, total: done}
    """
    _, errors = build_datadog(write_spec(text))
    assert [e.code for e in errors] == ["OBS702"] and "targets.datadog.slo_queries.cycles" in errors[0].hint
    text += """
        targets:
          datadog:
            slo_queries:
              cycles: {numerator: 'sum:worker.cycles{ok:true}.as_count()', denominator: 'sum:worker.cycles{*}.as_count()'}
    """
    files, errors = build_datadog(write_spec(text))
    assert not errors
    assert (
        payloads(files)["datadog/slos/worker.cycles.json"]["query"]["numerator"]
        == "sum:worker.cycles{ok:true}.as_count()"
    )


# --- environments, messages, verify ------------------------------------------------------------------------------


def test_env_tags_names_and_message_text(write_spec):
    spec = write_spec(
        dedent("""
        service: checkout
        runbook: x
        metrics:
          queue_depth: {kind: gauge, labels: [queue]}
        alerts:
          Deep:
            severity: critical
            title: Queue deep
            when: max by (queue) (queue_depth) > $limit
            for: 5m
            summary: "{{ $labels.queue }} holds {{ $value }} jobs; ask ops@example.org"
        vars: {limit: 100}
        environments:
          prod: {vars: {limit: 500}}
        targets:
          datadog: {tags: ["cost-center:payments"]}
    """)
        + ROUTING
    )
    files, errors = build_datadog(spec, env="prod")
    assert not errors, [e.message for e in errors]
    m = payloads(files)["datadog/monitors/checkout.Deep.json"]
    assert m["name"] == "[obsctl][prod] checkout Deep: Queue deep"
    assert m["query"] == "min(last_5m):max:queue.depth{*} by {queue} > 500"
    assert m["tags"] == [
        "service:checkout",
        "env:prod",
        "severity:critical",
        "cost-center:payments",
        "managed-by:obsctl",
    ]
    assert "{{queue.name}} holds {{value}} jobs; ask ops\uff20example.org" in m["message"]
    assert validate_monitor(m) == []


def test_tiny_thresholds_are_written_exactly(write_spec):
    spec = write_spec(
        dedent("""
        service: checkout
        runbook: x
        metrics:
          g: {kind: gauge}
        alerts:
          Tiny: {severity: critical, when: g > 0.0000000000001}
          Tinier: {severity: critical, when: g > 1e-20, for: 5m}
    """)
        + ROUTING
    )
    files, errors = build_datadog(spec)
    assert not errors, [f"{e.code} {e.message}" for e in errors]
    tiny, tinier = (payloads(files)[f"datadog/monitors/checkout.{n}.json"] for n in ("Tiny", "Tinier"))
    assert tiny["query"].endswith(" > 0.0000000000001") and tiny["options"]["thresholds"]["critical"] == 1e-13
    assert tinier["query"].endswith(" > 0.00000000000000000001")
    assert validate_monitor(tiny) == [] and validate_monitor(tinier) == []


def test_spec_text_in_messages_cannot_notify_or_template(write_spec):
    # an event message and a matcher reach the notes; "{{{{y}}}}" loses one pair of braces and would re-form one
    spec = write_spec(
        dedent("""
        service: checkout
        runbook: x
        sources: {logs: {type: loki, format: json}}
        metrics:
          requests_total: {kind: counter, labels: [route]}
        events:
          paged: {stream: {service: checkout}, message: "BAD"}
          paged_twice: {stream: {service: checkout}, message: "BAD again"}
        alerts:
          Paged:
            severity: critical
            when: count(paged) >= 1
            summary: "{{ $value }} on {{ $labels.route }}"
          Routes:
            severity: critical
            when: rate(requests_total{route=~"/a.b@slack-all{{#is_alert}}"}) > 1
            for: 5m
        targets:
          datadog: {widen_regex: true}
    """).replace("BAD", "paged @pagerduty-everyone {{#is_alert}}x{{/is_alert}} {{{{y}}}}")
        + ROUTING
    )
    files, errors = build_datadog(spec)
    assert not errors, [f"{e.code} {e.message}" for e in errors]
    paged, routes = (payloads(files)[f"datadog/monitors/checkout.{n}.json"] for n in ("Paged", "Routes"))
    assert "Exact message 'paged \uff20pagerduty-everyone #is_alertx/is_alert \uff5b{y}}'" in paged["message"]
    assert "widened" in routes["message"] and "\uff20slack-all" in routes["message"]
    for m in (paged, routes):
        assert re.findall(r"@[\w-]+", m["message"]) == ["@pagerduty-checkout"], m["message"]  # routing's only
        assert set(re.findall(r"\{\{.*?\}\}", m["message"])) <= {"{{value}}", "{{route.name}}"}, m["message"]
    assert "\n\n{{value}} on {{route.name}}\n\n" in paged["message"]


NAMES_SPEC = (
    """
service: checkout
runbook: x
metrics:
  reqs_total: {kind: counter}
  queue_depth: {kind: gauge}
alerts:
  Reqs: {severity: critical, when: rate(reqs_total) > 1}
  Deep: {severity: critical, when: queue_depth > 1}
targets:
  datadog:
    namespace: shop
"""
    + ROUTING
)


@pytest.mark.parametrize(
    "setting,field",
    [
        ('    namespace: "my ns{x}"\n', "targets.datadog.namespace"),
        ('    counter_suffix: ".co unt"\n', "targets.datadog.counter_suffix"),
        ('    metric_names: {reqs_total: "reqs}{*"}\n', "targets.datadog.metric_names.reqs_total"),
    ],
)
def test_name_settings_that_are_no_metric_names_fail_at_the_setting(write_spec, setting, field):
    text = NAMES_SPEC.replace("    namespace: shop\n", setting)
    files, errors = build_datadog(write_spec(text))
    assert [(e.code, e.field) for e in errors] == [("OBS711", field)] and not files
    assert errors[0].location.line == text.splitlines().index(setting.rstrip("\n")) + 1
    assert "start with a letter" in errors[0].hint


def test_datadog_name_and_mapped_names_are_checked(write_spec):
    text = NAMES_SPEC.replace(
        "  queue_depth: {kind: gauge}", "  queue_depth: {kind: gauge, datadog_name: 9.depth}"
    )
    _, errors = build_datadog(write_spec(text))
    assert [(e.code, e.field) for e in errors] == [("OBS711", "metrics.queue_depth.datadog_name")]
    # a spec metric whose mapped name starts with '.' (no namespace, dots on): the alert names it
    text = NAMES_SPEC.replace("    namespace: shop\n", "    dots: true\n").replace("queue_depth", "_depth")
    _, errors = build_datadog(write_spec(text))
    assert [(e.code, e.field) for e in errors] == [("OBS701", "alerts.Deep.when")]
    assert "the metric name '.depth'" in errors[0].message and "datadog_name" in errors[0].hint


def test_verify_reads_the_metric_names_in_queries(tmp_path):
    m = {
        "name": "x",
        "type": "query alert",
        "query": "sum(last_5m):sum:my ns{x}.reqs.count}{*}.as_count() > 1",
        "message": "x",
        "options": {"thresholds": {"critical": 1.0}},
    }
    problems = backend.verify([Artifact("datadog/monitors/X.json", json.dumps(m))], tmp_path)
    assert {p.message.split(" (")[0] for p in problems} == {
        "the query's { } do not balance",
        "'my ns' is not a Datadog metric name",
    }
    m["query"] = "sum(last_5m):sum:shop.reqs.count{code:sum:x} by {route}.as_count() > 1"
    assert validate_monitor(m) == []
    slo = {
        "name": "s",
        "type": "metric",
        "thresholds": [{"timeframe": "30d", "target": 99.9}],
        "query": {"numerator": "sum:a b{*}.as_count()", "denominator": "sum:a{*}.as_count()"},
    }
    assert [p.where for p in validate_slo(slo)] == ["query.numerator"]


def test_verify_reports_a_threshold_mismatch(asset_ws, tmp_path):
    m = monitor(asset_ws, "APIHighErrorRate")
    m["options"]["thresholds"]["critical"] = 0.1
    problems = backend.verify([Artifact("datadog/monitors/APIHighErrorRate.json", json.dumps(m))], tmp_path)
    assert any("does not match the query threshold" in str(p) for p in problems)


def test_dashboard_widgets_rows_variables_and_logs(write_spec):
    spec = write_spec(
        dedent("""
        service: checkout
        team: payments
        sources:
          logs: {type: loki, format: json}
        metrics:
          http_requests_total: {kind: counter, labels: [route, code]}
          queue_depth: {kind: gauge}
        events:
          failed: {stream: {service: checkout}, message: payment failed}
        dashboards:
          main:
            title: Checkout
            description: The checkout service
            time: {from: now-30m, to: now}
            variables:
              - {name: route, query: 'label_values(http_requests_total, route)'}
            panels:
              - {title: About, type: text, text: "# Checkout\\nRunbooks live in the wiki."}
              - row: Traffic
                panels:
                  - title: Requests by route
                    expr: 'sum by (route) (rate(http_requests_total{route=~"$route"}))'
                    legend: "{{route}}"
                    min: 0
                  - title: Queue
                    type: gauge
                    expr: queue_depth
                    thresholds: [{value: null, color: green}, {value: 100, color: red}]
                    decimals: 0
                  - title: Top routes
                    type: table
                    expr: 'topk(3, sum by (route) (rate(http_requests_total)))'
              - {title: Failures, type: logs, expr: failed}
    """)
    )
    files, errors = build_datadog(spec)
    assert not errors, [e.message for e in errors]
    d = payloads(files)["datadog/dashboards/checkout.main.json"]
    assert validate_dashboard(d) == []
    assert d["template_variables"] == [
        {"name": "route", "prefix": "route", "available_values": [], "defaults": ["*"]}
    ]
    assert d["default_timeframe"] == {"type": "live", "unit": "minute", "value": 30}
    note, group, logs = (w["definition"] for w in d["widgets"])
    assert note == {"type": "note", "content": "# Checkout\nRunbooks live in the wiki."}
    assert group["type"] == "group" and group["title"] == "Traffic"
    ts, gauge, top = (w["definition"] for w in group["widgets"])
    assert ts["requests"][0]["queries"][0]["query"] == "sum:http.requests.total{$route} by {route}.as_rate()"
    assert "alias" not in ts["requests"][0]["formulas"][0]  # Grafana's {{route}} legend: Datadog names series
    assert ts["yaxis"] == {"min": "0"}
    assert gauge["type"] == "query_value" and gauge["precision"] == 0
    assert gauge["requests"][0]["conditional_formats"] == [
        {"comparator": "<", "value": 100.0, "palette": "white_on_green"},
        {"comparator": ">=", "value": 100.0, "palette": "white_on_red"},
    ]
    assert top["type"] == "toplist"
    assert top["requests"][0]["formulas"][0]["limit"] == {"count": 3, "order": "desc"}
    assert logs["type"] == "log_stream" and logs["query"] == 'service:checkout "payment failed"'


def test_panel_overrides(write_spec):
    spec = write_spec(
        dedent("""
        service: checkout
        metrics:
          request_seconds: {kind: histogram, buckets: [0.1, 0.5]}
        derived:
          p95:
            expr: quantile(0.95, request_seconds)
            overrides: {datadog: "p95:checkout.request_seconds{service:checkout}"}
        dashboards:
          main:
            title: Checkout
            panels:
              - {title: p95, expr: p95, legend: p95}
              - title: Ratio
                expr: quantile(0.5, request_seconds)
                legend: ratio
                overrides: {datadog: "sum:a{*}.as_count() / sum:b{*}.as_count()"}
    """)
    )
    files, errors = build_datadog(spec)
    assert not errors, [e.message for e in errors]
    d = payloads(files)["datadog/dashboards/checkout.main.json"]
    assert validate_dashboard(d) == []
    one, raw = (w["definition"]["requests"][0] for w in d["widgets"])
    # a single-query override is a named query of a formula; arithmetic stays a legacy `q` with its alias
    assert one["queries"] == [
        {
            "data_source": "metrics",
            "name": "query1",
            "query": "p95:checkout.request_seconds{service:checkout}",
        }
    ]
    assert one["formulas"] == [{"formula": "query1", "alias": "p95"}]
    assert raw["q"] == "sum:a{*}.as_count() / sum:b{*}.as_count()"
    assert raw["metadata"] == [{"expression": raw["q"], "alias_name": "ratio"}]


def _example_builds() -> list[tuple]:
    out = []
    for spec in sorted((ASSET_WS.parent.parent).glob("*/obsctl.yaml")):
        envs = [c.env for c in check(spec, every_env=True).checked]
        out += [(spec, env) for env in (envs if len(envs) == 1 else envs[1:])]
    return out


@pytest.mark.parametrize(
    "spec,env", _example_builds(), ids=lambda v: v.parent.name if hasattr(v, "parent") else str(v or "")
)
def test_every_example_builds_payloads_datadog_accepts(spec, env):
    files, errors = build_datadog(spec, env)
    assert not errors, [f"{e.field}: {e.message}" for e in errors]
    problems = [str(p) for path, d in payloads(files).items() for p in validate(path, d)]
    assert problems == []
    assert any(p.startswith("datadog/monitors/") for p in files)


def test_raw_queries_in_scalar_widgets(write_spec):
    spec = write_spec(
        dedent("""
        service: checkout
        metrics:
          queue_depth: {kind: gauge}
        dashboards:
          main:
            title: Checkout
            panels:
              - {title: Now, type: stat, expr: queue_depth, overrides: {datadog: "max:a{*} / max:b{*}"}}
              - {title: Top, type: bar, expr: queue_depth, overrides: {datadog: "max:a{*} by {q} / max:b{*}"}}
    """)
    )
    files, errors = build_datadog(spec)
    assert not errors, [e.message for e in errors]
    d = payloads(files)["datadog/dashboards/checkout.main.json"]
    assert validate_dashboard(d) == []
    value, top = (w["definition"]["requests"] for w in d["widgets"])
    assert value == [{"q": "max:a{*} / max:b{*}", "aggregator": "last"}]
    assert top == [{"q": "max:a{*} by {q} / max:b{*}"}]  # a toplist's legacy request has no aggregator


def test_titles_cannot_notify_or_template_through_monitor_names(tmp_path):
    import json

    import yaml

    from obsctl.build import render

    data = yaml.safe_load(ASSET_WS.read_text())
    # Datadog's {{#is_alert}} inside a Go string literal: a title promtool accepts (a bare {{#is_alert}} is not one)
    data["alerts"]["APIHighErrorRate"]["title"] = (
        'errors @pagerduty-everyone {{ "{{#is_alert}}" }}x{{ "{{/is_alert}}" }}'
    )
    path = tmp_path / "obsctl.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    artifacts, diags, _ = render(path, ["datadog"], None)
    assert not [d for d in diags if d.level == "error"]
    name = json.loads(next(a.text for a in artifacts if a.path.endswith(".APIHighErrorRate.json")))["name"]
    assert "@pagerduty" not in name and "{{#is_alert}}" not in name


def test_an_empty_label_value_is_no_tag(tmp_path):
    """Found by tests/core/test_fuzz_specs.py: `labels: {team: ""}` built the tag 'team:', which Datadog refuses; an
    empty label value is no label in Prometheus, and no tag in Datadog."""
    from obsctl.build import render

    text = ASSET_WS.read_text()
    spec = tmp_path / "obsctl.yaml"
    spec.write_text(text.replace("service: asset-ws\n", 'service: asset-ws\nlabels: {owner: ""}\n', 1))
    artifacts, diags, _ = render(spec, ["datadog"], None)
    assert not [d for d in diags if d.level == "error"], [d.message for d in diags]
    monitors = [json.loads(a.text) for a in artifacts if a.path.startswith("datadog/monitors/")]
    assert monitors and not [t for m in monitors for t in m["tags"] if t.endswith(":")]
