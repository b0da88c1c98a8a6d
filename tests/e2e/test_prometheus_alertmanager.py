"""The asset-ws design end to end: the built rules fire in a real Prometheus and the built routing tree delivers them.

A test variant of examples/asset-ws is built with `obsctl.build.render` (targets prometheus + alertmanager). The
variant changes only timing: every alert's `for` becomes 2s, rules evaluate every second and Alertmanager's
group_wait is 1s. Changing the spec, not the built files, keeps the expressions, labels and routing tree exactly
what obsctl generates; nothing in the test parses or edits rule files. Alertmanager's receivers are then replaced
by webhooks to a local recorder (one URL path per receiver name) while the route tree and inhibit rules stay as
built, so what arrives where proves the routing.

Series come from a tiny exporter (job "asset-ws", scraped every second). Phase 1 exports websocket auth failures
only: WebSocketAuthFailuresSpike (P2) must reach on-call and the incident channel. Phase 2 adds 20% API errors
over 100 requests/s: APIHighErrorRate (P1) fires in Prometheus and reaches the pager, and only the pager. P2 goes
first because the spec's inhibit rule (P1 mutes P2/P3 of the same service) would otherwise hold it back.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from obsctl.build import render

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ASSET_WS = ROOT / "examples" / "asset-ws" / "obsctl.yaml"
PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
WAIT = 40.0  # seconds any one condition may take; the whole test stays well under two minutes


# --- helpers -----------------------------------------------------------------------------------------------


def _require_binaries() -> None:
    missing = [p for p in (PROMETHEUS, ALERTMANAGER) if not os.access(p, os.X_OK)]
    if missing:
        reason = (
            f"end-to-end test NOT RUN: {', '.join(missing)} missing "
            "(apt-get install prometheus prometheus-alertmanager)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(base: str) -> bool:
    with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as resp:
        return resp.status == 200


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def _wait_for(what: str, probe: Callable[[], object], logs: Callable[[], str]) -> object:
    """Poll `probe` until it returns something truthy; fail after WAIT seconds with the processes' logs."""
    deadline = time.monotonic() + WAIT
    last_error = ""
    while time.monotonic() < deadline:
        try:
            got = probe()
            if got:
                return got
        except OSError as exc:  # not listening yet, connection reset while starting
            last_error = str(exc)
        time.sleep(0.25)
    pytest.fail(f"timed out after {WAIT:.0f}s waiting for {what} {last_error}\n{logs()}")


