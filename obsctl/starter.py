"""`obsctl init`: a starter spec that validates and builds, to edit rather than to write from nothing."""

from __future__ import annotations

import sys
from pathlib import Path

STARTER = """\
# yaml-language-server: $schema=https://obsctl.dev/schemas/obsctl.schema.json
# A starter obsctl spec. `obsctl validate {path}` checks it; `obsctl build {path}` compiles it.
service: {service}
team: platform
runbook: https://runbooks.example.org/{service}

sources:
  metrics: {{type: prometheus, selector: {{job: {service}}}}}
  probes:
    health: {{url: "https://{service}.example.org/health"}}

metrics:
  http_requests_total: {{kind: counter, labels: [code, route], help: HTTP requests served}}
  http_request_duration_seconds:
    kind: histogram
    labels: [route]
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5]

derived:
  error_ratio_5m:
    expr: delta(http_requests_total{{code=~"5.*"}}) / max(delta(http_requests_total), 1)
    window: 5m
    unit: percentunit

dashboards:
  overview:
    title: {service} overview
    refresh: 30s
    panels:
      - {{title: Requests per second, expr: "rate(http_requests_total)", unit: reqps}}
      - {{title: Error ratio, expr: error_ratio_5m, unit: percentunit}}
      - title: p95 latency
        expr: quantile(0.95, http_request_duration_seconds)
        unit: s
        # Datadog computes percentiles from distributions, not from Prometheus buckets: say which one to query.
        overrides: {{datadog: "p95:http.request.duration.seconds{{*}}"}}

alerts:
  HighErrorRate:
    title: High error rate
    severity: page
    when: error_ratio_5m >= 0.05
    only_if: delta(http_requests_total) >= 100
    for: 10m
    summary: "Error ratio is {{{{ $value | humanizePercentage }}}}"
  ServiceDown:
    title: Health check failing
    severity: page
    probe: health
    for: 3m

slos:
  availability:
    objective: 99.9
    period: 30d
    sli:
      bad: http_requests_total{{code=~"5.*"}}
      total: http_requests_total
    alerting: {{page_severity: page, ticket_severity: ticket}}

routing:
  receivers:
    oncall: {{pagerduty: {{routing_key_file: /etc/alertmanager/secrets/pagerduty}}, datadog: "@pagerduty-{service}"}}
    team: {{slack: {{channel: "#{service}", api_url_file: /etc/alertmanager/secrets/slack}}, datadog: "@slack-{service}"}}
  severities:
    page: {{receivers: [oncall, team], pagerduty: critical, datadog: 1}}
    ticket: {{receivers: [team], datadog: 3}}
"""


def write_starter(path: Path, service: str, force: bool) -> int:
    from .files import write_or_say_why
    from .model import MAX_SERVICE_NAME, SERVICE_NAME

    if not SERVICE_NAME.fullmatch(service) or len(service) > MAX_SERVICE_NAME:
        print(
            f"error: service '{service}' must be lowercase letters, digits and '-', at most "
            f"{MAX_SERVICE_NAME} characters",
            file=sys.stderr,
        )
        return 1
    if path.exists() and not force:
        print(f"error: {path} exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    if not write_or_say_why(path, STARTER.format(service=service, path=path)):
        return 1
    print(f"wrote {path}: edit it, then run `obsctl validate {path}`")
    return 0
