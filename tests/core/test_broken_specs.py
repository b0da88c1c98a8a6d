"""Broken specs: each gives exit 1, file:line:col and a message a user understands. Never a traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from obsctl.cli import app

BASE = """\
service: demo
runbook: https://runbooks.example.org/demo
metrics:
  http_requests_total: {kind: counter, labels: [code]}
  queue_depth: {kind: gauge}
  latency_seconds: {kind: histogram, buckets: [0.1, 0.5, 1]}
derived:
  error_ratio: delta(http_requests_total{code=~"5.."}) / max(delta(http_requests_total), 1)
alerts:
  HighErrors:
    severity: page
    when: error_ratio > 0.05
    for: 5m
routing:
  receivers:
    oncall: {pagerduty: {routing_key_file: /etc/am/pd}}
  severities:
    page: [oncall]
"""

ONCALL = "oncall: {pagerduty: {routing_key_file: /etc/am/pd}}"

# (id, spec text, expected code, expected line, expected column or None, fragment of the message)
CASES = [
    ("empty-file", "", "OBS005", 1, 1, "empty"),
    ("only-comment", "# nothing here\n", "OBS005", 1, 1, "empty"),
    ("not-a-mapping", "- a\n- b\n", "OBS008", 1, 1, "YAML mapping"),
    ("scalar-doc", "hello\n", "OBS008", 1, 1, "YAML mapping"),
    ("bad-indent", "service: demo\n  metrics: x\n", "OBS001", 2, 10, "YAML syntax"),
    ("tab-indent", "service: demo\nmetrics:\n\tx: 1\n", "OBS001", 3, 1, "YAML syntax"),
    ("unclosed-flow", "service: demo\nmetrics: {a: {kind: counter}\n", "OBS001", None, None, "YAML syntax"),
    ("unclosed-quote", 'service: "demo\nmetrics: {}\n', "OBS001", None, None, "YAML"),
    ("two-documents", "service: demo\n---\nservice: other\n", "OBS001", 2, 1, "single YAML document"),
    ("duplicate-key", "service: demo\nservice: again\n", "OBS007", 2, 1, "duplicate key 'service'"),
    (
        "duplicate-alert",
        BASE + "alerts:\n  X: {severity: page, when: queue_depth > 1}\n",
        "OBS007",
        19,
        1,
        "duplicate key 'alerts'",
    ),
    ("unknown-top-key", BASE + "alertz: {}\n", "OBS101", 19, 1, "unknown key 'alertz'"),
    (
        "unknown-alert-key",
        BASE.replace("    for: 5m\n", "    for: 5m\n    threshhold: 3\n"),
        "OBS101",
        14,
        5,
        "unknown key 'threshhold'",
    ),
    (
        "unknown-metric-key",
        BASE.replace("{kind: gauge}", "{kind: gauge, lables: [a]}"),
        "OBS101",
        5,
        30,
        "unknown key 'lables'",
    ),
    (
        "missing-service",
        BASE.replace("service: demo\n", ""),
        "OBS102",
        1,
        1,
        "missing required key 'service'",
    ),
    (
        "missing-kind",
        BASE.replace("{kind: gauge}", "{help: x}"),
        "OBS102",
        5,
        3,
        "missing required key 'kind'",
    ),
    (
        "missing-severity",
        BASE.replace("    severity: page\n", ""),
        "OBS102",
        10,
        3,
        "missing required key 'severity'",
    ),
    ("bad-kind", BASE.replace("{kind: gauge}", "{kind: gage}"), "OBS106", 5, 23, "'gage' is not allowed"),
    (
        "bad-service-name",
        BASE.replace("service: demo", "service: Demo_Svc"),
        "OBS105",
        1,
        10,
        "expected form",
    ),
    (
        "bad-alert-name",
        BASE.replace("  HighErrors:", "  high-errors:"),
        "OBS105",
        None,
        None,
        "expected form",
    ),
    ("bad-duration", BASE.replace("for: 5m", "for: 5 minutes"), "OBS104", 13, 10, "not a duration"),
    ("bare-number-duration", BASE.replace("for: 5m", "for: 300"), "OBS103", 13, 10, "string"),
    ("fraction-duration", BASE.replace("for: 5m", "for: 1.5m"), "OBS104", 13, 10, "not a duration"),
    ("wrong-order-duration", BASE.replace("for: 5m", "for: 1m1h"), "OBS104", 13, 10, "not a duration"),
    (
        "yaml11-bool",
        BASE + "targets:\n  prometheus: {recording_rules: yes}\n",
        "OBS104",
        20,
        33,
        "write true or false",
    ),
    (
        "sexagesimal-time",
        BASE.replace(
            "  severities:",
            "  time_intervals:\n    bh: [{times: [{start: 9:00, end: 17:00}]}]\n  severities:",
        ),
        "OBS105",
        None,
        None,
        "expected form",
    ),
    ("list-not-map", BASE.replace("{kind: gauge}", "[gauge]"), "OBS103", 5, 16, "valid dictionary"),
    ("string-not-list", BASE.replace("labels: [code]", "labels: code"), "OBS103", 4, 48, "list"),
    (
        "bad-label-name",
        BASE.replace("labels: [code]", "labels: [status-code]"),
        "OBS104",
        4,
        49,
        "not a valid label name",
    ),
    ("reserved-label", BASE.replace("labels: [code]", "labels: [__code]"), "OBS104", 4, 49, "reserved"),
    (
        "bad-metric-name",
        BASE.replace("  queue_depth:", "  queue-depth:"),
        "OBS104",
        None,
        None,
        "not a valid metric name",
    ),
    (
        "unknown-ref",
        BASE.replace("when: error_ratio > 0.05", "when: eror_ratio > 0.05"),
        "OBS201",
        12,
        11,
        "unknown name 'eror_ratio'",
    ),
    (
        "unknown-func",
        BASE.replace("when: error_ratio > 0.05", "when: rat(http_requests_total) > 1"),
        "OBS202",
        12,
        11,
        "unknown function 'rat'",
    ),
    ("arity", BASE.replace("when: error_ratio > 0.05", "when: rate() > 1"), "OBS203", 12, 11, "takes 1 to 2"),
    (
        "rate-of-gauge",
        BASE.replace("when: error_ratio > 0.05", "when: rate(queue_depth) > 1"),
        "OBS210",
        12,
        11,
        "rate() of the gauge",
    ),
    (
        "group-on-set-operator",
        BASE.replace("when: error_ratio > 0.05", "when: queue_depth and on (code) group_left queue_depth"),
        "OBS250",
        12,
        23,
        "group_left on the set operator 'and'",
    ),
    (
        "matching-with-a-number",
        BASE.replace("when: error_ratio > 0.05", "when: queue_depth > on (code) 1"),
        "OBS251",
        12,
        23,
        "vector matching on '>' with a number",
    ),
    (
        "scalar-comparison-without-bool",
        BASE.replace("when: error_ratio > 0.05", "when: 1 > 2"),
        "OBS252",
        12,
        13,
        "between two numbers",
    ),
    (
        "increase-of-gauge",
        BASE.replace("when: error_ratio > 0.05", "when: increase(queue_depth) > 1"),
        "OBS210",
        12,
        11,
        "increase() of the gauge",
    ),
    (
        "quantile-of-counter",
        BASE.replace("when: error_ratio > 0.05", "when: quantile(0.9, http_requests_total) > 1"),
        "OBS211",
        12,
        11,
        "quantile()",
    ),
    (
        "histogram-quantile-no-bucket",
        BASE.replace(
            "when: error_ratio > 0.05", "when: histogram_quantile(0.9, rate(http_requests_total)) > 1"
        ),
        "OBS212",
        12,
        11,
        "_bucket",
    ),
    (
        "histogram-bare",
        BASE.replace("when: error_ratio > 0.05", "when: latency_seconds > 1"),
        "OBS211",
        12,
        11,
        "is a histogram",
    ),
    (
        "expr-syntax",
        BASE.replace("when: error_ratio > 0.05", "when: error_ratio >> 0.05"),
        "OBS200",
        12,
        24,
        "cannot parse",
    ),
    (
        "expr-unclosed",
        BASE.replace("when: error_ratio > 0.05", "when: rate(http_requests_total > 1"),
        "OBS200",
        None,
        None,
        "cannot parse",
    ),
    (
        "expr-double-amp",
        BASE.replace("when: error_ratio > 0.05", "when: error_ratio > 0.05 && queue_depth > 1"),
        "OBS200",
        12,
        30,
        "cannot parse",
    ),
    (
        "expr-bad-window",
        BASE.replace("when: error_ratio > 0.05", "when: rate(http_requests_total[5x]) > 1"),
        "OBS200",
        None,
        None,
        "cannot parse",
    ),
    ("expr-bad-regex", BASE.replace('code=~"5.."', 'code=~"5(("'), "OBS205", None, None, "invalid regex"),
    (
        "unknown-var",
        BASE.replace("when: error_ratio > 0.05", "when: error_ratio > $limit"),
        "OBS220",
        12,
        25,
        "unknown variable",
    ),
    (
        "mixed-events-metrics",
        BASE.replace("when: error_ratio > 0.05", "when: count(boot, 5m) > error_ratio")
        + "sources:\n  logs: {type: loki}\nevents:\n  boot: {stream: {app: demo}, message: started}\n",
        "OBS213",
        12,
        17,
        "cannot mix",
    ),
    (
        "unrouted-severity",
        BASE.replace("severity: page", "severity: critical"),
        "OBS301",
        11,
        15,
        "has no route",
    ),
    (
        "unknown-receiver",
        BASE.replace("page: [oncall]", "page: [oncal]"),
        "OBS310",
        18,
        11,
        "unknown receiver 'oncal'",
    ),
    (
        "bad-template",
        BASE.replace("    for: 5m\n", '    for: 5m\n    summary: "{{ $value "\n'),
        "OBS303",
        14,
        14,
        "not a valid Prometheus template",
    ),
    (
        "bad-template-func",
        BASE.replace("    for: 5m\n", '    for: 5m\n    summary: "{{ $value | humanizePercent }}"\n'),
        "OBS303",
        14,
        14,
        "humanizePercent",
    ),
    (
        "no-condition",
        BASE.replace("    when: error_ratio > 0.05\n", ""),
        "OBS104",
        10,
        3,
        "needs exactly one of",
    ),
    (
        "derived-self-ref",
        BASE.replace("derived:\n", "derived:\n  loop: loop * 2\n"),
        "OBS209",
        8,
        9,
        "refers to itself",
    ),
    (
        "latency-threshold-not-bucket",
        BASE
        + "slos:\n  fast:\n    objective: 99\n    sli: {latency: {metric: latency_seconds, threshold: 0.25}}\n",
        "OBS401",
        22,
        57,
        "not a bucket boundary",
    ),
    (
        "slo-objective-range",
        BASE
        + "slos:\n  a:\n    objective: 100\n    sli: {bad: http_requests_total, total: http_requests_total}\n",
        "OBS100",
        21,
        16,
        "less than 100",
    ),
    (
        "slo-sli-shape",
        BASE + "slos:\n  a:\n    objective: 99\n    sli: {total: http_requests_total}\n",
        "OBS104",
        22,
        5,
        "exactly one of",
    ),
    (
        "env-bad-override",
        BASE + "environments:\n  prod:\n    alerts:\n      HighErrors: {for: soon}\n",
        "OBS104",
        22,
        25,
        "not a duration",
    ),
    ("include-missing", "include: [nope.yaml]\n" + BASE, "OBS009", 1, 11, "not found"),
    (
        "unknown-probe",
        BASE.replace("    when: error_ratio > 0.05\n", "    probe: health\n"),
        "OBS201",
        12,
        12,
        "unknown probe",
    ),
    (
        "panel-no-query",
        BASE + "dashboards:\n  main:\n    title: Main\n    panels:\n      - {title: Empty}\n",
        "OBS502",
        23,
        9,
        "has no query",
    ),
    (
        "row-unknown-key",
        BASE + "dashboards:\n  main:\n    title: Main\n    panels:\n      - {row: R, panles: []}\n",
        "OBS101",
        23,
        18,
        "unknown key 'panles'",
    ),
    (
        "test-unknown-alert",
        BASE
        + "tests:\n  - name: t\n    series: {'queue_depth': '1x10'}\n    expect: [{at: 5m, firing: [Nope]}]\n",
        "OBS601",
        22,
        32,
        "unknown alert",
    ),
    (
        "time-interval-unknown",
        BASE.replace("page: [oncall]", "page: {receivers: [oncall], active_time_intervals: [bh]}"),
        "OBS312",
        18,
        57,
        "unknown time interval",
    ),
    (
        "slack-no-secret-file",
        BASE.replace(
            "oncall: {pagerduty: {routing_key_file: /etc/am/pd}}", "oncall: {slack: {channel: '#x'}}"
        ),
        "OBS313",
        16,
        21,
        "api_url_file",
    ),
    (
        "webhook-not-url",
        BASE.replace(
            "oncall: {pagerduty: {routing_key_file: /etc/am/pd}}", "oncall: {webhook: {url: 'x:9/y'}}"
        ),
        "OBS105",
        16,
        29,
        "not an http:// or https:// URL",
    ),
    (
        "reserved-annotation",
        BASE.replace("    for: 5m\n", "    for: 5m\n    annotations: {summary: x}\n"),
        "OBS308",
        14,
        19,
        "comes from the alert's own field",
    ),
    (
        "infinite-var",
        BASE.replace("service: demo\n", "service: demo\nvars: {big: .inf}\n"),
        "OBS100",
        2,
        13,
        "finite",
    ),
    (
        "string-var",
        BASE.replace("service: demo\n", "service: demo\nvars: {thr: abc}\n"),
        "OBS103",
        2,
        13,
        "number",
    ),
    (
        "severity-in-shared-labels",
        BASE.replace("service: demo\n", "service: demo\nlabels: {severity: low}\n"),
        "OBS306",
        2,
        10,
        "set by obsctl",
    ),
    (
        "event-field-injection",
        BASE
        + "sources:\n  logs: {type: loki}\nevents:\n  e: {stream: {app: x}, message: m, field: 'msg=\"x\" or msg'}\n",
        "OBS105",
        22,
        44,
        "expected form",
    ),
    (
        "probe-timeout",
        BASE + "sources:\n  probes:\n    h: {url: 'https://x.org/health', interval: 10s, timeout: 30s}\n",
        "OBS104",
        21,
        5,
        "longer than the interval",
    ),
    (
        "objective-as-ratio",
        BASE
        + "slos:\n  a:\n    objective: 0.999\n    sli: {bad: http_requests_total, total: http_requests_total}\n",
        "OBS100",
        21,
        16,
        "greater than or equal to 1",
    ),
    (
        "webhook-credentials",
        BASE.replace(
            "oncall: {pagerduty: {routing_key_file: /etc/am/pd}}",
            "oncall: {webhook: {url: 'https://u:p@x.org/h'}}",
        ),
        "OBS107",
        16,
        29,
        "credentials before the host",
    ),
    ("include-not-yaml", "include: [/etc/passwd]\n" + BASE, "OBS009", 1, 11, "not a YAML spec"),
    (
        "runbook-template",
        BASE.replace("    for: 5m\n", "    for: 5m\n    runbook: 'https://wiki/{{ page'\n"),
        "OBS303",
        14,
        14,
        "runbook",
    ),
    (
        "dashboard-uid-clash",
        BASE + "dashboards:\n  a.b: {title: A, panels: [{title: p, expr: queue_depth}]}\n"
        "  a-b: {title: B, panels: [{title: p, expr: queue_depth}]}\n",
        "OBS512",
        21,
        3,
        "is also the uid of",
    ),
    ("merge-key-bad", "service: demo\n<<: 5\n", "OBS001", 2, 5, "merges need a mapping"),
    # Secrets never inline (issue 17): every URL and address field refuses user:pass@ and credential-like query
    # parameters (OBS107); a *_file setting that holds a URL is refused (OBS108).
    (
        "webhook-token-param",
        BASE.replace(ONCALL, "oncall: {webhook: {url: 'https://x.org/h?Access_Token=abc'}}"),
        "OBS107",
        16,
        29,
        "query parameter 'Access_Token'",
    ),
    (
        "pagerduty-url-userinfo",
        BASE.replace(
            "{routing_key_file: /etc/am/pd}",
            "{routing_key_file: /etc/am/pd, url: 'https://u:p@events.pd.com/v2'}",
        ),
        "OBS107",
        16,
        61,
        "credentials before the host",
    ),
    (
        "probe-url-userinfo",
        BASE + "sources:\n  probes:\n    h: {url: 'https://u:p@x.org/health'}\n",
        "OBS107",
        21,
        14,
        "credentials",
    ),
    (
        "probe-url-api-key",
        BASE + "sources:\n  probes:\n    h: {url: 'https://x.org/health?api_key=k'}\n",
        "OBS107",
        21,
        14,
        "'api_key'",
    ),
    (
        "scrape-target-userinfo",
        BASE + "sources:\n  metrics: {targets: ['u:p@app:8000']}\n",
        "OBS107",
        20,
        23,
        "credentials",
    ),
    (
        "scrape-job-target-userinfo",
        BASE + "sources:\n  metrics:\n    scrape: [{job: a, targets: ['tok@app:8000']}]\n",
        "OBS107",
        21,
        33,
        "credentials",
    ),
    (
        "blackbox-userinfo",
        BASE + "targets:\n  prometheus: {blackbox_exporter: 'u:p@bb:9115'}\n",
        "OBS107",
        20,
        35,
        "credentials",
    ),
    (
        "smarthost-userinfo",
        BASE.replace(
            "  severities:", "  smtp: {smarthost: 'u:p@smtp.x.org:587', from: a@x.org}\n  severities:"
        ),
        "OBS107",
        17,
        21,
        "credentials",
    ),
    (
        "runbook-token",
        BASE.replace(
            "runbook: https://runbooks.example.org/demo", "runbook: https://runbooks.example.org/demo?token=t"
        ),
        "OBS107",
        2,
        10,
        "'token'",
    ),
    (
        "alert-runbook-userinfo",
        BASE.replace("    for: 5m\n", "    for: 5m\n    runbook: https://u:p@wiki.x.org/r\n"),
        "OBS107",
        14,
        14,
        "credentials",
    ),
    (
        "annotation-link-sig",
        BASE.replace(
            "    for: 5m\n", "    for: 5m\n    annotations: {dash: 'see https://g.x.org/d?sig=abc'}\n"
        ),
        "OBS107",
        14,
        25,
        "'sig'",
    ),
    (
        "slo-runbook-secret",
        BASE + "slos:\n  a:\n    objective: 99\n    runbook: https://x.org/r?private_token=t\n"
        "    sli: {bad: http_requests_total, total: http_requests_total}\n",
        "OBS107",
        22,
        14,
        "'private_token'",
    ),
    (
        "slack-url-in-file-setting",
        BASE.replace(ONCALL, "oncall: {slack: {api_url_file: 'https://hooks.slack.com/services/T/B/X'}}"),
        "OBS108",
        16,
        36,
        "not the secret itself",
    ),
    (
        "pagerduty-key-file-url",
        BASE.replace("{routing_key_file: /etc/am/pd}", "{routing_key_file: 'https://x.org/k'}"),
        "OBS108",
        16,
        44,
        "not the secret itself",
    ),
    # Name checks are whole-value: `$` in Python's re (and a bare re.match) accepted a trailing newline.
    (
        "label-name-newline",
        BASE.replace("labels: [code]", 'labels: ["code\\n"]'),
        "OBS104",
        4,
        49,
        "not a valid label name",
    ),
    (
        "metric-name-newline",
        BASE.replace("  queue_depth:", '  "queue_depth\\n":'),
        "OBS104",
        None,
        None,
        "not a valid metric name",
    ),
    ("duration-newline", BASE.replace("for: 5m", 'for: "5m\\n"'), "OBS104", 13, 10, "not a duration"),
    # pydantic's pattern= is Rust's regex, where `$` is the end of the text: proven, not assumed
    (
        "service-newline",
        BASE.replace("service: demo", 'service: "demo\\n"'),
        "OBS105",
        1,
        10,
        "expected form",
    ),
    (
        "alert-name-newline",
        BASE.replace("  HighErrors:", '  "HighErrors\\n":'),
        "OBS105",
        None,
        None,
        "expected form",
    ),
    (
        "var-name-newline",
        BASE.replace("service: demo\n", 'service: demo\nvars: {"thr\\n": 1}\n'),
        "OBS105",
        None,
        None,
        "expected form",
    ),
    # Durations bounded to Go's time.Duration (what Prometheus and Alertmanager hold), at the field
    (
        "test-at-overflow",
        BASE
        + "tests:\n  - name: t\n    series: {'queue_depth': '1x10'}\n    expect: [{at: 999999999999999999999y}]\n",
        "OBS109",
        22,
        19,
        "longer than Prometheus",
    ),
    (
        "slo-period-overflow",
        BASE + "slos:\n  a:\n    objective: 99\n    period: 293y\n"
        "    sli: {bad: http_requests_total, total: http_requests_total}\n",
        "OBS109",
        22,
        13,
        "longer than Prometheus",
    ),
    (
        "slo-window-overflow",
        BASE
        + "slos:\n  a:\n    objective: 99\n    sli: {bad: http_requests_total, total: http_requests_total}\n"
        "    alerting: {tiers: [{name: t, long: 300y, short: 5m, factor: 2, action: page}]}\n",
        "OBS109",
        23,
        40,
        "longer than Prometheus",
    ),
    (
        "expr-window-overflow",
        BASE.replace("when: error_ratio > 0.05", "when: rate(http_requests_total[300y]) > 1"),
        "OBS204",
        12,
        16,
        "longer than Prometheus",
    ),
    (
        "group-wait-overflow",
        BASE.replace("  severities:", "  group_wait: 106752d\n  severities:"),
        "OBS109",
        17,
        15,
        "longer than Prometheus",
    ),
    # amtool joins the receivers it routes to with commas
    (
        "receiver-comma",
        BASE.replace("oncall: {pagerduty", "'on,call': {pagerduty").replace(
            "page: [oncall]", "page: ['on,call']"
        ),
        "OBS325",
        16,
        5,
        "holds a comma",
    ),
    ("unsupported-tag", "service: !!python/object:os.system demo\n", "OBS001", 1, 10, "unsupported YAML tag"),
    # SLO shapes of issue 14
    (
        "window-outside-slo",
        BASE.replace("when: error_ratio > 0.05", "when: rate(http_requests_total[${window}]) > 1"),
        "OBS415",
        12,
        16,
        "read only in slos.<name>.sli",
    ),
    (
        "latency-selector-operator-in-mapping",
        BASE + "slos:\n  a:\n    objective: 99\n    sli:\n      latency:\n"
        "        metric: latency_seconds\n        threshold: 0.5\n        selector: {code: '!500'}\n",
        "OBS413",
        26,
        26,
        "reads like an operator",
    ),
    (
        "latency-selector-not-matchers",
        BASE + "slos:\n  a:\n    objective: 99\n    sli:\n      latency:\n"
        "        metric: latency_seconds\n        threshold: 0.5\n        selector: 'code ~ 5'\n",
        "OBS414",
        26,
        19,
        "not label matchers",
    ),
    (
        "error-ratio-without-window",
        BASE + "slos:\n  a:\n    objective: 99\n    sli:\n      error_ratio: 'queue_depth'\n",
        "OBS416",
        23,
        21,
        "must use ${window}",
    ),
    (
        "sli-expression-and-selector",
        BASE + "slos:\n  a:\n    objective: 99\n    sli:\n"
        "      bad: 'sum(rate(http_requests_total{code=\"500\"}[${window}]))'\n      total: http_requests_total\n",
        "OBS416",
        24,
        14,
        "is a selector",
    ),
    (
        "slo-by-label-missing",
        BASE + "slos:\n  a:\n    objective: 99\n    by: [route]\n"
        "    sli: {bad: http_requests_total, total: http_requests_total}\n",
        "OBS417",
        23,
        16,
        "has no label 'route'",
    ),
    (
        "slo-by-on-log-events",
        BASE
        + "events:\n  failed: {stream: {app: demo}, message: failed}\n  done: {stream: {app: demo}, message: done}\n"
        "slos:\n  a:\n    objective: 99\n    by: [route]\n    sli: {bad: failed, total: done}\n",
        "OBS419",
        25,
        9,
        "counts the log event",
    ),
    (
        "slo-expression-min-events",
        BASE + "slos:\n  a:\n    objective: 99\n    sli:\n"
        '      error_ratio: \'sum(rate(http_requests_total{code="500"}[${window}])) / '
        "sum(rate(http_requests_total[${window}]))'\n    alerting: {min_events: 10}\n",
        "OBS418",
        24,
        16,
        "cannot count",
    ),
]


def _write(tmp_path, text, name="spec.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("case_id,text,code,line,col,fragment", CASES, ids=[c[0] for c in CASES])
def test_broken_spec(tmp_path, monkeypatch, case_id, text, code, line, col, fragment):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, text)
    result = CliRunner().invoke(app, ["validate", "--format", "json", str(path.name)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    diags = json.loads(result.stdout)
    errors = [d for d in diags if d["level"] == "error"]
    assert errors, diags
    match = [d for d in errors if d["code"] == code and fragment in d["message"]]
    assert match, f"expected {code} '{fragment}', got {[(d['code'], d['message']) for d in errors]}"
    d = match[0]
    assert d["file"] == "spec.yaml"
    assert d["line"] is not None and d["column"] is not None
    if line is not None:
        assert d["line"] == line, d
    if col is not None:
        assert d["column"] == col, d


def test_unknown_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, BASE + "environments:\n  prod: {vars: {a: 1}}\n")
    result = CliRunner().invoke(app, ["validate", "--format", "json", "--env", "prd", path.name])
    assert result.exit_code == 1
    d = json.loads(result.stdout)[0]
    assert d["code"] == "OBS010" and d["line"] == 19 and "did you mean 'prod'" in d["hint"]


def test_at_least_forty_cases():
    assert len(CASES) >= 40


def test_alias_bomb(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    path = _write(tmp_path, "service: demo\n" + "\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["validate", "--format", "json", path.name])
    assert result.exit_code == 1
    d = json.loads(result.stdout)[0]
    assert d["code"] == "OBS006" and "alias" in d["message"] and d["line"] >= 2


def test_recursive_alias(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, "service: demo\nx: &x [1, *x]\n")
    result = CliRunner().invoke(app, ["validate", "--format", "json", path.name])
    assert result.exit_code == 1
    assert json.loads(result.stdout)[0]["code"] in ("OBS006", "OBS001")


def test_non_utf8(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"service: demo\ndescription: caf\xe9\n")
    result = CliRunner().invoke(app, ["validate", "--format", "json", path.name])
    assert result.exit_code == 1
    d = json.loads(result.stdout)[0]
    assert (d["code"], d["line"], d["column"]) == ("OBS004", 2, 17)


def test_huge_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "spec.yaml"
    path.write_text("service: demo\n" + "# padding\n" * 300_000)
    result = CliRunner().invoke(app, ["validate", "--format", "json", path.name])
    assert result.exit_code == 1
    assert json.loads(result.stdout)[0]["code"] == "OBS003"


def test_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate", "--format", "json", "nope.yaml"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)[0]["code"] == "OBS002"


def test_include_cycle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "include: [b.yaml]\nservice: demo\n", "a.yaml")
    _write(tmp_path, "include: [a.yaml]\n", "b.yaml")
    result = CliRunner().invoke(app, ["validate", "--format", "json", "a.yaml"])
    assert result.exit_code == 1
    d = json.loads(result.stdout)[0]
    assert d["code"] == "OBS009" and "cycle" in d["message"] and d["file"] == "b.yaml"


def test_human_output_points_at_the_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, BASE.replace("when: error_ratio > 0.05", "when: eror_ratio > 0.05"))
    result = CliRunner().invoke(app, ["validate", path.name])
    assert result.exit_code == 1
    err = result.stderr
    assert "spec.yaml:12:11: error OBS201 unknown name 'eror_ratio'" in err
    assert "12 |     when: eror_ratio > 0.05" in err
    assert "hint: did you mean 'error_ratio'?" in err
    assert "Traceback" not in result.output


def test_github_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, BASE.replace("when: error_ratio > 0.05", "when: eror_ratio > 0.05"))
    result = CliRunner().invoke(app, ["validate", "--format", "github", path.name])
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "::error file=spec.yaml,line=12,col=11,title=OBS201::unknown name 'eror_ratio'"
    )


def test_usage_error_exit_2():
    result = CliRunner().invoke(app, ["validate", "--format", "xml", "x.yaml"])
    assert result.exit_code == 2