class _Server:
    """An http.server on an ephemeral loopback port, served from a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class Exporter:
    """/metrics with counters growing from the moment each phase starts (100 requests/s, 50 auth failures/s,
    20 errors/s once errors are switched on)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.errors_from: float | None = None
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.metrics().encode() if self.path.startswith("/metrics") else b"not found\n"
                self.send_response(200 if self.path.startswith("/metrics") else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(Handler)

    def metrics(self) -> str:
        now = time.monotonic()
        t = now - self.start
        errors = 20 * (now - self.errors_from) if self.errors_from is not None else 0.0
        values = {
            "api_requests_total": 100 * t,
            "api_requests_errors_total": errors,
            "ws_auth_failures_total": 50 * t,
            "ws_session_init_failures_total": 0.0,
            "ws_connections_total": 10 * t,
        }
        lines = []
        for name, value in values.items():
            lines += [f"# TYPE {name} counter", f"{name} {value:.3f}"]
        lines += ["# TYPE ws_connections_active gauge", "ws_connections_active 42"]
        return "\n".join(lines) + "\n"


class Recorder:
    """The webhook every receiver points at: POST /<receiver name> with Alertmanager's JSON payload."""

    def __init__(self) -> None:
        self.payloads: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with recorder.lock:
                    recorder.payloads.append((self.path.lstrip("/"), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(Handler)

    def url(self, receiver: str) -> str:
        return f"http://127.0.0.1:{self.server.port}/{receiver}"

    def firing(self) -> dict[str, set[str]]:
        """receiver (as the URL path says) -> alertnames notified as firing to it."""
        out: dict[str, set[str]] = {}
        with self.lock:
            for path, payload in self.payloads:
                assert payload["receiver"] == path, (
                    path,
                    payload["receiver"],
                )  # Alertmanager's own view agrees
                for alert in payload["alerts"]:
                    if alert["status"] == "firing":
                        out.setdefault(path, set()).add(alert["labels"]["alertname"])
        return out


class Processes:
    """Child processes with their logs; stopped (terminate, then kill) at teardown."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str]) -> None:
        log = (self.logdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.logdir
        )
        log.close()  # the child holds its own descriptor
        self.procs.append((name, proc))

    def logs(self) -> str:
        out = []
        for name, proc in self.procs:
            state = "running" if proc.poll() is None else f"exited {proc.returncode}"
            text = (self.logdir / f"{name}.log").read_text(errors="replace").splitlines()[-25:]
            out.append(f"--- {name} ({state}), last log lines:\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


# --- the build ---------------------------------------------------------------------------------------------


def build_variant(tmp: Path) -> dict[str, str]:
    """Build the asset-ws spec with test timing; artifact path -> text."""
    spec = yaml.safe_load(ASSET_WS.read_text())
    for alert in spec["alerts"].values():
        alert["for"] = "2s"
    spec.setdefault("targets", {}).setdefault("prometheus", {})["evaluation_interval"] = "1s"
    return build_fast(spec, tmp)


def build_fast(spec: dict, tmp: Path) -> dict[str, str]:
    """Prometheus rules and alertmanager.yml of `spec` with Alertmanager's group waits at 1s; path -> text."""
    routing = spec["routing"]
    routing["group_wait"] = "1s"
    for sev in routing["severities"].values():
        if isinstance(sev, dict) and "group_wait" in sev:
            sev["group_wait"] = "1s"
    variant = tmp / "obsctl.yaml"
    variant.write_text(yaml.safe_dump(spec, sort_keys=False))
    artifacts, diags, _ = render(variant, ["prometheus", "alertmanager"], None)
    errors = [f"{d.code} {d.field}: {d.message}" for d in diags if d.level == "error"]
    assert not errors, errors
    return {a.path: a.text for a in artifacts}


def rule_files(built: dict[str, str], dest: Path) -> list[Path]:
    """Write every built Prometheus rule file (a YAML document with `groups:`) to `dest`."""
    out = []
    for path, text in sorted(built.items()):
        if path.startswith("prometheus/") and path.endswith((".yml", ".yaml")):
            data = yaml.safe_load(text)
            if isinstance(data, dict) and "groups" in data:
                target = dest / Path(path).name
                target.write_text(text)
                out.append(target)
    assert out, f"no Prometheus rule file among {sorted(built)}"
    return out


def alertmanager_config(built: dict[str, str], recorder: Recorder) -> tuple[dict, dict]:
    """(the built config, the same with every receiver a webhook to the recorder; route tree untouched)."""
    original = yaml.safe_load(built["alertmanager/alertmanager.yml"])
    config = yaml.safe_load(built["alertmanager/alertmanager.yml"])
    config["receivers"] = [
        {"name": r["name"], "webhook_configs": [{"url": recorder.url(r["name"]), "send_resolved": False}]}
        for r in original["receivers"]
    ]
    config["global"] = {
        "resolve_timeout": original["global"]["resolve_timeout"]
    }  # no SMTP/API settings needed
    return original, config


# --- the test ---------------------------------------------------------------------------------------------------


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict]:
    _require_binaries()
    work = tmp_path / "e2e"
    work.mkdir()
    built = build_variant(work)
    exporter, recorder = Exporter(), Recorder()
    procs = Processes(work)
    try:
        original, am_config = alertmanager_config(built, recorder)
        assert am_config["route"] == original["route"]
        assert am_config["inhibit_rules"] == original["inhibit_rules"]
        (work / "alertmanager.yml").write_text(yaml.safe_dump(am_config, sort_keys=False))
        am_port, prom_port = _free_port(), _free_port()
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
        rules = rule_files(built, work)
        prom_config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rules],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": [
                {
                    "job_name": "asset-ws",
                    "scrape_interval": "1s",
                    "static_configs": [{"targets": [f"127.0.0.1:{exporter.server.port}"]}],
                }
            ],
        }
        (work / "prometheus.yml").write_text(yaml.safe_dump(prom_config, sort_keys=False))
        procs.start(
            "prometheus",
            [
                PROMETHEUS,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--log.level=info",
            ],
        )
        prom, am = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}"
        for name, base in (("Alertmanager", am), ("Prometheus", prom)):
            _wait_for(f"{name} to be ready", lambda b=base: _ready(b), procs.logs)
        yield {
            "prom": prom,
            "am": am,
            "exporter": exporter,
            "recorder": recorder,
            "logs": procs.logs,
            "built": built,
        }
    finally:
        procs.stop()
        exporter.server.close()
        recorder.server.close()
        shutil.rmtree(work, ignore_errors=True)


