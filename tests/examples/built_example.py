"""Helpers for the example acceptance tests: build an example, read its rules and routes the way the tools do."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from obsctl.build import render
from obsctl.durations import parse_duration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SPECS = sorted(EXAMPLES.glob("*/obsctl.yaml"))


def environments(spec: Path) -> list[str]:
    """The environment names a spec declares (its committed output has one folder per environment)."""
    raw = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
    return sorted(raw.get("environments") or {})


def build_dir(spec: Path, env: str | None) -> Path:
    """Where the committed output of a spec (and environment) lives: examples/<x>/build[/<env>]."""
    return spec.parent / "build" / env if env else spec.parent / "build"


@functools.cache
def built(spec: Path, env: str | None = None) -> dict[str, str]:
    """Every target's artifacts, path -> text, as `obsctl build --target all` renders (and verifies) them."""
    artifacts, diags, _ = render(spec, ["all"], env)
    errors = [f"{d.code} {d.field}: {d.message}" for d in diags if d.level == "error"]
    assert not errors, f"{spec} (env {env}) does not build: {errors}"
    return {a.path: a.text for a in artifacts}


def rules(files: Mapping[str, str], target: str) -> dict[str, dict]:
    """Alerting rules from the target's rule files (prometheus/ or loki/), by name; rules sharing a name (an SLO's
    burn-rate tiers) are keyed `Name[1]`, `Name[2]`, ... in file order."""
    found: list[dict] = []
    for path, text in files.items():
        if not path.startswith(f"{target}/") or not path.endswith((".yml", ".yaml")):
            continue
        doc = yaml.safe_load(text)
        for group in doc.get("groups", []) if isinstance(doc, dict) else []:
            for rule in group.get("rules", []):
                if "alert" in rule:
                    found.append(rule)
    names = [r["alert"] for r in found]
    out: dict[str, dict] = {}
    for rule in found:
        name = rule["alert"]
        if names.count(name) == 1:
            out[name] = rule
        else:
            out[f"{name}[{sum(k.startswith(name + '[') for k in out) + 1}]"] = rule
    return out


def records(files: Mapping[str, str]) -> dict[str, str]:
    """Recording rules of the Prometheus rule files: record name -> expression."""
    out: dict[str, str] = {}
    for path, text in files.items():
        if path.startswith("prometheus/") and path.endswith((".yml", ".yaml")):
            doc = yaml.safe_load(text)
            for group in doc.get("groups", []) if isinstance(doc, dict) else []:
                out.update({r["record"]: r["expr"] for r in group.get("rules", []) if "record" in r})
    return out


def expanded(files: Mapping[str, str], expr: str) -> str:
    """An expression followed by the expressions of the recording rules it reads (to find what it measures)."""
    recorded = records(files)
    parts, seen, todo = [expr], set(), [expr]
    while todo:
        for name in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+", todo.pop()):
            if name in recorded and name not in seen:
                seen.add(name)
                parts.append(recorded[name])
                todo.append(recorded[name])
    return "\n".join(parts)


def le_values(text: str) -> set[float]:
    """Every bucket boundary the `le` matchers in a rule file's text select (`le="1"`, `le=~"1|1\\.0"`)."""
    out: set[float] = set()
    for op, value in re.findall(r'\ble(=~|=)"([^"]*)"', text):
        for alt in value.replace("\\\\", "\\").split("|") if op == "=~" else [value]:
            out.add(float(alt.replace("\\.", ".")))
    return out


def for_seconds(rule: dict) -> float:
    return parse_duration(str(rule.get("for", "0s")))


def dashboards(files: Mapping[str, str]) -> dict[str, dict]:
    """Grafana dashboards by uid."""
    out = {}
    for path, text in files.items():
        if path.startswith("grafana/") and path.endswith(".json"):
            d = json.loads(text)
            out[d["uid"]] = d
    return out


def panels(dashboard: dict) -> list[dict]:
    """Every panel of a dashboard, rows unfolded (collapsed rows keep theirs inside)."""
    out = []
    for p in dashboard.get("panels", []):
        if p.get("type") == "row":
            out += p.get("panels", [])
        else:
            out.append(p)
    return out


def alertmanager(files: Mapping[str, str]) -> dict:
    return yaml.safe_load(files["alertmanager/alertmanager.yml"])


# -- Alertmanager routing, walked the way dispatch/route.go does -------------------------------------------------

_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$')


def _unquote(value: str) -> str:
    return json.loads(value) if value.startswith('"') else value


def parse_matchers(items: list[str]) -> list[tuple[str, str, str]]:
    out = []
    for item in items:
        item = item.strip()
        parts = [item[1:-1]] if item.startswith("{") else [item]
        for part in parts:
            for piece in re.findall(r'(?:[^,"]|"(?:\\.|[^"\\])*")+', part):
                m = _MATCHER.match(piece)
                assert m, f"cannot read matcher {piece!r}"
                out.append((m.group(1), m.group(2), _unquote(m.group(3))))
    return out


def _matcher_ok(name: str, op: str, value: str, labels: Mapping[str, str]) -> bool:
    have = labels.get(name, "")
    if op == "=":
        return have == value
    if op == "!=":
        return have != value
    hit = re.fullmatch(value, have) is not None  # Alertmanager anchors regexes
    return hit if op == "=~" else not hit


def route_matches(route: dict, labels: Mapping[str, str]) -> bool:
    checks = parse_matchers(route.get("matchers", []))
    checks += [(k, "=", str(v)) for k, v in (route.get("match") or {}).items()]
    checks += [(k, "=~", str(v)) for k, v in (route.get("match_re") or {}).items()]
    return all(_matcher_ok(n, op, v, labels) for n, op, v in checks)


def walk_routes(config: dict, labels: Mapping[str, str]) -> list[str]:
    """Receivers an alert with `labels` reaches, in tree order (children first, `continue` honoured)."""

    def walk(route: dict, receiver: str) -> list[str]:
        receiver = route.get("receiver", receiver)
        found: list[str] = []
        for child in route.get("routes", []):
            if route_matches(child, labels):
                found += walk(child, receiver)
                if not child.get("continue", False):
                    break
        return found or [receiver]

    return walk(config["route"], config["route"]["receiver"])


def integrations(config: dict, receivers: list[str]) -> dict[str, set[str]]:
    """What a list of receivers notifies: {'pagerduty': {...}, 'slack': {channels}, 'opsgenie': ..., 'email': ...}."""
    by_name = {r["name"]: r for r in config["receivers"]}
    out: dict[str, set[str]] = {"pagerduty": set(), "slack": set(), "opsgenie": set(), "email": set(),
                                "webhook": set()}
    for name in receivers:
        rec = by_name[name]
        for c in rec.get("pagerduty_configs", []):
            out["pagerduty"].add(c.get("routing_key_file") or c.get("service_key_file") or "?")
        for c in rec.get("slack_configs", []):
            out["slack"].add(c.get("channel", ""))
        for c in rec.get("opsgenie_configs", []):
            out["opsgenie"].add(c.get("api_key_file", "?"))
        for c in rec.get("email_configs", []):
            out["email"].add(c["to"])
        for c in rec.get("webhook_configs", []):
            out["webhook"].add(c["url"])
    return out
