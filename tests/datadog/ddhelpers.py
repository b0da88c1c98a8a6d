"""Helpers for the Datadog backend tests: build a spec to Datadog payloads."""

from __future__ import annotations

import json
from pathlib import Path

from obsctl.build import render

ROOT = Path(__file__).resolve().parents[2]
ASSET_WS = ROOT / "examples" / "asset-ws" / "obsctl.yaml"

ROUTING = """
routing:
  receivers:
    pager: {pagerduty: {routing_key_file: /etc/am/pd}, datadog: "@pagerduty-checkout"}
    chat: {slack: {channel: "#checkout", api_url_file: /etc/am/slack}, datadog: "@slack-checkout"}
  severities:
    critical: {receivers: [pager], datadog: 1, repeat_interval: 1h}
    warning: {receivers: [chat], datadog: 3}
"""


def build_datadog(spec: Path, env: str | None = None) -> tuple[dict[str, str], list]:
    """(path -> text of every Datadog artifact, error diagnostics)."""
    artifacts, diags, _ = render(spec, ["datadog"], env)
    return {a.path: a.text for a in artifacts}, [d for d in diags if d.level == "error"]


def payloads(files: dict[str, str]) -> dict[str, dict]:
    return {p: json.loads(t) for p, t in files.items() if p.endswith(".json")}
