"""The asset-ws design on VictoriaMetrics: the built vmalert rule file fires in a real vmalert over a real
VictoriaMetrics single node, and the built routing tree delivers the alerts.

A test variant of examples/asset-ws is built with `targets.prometheus.engine: victoriametrics` and the timing of the
Prometheus end-to-end test (every `for` 2s, rules every second, group_wait 1s), plus the availability SLO of the
README's tour with one page tier (1h/5m at 14.4x, `for` 2s). Only `prometheus/asset-ws.vmalert.yml` is loaded:
vmalert reads VictoriaMetrics (MetricsQL) and writes its recordings back to it; Alertmanager's receivers become
webhooks to a local recorder while the route tree and inhibit rules stay as built.

Samples go in through VictoriaMetrics' Prometheus import API (/api/v1/import/prometheus): 65 minutes of history
(every 15s) when a series starts, so the 1h SLO window and the 5m windows are full at once, then one sample a
second. Phase 1 has requests and websocket auth failures, no error series at all: WebSocketAuthFailuresSpike
(P2) reaches on-call and the incident channel. Phase 2 starts the error counter (20% of 100 requests/s, with its
history): APIHighErrorRate (P1) and the SLO's page alert (P1) reach the pager.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_prometheus_alertmanager import (
    ASSET_WS,
    Processes,
    Recorder,
    _alertmanager_alerts,
    _free_port,
    _get_json,
    _wait_for,
    alertmanager_config,
    build_fast,
)

pytestmark = pytest.mark.e2e

VICTORIA_METRICS = "/usr/bin/victoria-metrics"
VMALERT = "/usr/bin/vmalert"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
HISTORY = 65 * 60  # seconds of samples imported when a series starts: the SLO's 1h window, full
SLO_ALERT = "AssetWsAvailabilityBudgetBurn"

RATES = {
    "api_requests_total": 100.0,
    "ws_auth_failures_total": 50.0,
    "ws_connections_total": 10.0,
    "ws_session_init_failures_total": 0.0,
    "api_requests_errors_total": 20.0,
}


def _require_binaries() -> None:
    missing = [p for p in (VICTORIA_METRICS, VMALERT, ALERTMANAGER) if not os.access(p, os.X_OK)]
    if missing:
        reason = (
            f"end-to-end test NOT RUN: {', '.join(missing)} missing "
            "(apt-get install victoria-metrics prometheus-alertmanager)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def build_variant(tmp: Path) -> dict[str, str]:
    """Build the asset-ws spec for vmalert with test timing and the tour's SLO; artifact path -> text."""
    spec = yaml.safe_load(ASSET_WS.read_text())
    for alert in spec["alerts"].values():
        alert["for"] = "2s"
    spec.setdefault("targets", {}).setdefault("prometheus", {}).update(
        {"evaluation_interval": "1s", "engine": "victoriametrics"}
    )
    spec["slos"] = {
        "availability": {
            "objective": 99.9,
            "period": "30d",
            "sli": {"bad": "api_requests_errors_total", "total": "api_requests_total"},
            "alerting": {
                "page_severity": "P1",
                "min_events": 100,
                "tiers": [
                    {
                        "name": "page",
                        "long": "1h",
                        "short": "5m",
                        "factor": 14.4,
                        "action": "page",
                        "for": "2s",
                    }
                ],
            },
        }
    }
    return build_fast(spec, tmp)


