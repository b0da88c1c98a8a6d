"""validate's engine checks: with engine victoriametrics, the alerts whose MetricsQL meaning differs from PromQL
(OBS290 window under two samples, OBS291 an increase compared with a number) and keep_firing_for (OBS731); an
engine-specific option under another engine (OBS730). Engine prometheus: none of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsctl.pipeline import check

SPEC = """\
service: demo
runbook: https://runbooks.example.org/demo
sources:
  metrics: {{type: prometheus, selector: {{job: demo}}, scrape_interval: 1m}}
metrics:
  http_requests_total: {{kind: counter, labels: [code]}}
derived:
  error_ratio: delta(http_requests_total{{code=~"5.."}}) / max(delta(http_requests_total), 1)
  errors_5m: delta(http_requests_total{{code=~"5.."}})
alerts:
  A:
    severity: page
    when: {when}
routing:
  receivers:
    oncall: {{pagerduty: {{routing_key_file: /etc/am/pd}}}}
  severities:
    page: [oncall]
targets:
  prometheus: {prometheus}
"""


def _codes(
    tmp_path: Path, when: str, prometheus: str = "{engine: victoriametrics}"
) -> list[tuple[str, int, int]]:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(when=when, prometheus=prometheus))
    result = check(path)
    assert result.ok, [f"{d.code} {d.message}" for d in result.diagnostics]
    return [(d.code, d.location.line, d.location.column) for d in result.diagnostics if d.location]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # A ratio of increases: extrapolation cancels out, and the 5m window holds five 1m samples.
        ("error_ratio > 0.05", []),
        # An increase compared with a number: the count Prometheus extrapolates, VictoriaMetrics does not.
        ("delta(http_requests_total) >= 100", [("OBS291", 13, 38)]),
        ("errors_5m >= 10", [("OBS291", 13, 21)]),
        ("sum(delta(http_requests_total, 10m)) > 3", [("OBS291", 13, 48)]),
        # rate over 1m with a 1m scrape: one sample, nothing in Prometheus, a value in VictoriaMetrics.
        ("rate(http_requests_total, 1m) > 1", [("OBS290", 13, 11)]),
        ("rate(http_requests_total[90s]) > 1", [("OBS290", 13, 11)]),
    ],
)
def test_victoriametrics_differences(tmp_path: Path, when: str, expected: list) -> None:
    assert _codes(tmp_path, when) == expected


def test_derived_window_under_two_samples_is_reported_at_the_alert(tmp_path: Path) -> None:
    spec = SPEC.replace("  errors_5m: delta", "  errors_5m:\n    window: 1m\n    expr: delta").replace(
        '(http_requests_total{{code=~"5.."}})\nalerts', '(http_requests_total{{code=~"5.."}})\nalerts', 1
    )
    path = tmp_path / "spec.yaml"
    path.write_text(spec.format(when="errors_5m / 60 > 1", prometheus="{engine: victoriametrics}"))
    result = check(path)
    assert [d.code for d in result.diagnostics] == ["OBS290"], [d.message for d in result.diagnostics]
    assert "derived metric 'errors_5m'" in result.diagnostics[0].message
    assert result.diagnostics[0].field == "alerts.A.when"


@pytest.mark.parametrize("prometheus", ["{}", "{engine: prometheus}", "{engine: mimir}", "{engine: thanos}"])
def test_other_engines_do_not_warn(tmp_path: Path, prometheus: str) -> None:
    assert (
        _codes(tmp_path, "rate(http_requests_total, 1m) > 1 and delta(http_requests_total) > 5", prometheus)
        == []
    )


def test_keep_firing_for_on_victoriametrics(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        SPEC.format(
            when="error_ratio > 0.05\n    keep_firing_for: 5m", prometheus="{engine: victoriametrics}"
        )
    )
    assert [(d.code, d.field) for d in check(path).diagnostics] == [("OBS731", "alerts.A.keep_firing_for")]


@pytest.mark.parametrize(
    ("prometheus", "field"),
    [
        ("{engine: thanos, source_tenants: [a]}", "source_tenants"),
        ("{partial_response_strategy: warn}", "partial_response_strategy"),
        ("{engine: mimir, concurrency: 4}", "concurrency"),
    ],
)
def test_option_of_another_engine(tmp_path: Path, prometheus: str, field: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(when="error_ratio > 0.05", prometheus=prometheus))
    assert [(d.code, d.field) for d in check(path).diagnostics] == [("OBS730", f"targets.prometheus.{field}")]