def _prometheus_alerts(prom: str) -> dict[str, dict]:
    data = _get_json(f"{prom}/api/v1/alerts")
    return {a["labels"]["alertname"]: a for a in data["data"]["alerts"]}


def _alertmanager_alerts(am: str) -> dict[str, dict]:
    return {a["labels"]["alertname"]: a for a in _get_json(f"{am}/api/v2/alerts")}


def test_alerts_fire_and_reach_the_receivers_the_spec_routes_them_to(stack):
    prom, am, recorder, exporter, logs = (
        stack["prom"],
        stack["am"],
        stack["recorder"],
        stack["exporter"],
        stack["logs"],
    )

    # The rules Prometheus loaded are the built ones (no parse errors, the alerts are there).
    groups = _get_json(f"{prom}/api/v1/rules")["data"]["groups"]
    loaded = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert {"APIHighErrorRate", "WebSocketAuthFailuresSpike"} <= loaded, loaded

    # Phase 1: auth failures only. P2 reaches on-call and the incident channel.
    _wait_for(
        "WebSocketAuthFailuresSpike (P2) at oncall and incidents",
        lambda: all(
            "WebSocketAuthFailuresSpike" in recorder.firing().get(r, ()) for r in ("oncall", "incidents")
        ),
        logs,
    )
    assert "APIHighErrorRate" not in _prometheus_alerts(prom)  # no errors yet: quiet

    # Phase 2: 20% API errors at 100 requests/s. P1 fires in Prometheus and reaches the pager.
    exporter.errors_from = time.monotonic()
    firing = _wait_for(
        "APIHighErrorRate firing in Prometheus",
        lambda: (a := _prometheus_alerts(prom).get("APIHighErrorRate")) and a["state"] == "firing" and a,
        logs,
    )
    assert firing["labels"]["severity"] == "P1"
    assert firing["labels"]["service"] == "asset-ws"
    assert float(firing["value"]) >= 0.05
    _wait_for(
        "APIHighErrorRate (P1) at pager",
        lambda: "APIHighErrorRate" in recorder.firing().get("pager", ()),
        logs,
    )

    # Routing is exact: Alertmanager's own record of each alert names exactly the spec's receivers ...
    in_am = _alertmanager_alerts(am)
    assert {r["name"] for r in in_am["APIHighErrorRate"]["receivers"]} == {"pager"}
    assert {r["name"] for r in in_am["WebSocketAuthFailuresSpike"]["receivers"]} == {"oncall", "incidents"}
    # ... and the spec's inhibit rule holds: with P1 firing for asset-ws, its P2 alert is muted.
    _wait_for(
        "WebSocketAuthFailuresSpike inhibited by the P1 alert",
        lambda: _alertmanager_alerts(am)["WebSocketAuthFailuresSpike"]["status"]["inhibitedBy"],
        logs,
    )
    # No notification went anywhere else.
    got = recorder.firing()
    assert "WebSocketAuthFailuresSpike" not in got.get("pager", ())
    for other in ("oncall", "incidents", "obsctl-blackhole"):
        assert "APIHighErrorRate" not in got.get(other, ()), (other, got)
    assert "obsctl-blackhole" not in got, got
