"""The PromQL constructs obsctl emits whose MetricsQL meaning differs (docs/targets.md, OBS290 and OBS291), each
shown on the same samples in Prometheus' engine (`promtool test rules`) and in a real VictoriaMetrics single node.

The series: a counter scraped every minute, 0 for 30 minutes, then 1 (one event). At 31m30s:
- `increase(c[5m])`: Prometheus extrapolates the one increase in 4 minutes of samples towards the window's edges,
  1.125; MetricsQL counts from the sample before the window, exactly 1. `delta(c) > 1` fires on one only.
- `rate(c[1m])`: one sample in the window: Prometheus returns nothing, MetricsQL a rate from the sample before.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_prometheus_alertmanager import Processes, _free_port, _get_json, _wait_for

pytestmark = pytest.mark.e2e

VICTORIA_METRICS = "/usr/bin/victoria-metrics"
AT = 31 * 60 + 30  # seconds after the first sample: the step from 0 to 1 is 30s back
CASES = {"increase(c[5m])": 1.125, "rate(c[1m])": None}  # what Prometheus returns (None: no result)
METRICSQL = {"increase(c[5m])": 1.0, "rate(c[1m])": 1 / 60}


def _values() -> list[float]:
    return [0.0] * 31 + [1.0] * 31  # promtool's '0x30 1x30': minutes 0..61


@pytest.fixture(scope="module")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float]]:
    if not os.access(VICTORIA_METRICS, os.X_OK):
        reason = "NOT RUN: victoria-metrics missing (apt-get install victoria-metrics)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("vm")
    procs = Processes(work)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        procs.start(
            "victoria-metrics",
            [
                VICTORIA_METRICS,
                f"-storageDataPath={work / 'data'}",
                f"-httpListenAddr=127.0.0.1:{port}",
                "-search.latencyOffset=0s",
                "-search.disableCache",
                "-loggerLevel=WARN",
            ],
        )
        _wait_for(
            "VictoriaMetrics",
            lambda: urllib.request.urlopen(f"{base}/health", timeout=2).status == 200,
            procs.logs,
        )
        origin = float(int(time.time()) // 60 * 60 - 2 * 3600)
        lines = [f'c{{job="x"}} {v} {int((origin + 60 * i) * 1000)}' for i, v in enumerate(_values())]
        req = urllib.request.Request(
            f"{base}/api/v1/import/prometheus", data="\n".join(lines).encode(), method="POST"
        )
        urllib.request.urlopen(req, timeout=10).close()
        urllib.request.urlopen(f"{base}/internal/force_flush", timeout=10).close()
        yield base, origin
    finally:
        procs.stop()


def _metricsql(base: str, query: str, at: float) -> float | None:
    q = urllib.parse.urlencode({"query": query, "time": f"{at:.3f}"})
    result = _get_json(f"{base}/api/v1/query?{q}")["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def _promtool_says(tmp_path: Path, promtool: str, query: str, value: float | None) -> None:
    test = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": 'c{job="x"}', "values": "0x30 1x30"}],
                "promql_expr_test": [
                    {
                        "expr": query,
                        "eval_time": f"{AT}s",
                        "exp_samples": [] if value is None else [{"labels": '{job="x"}', "value": value}],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "t.yml"
    path.write_text(yaml.safe_dump(test))
    proc = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("query", sorted(CASES))
def test_prometheus_and_metricsql_differ(
    query: str, victoria: tuple[str, float], promtool: str, tmp_path: Path
) -> None:
    base, origin = victoria
    _promtool_says(tmp_path, promtool, query, CASES[query])
    got = _metricsql(base, query, origin + AT)
    assert got == pytest.approx(METRICSQL[query]), got
    assert got != CASES[query]


def test_a_ratio_of_increases_agrees(victoria: tuple[str, float], promtool: str, tmp_path: Path) -> None:
    """Why OBS291 leaves ratios alone: the extrapolation factor cancels (1.125 / 1.125 in Prometheus)."""
    base, origin = victoria
    _promtool_says(tmp_path, promtool, "increase(c[5m]) / increase(c[5m])", 1.0)
    assert _metricsql(base, "increase(c[5m]) / increase(c[5m])", origin + AT) == pytest.approx(1.0)