class Importer:
    """Counters growing at RATES from HISTORY seconds before the test, written to VictoriaMetrics' Prometheus
    import API: a series' history when it starts, then the current value every second from a thread."""

    def __init__(self, base: str) -> None:
        self.url = f"{base}/api/v1/import/prometheus"
        self.flush = f"{base}/internal/force_flush"
        self.origin = time.time() - HISTORY
        self.series: list[str] = []
        self.error: Exception | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _lines(self, names: list[str], at: float) -> list[str]:
        out = [f'{n}{{job="asset-ws"}} {RATES[n] * (at - self.origin):.3f} {int(at * 1000)}' for n in names]
        out.append(f'ws_connections_active{{job="asset-ws"}} 42 {int(at * 1000)}')
        return out

    def _post(self, lines: list[str]) -> None:
        req = urllib.request.Request(self.url, data=("\n".join(lines) + "\n").encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 204, resp.status
        with urllib.request.urlopen(self.flush, timeout=10):
            pass

    def start(self, names: list[str]) -> None:
        """Start `names`: their history up to now, then live samples (with the series already started)."""
        now = time.time()
        history: list[str] = []
        for step in range(0, HISTORY + 1, 15):
            history += self._lines(names, self.origin + step)[:-1]
        self._post(history + self._lines(names, now))
        self.series += names
        if not self.thread.is_alive():
            self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self._post(self._lines(list(self.series), time.time()))
            except Exception as exc:  # reported by the test, not lost in a thread
                self.error = exc

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict]:
    _require_binaries()
    work = tmp_path / "e2e"
    work.mkdir()
    built = build_variant(work)
    rules = work / "asset-ws.vmalert.yml"
    rules.write_text(built["prometheus/asset-ws.vmalert.yml"])
    recorder = Recorder()
    procs = Processes(work)
    importer: Importer | None = None
    try:
        original, am_config = alertmanager_config(built, recorder)
        assert am_config["route"] == original["route"]
        assert am_config["inhibit_rules"] == original["inhibit_rules"]
        (work / "alertmanager.yml").write_text(yaml.safe_dump(am_config, sort_keys=False))
        am_port, vm_port, vmalert_port = _free_port(), _free_port(), _free_port()
        am, vm, vmalert = (f"http://127.0.0.1:{p}" for p in (am_port, vm_port, vmalert_port))
        procs.start(
            "alertmanager",
            [
                ALERTMANAGER,
                f"--config.file={work / 'alertmanager.yml'}",
                f"--storage.path={work / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
                "--log.level=info",
            ],
        )
        # latencyOffset 0s: samples are queryable as soon as they are written (30s by default).
        procs.start(
            "victoria-metrics",
            [
                VICTORIA_METRICS,
                f"-storageDataPath={work / 'vm-data'}",
                f"-httpListenAddr=127.0.0.1:{vm_port}",
                "-retentionPeriod=1",
                "-search.latencyOffset=0s",
                "-search.disableCache",
                "-loggerLevel=WARN",
            ],
        )
        for name, url in (("Alertmanager", f"{am}/-/ready"), ("VictoriaMetrics", f"{vm}/health")):
            _wait_for(f"{name} to be ready", lambda u=url: _ok(u), procs.logs)
        importer = Importer(vm)
        importer.start(
            [
                "api_requests_total",
                "ws_auth_failures_total",
                "ws_connections_total",
                "ws_session_init_failures_total",
            ]
        )
        procs.start(
            "vmalert",
            [
                VMALERT,
                f"-rule={rules}",
                f"-datasource.url={vm}",
                f"-remoteWrite.url={vm}",
                "-remoteWrite.flushInterval=1s",
                f"-notifier.url={am}",
                "-evaluationInterval=1s",
                f"-httpListenAddr=127.0.0.1:{vmalert_port}",
                "-loggerLevel=WARN",
            ],
        )
        _wait_for("vmalert to be ready", lambda: _ok(f"{vmalert}/health"), procs.logs)
        yield {
            "vmalert": vmalert,
            "am": am,
            "vm": vm,
            "importer": importer,
            "recorder": recorder,
            "logs": procs.logs,
        }
    finally:
        if importer is not None:
            importer.close()
        procs.stop()
        recorder.server.close()


def _ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status == 200


def _vmalert_alerts(vmalert: str) -> dict[str, dict]:
    return {a["name"]: a for a in _get_json(f"{vmalert}/api/v1/alerts")["data"]["alerts"]}


def test_vmalert_fires_and_alertmanager_routes_as_the_spec_says(stack) -> None:
    vmalert, am, recorder, importer, logs = (
        stack[k] for k in ("vmalert", "am", "recorder", "importer", "logs")
    )
    started = time.monotonic()

    # vmalert loaded the built file: every group, the alerts and the SLO's page alert among them.
    groups = _get_json(f"{vmalert}/api/v1/rules")["data"]["groups"]
    assert {g["name"] for g in groups} == {
        "asset-ws.recording",
        "asset-ws.alerts",
        "asset-ws.slo.availability",
    }
    loaded = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert {"APIHighErrorRate", "WebSocketAuthFailuresSpike", SLO_ALERT} <= loaded, loaded

    # Phase 1: auth failures, no error series. P2 reaches on-call and the incident channel; no error alert.
    _wait_for(
        "WebSocketAuthFailuresSpike (P2) at oncall and incidents",
        lambda: all(
            "WebSocketAuthFailuresSpike" in recorder.firing().get(r, ()) for r in ("oncall", "incidents")
        ),
        logs,
    )
    quiet = _vmalert_alerts(vmalert)
    assert "APIHighErrorRate" not in quiet and SLO_ALERT not in quiet, sorted(quiet)

    # Phase 2: 20% errors, with an hour of history. The P1 alert and the SLO page reach the pager.
    importer.start(["api_requests_errors_total"])
    firing = _wait_for(
        "APIHighErrorRate and the SLO page firing in vmalert",
        lambda: (
            (a := _vmalert_alerts(vmalert))
            and all(a.get(n, {}).get("state") == "firing" for n in ("APIHighErrorRate", SLO_ALERT))
            and a
        ),
        logs,
    )
    assert firing["APIHighErrorRate"]["labels"]["severity"] == "P1"
    assert float(firing["APIHighErrorRate"]["value"]) == pytest.approx(0.2, abs=0.02)
    assert firing[SLO_ALERT]["labels"]["action"] == "page"
    _wait_for(
        "APIHighErrorRate and the SLO page at pager",
        lambda: {"APIHighErrorRate", SLO_ALERT} <= recorder.firing().get("pager", set()),
        logs,
    )
    assert importer.error is None, importer.error

    # Routing is exact: Alertmanager's own record of each alert names exactly the spec's receivers.
    in_am = _alertmanager_alerts(am)
    assert {r["name"] for r in in_am["APIHighErrorRate"]["receivers"]} == {"pager"}
    assert {r["name"] for r in in_am[SLO_ALERT]["receivers"]} == {"pager"}
    assert {r["name"] for r in in_am["WebSocketAuthFailuresSpike"]["receivers"]} == {"oncall", "incidents"}
    got = recorder.firing()
    assert "WebSocketAuthFailuresSpike" not in got.get("pager", ())
    for other in ("oncall", "incidents", "obsctl-blackhole"):
        assert not {"APIHighErrorRate", SLO_ALERT} & got.get(other, set()), (other, got)
    assert time.monotonic() - started < 60
