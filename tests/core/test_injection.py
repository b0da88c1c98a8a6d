"""The injection property: whatever text a spec's free-text fields hold (YAML, JSON, PromQL and Go-template
metacharacters, control characters, the Unicode line breaks U+0085/U+2028/U+2029), `build --target all` either
refuses it with a diagnostic (exit 1, no traceback, nothing written) or writes output that parses back to exactly
the spec's values, with no key, rule, route, receiver or file that a plain spec does not have.

The property runs in-process with the real-tool checks switched off, so each example costs a fraction of a second;
`test_hostile_values_pass_the_real_tools` runs promtool, amtool and the other checks on a few fixed examples.
CI runs a small, derandomized sample; the full run is

    OBSCTL_FUZZ_EXAMPLES=2000 python -m pytest -q tests/core/test_injection.py
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from obsctl.compile.promql import quote
from obsctl.starter import STARTER
from obsctl.testgen.alerts import not_generated, read_not_generated

EXAMPLES = int(os.environ.get("OBSCTL_FUZZ_EXAMPLES", "30"))
# Shrinking a failure to its smallest form takes minutes: only in a full run; CI reports the example as drawn.
PHASES = list(Phase) if "OBSCTL_FUZZ_EXAMPLES" in os.environ else [p for p in Phase if p != Phase.shrink]

TOKENS = [
    # YAML
    ": ",
    "- ",
    "#",
    " #",
    "&a",
    "*a",
    "!!python/object",
    "|",
    ">",
    "'",
    '"',
    "%",
    "@",
    "`",
    "{",
    "}",
    "[",
    "]",
    ",",
    "?",
    "---",
    "...",
    "~",
    "null",
    "yes",
    "<<",
    # JSON and escapes as text
    "\\",
    '\\"',
    "\\n",
    "\\u2028",
    "\\x85",
    "/*",
    # PromQL
    '{job="x"}',
    "=~",
    ") or vector(1",
    "[5m]",
    "__name__",
    # Go templates (Prometheus, Alertmanager) and Datadog's
    "{{",
    "}}",
    "{{ $value }}",
    "{{ $labels.job }}",
    "{{ .Labels }}",
    "{{/* c */}}",
    "{{#is_alert}}",
    # line breaks, controls, spaces
    "\n",
    "\r",
    "\r\n",
    "\x85",
    "\u2028",
    "\u2029",
    "\t",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\x9b",
    "\ufeff",
    " ",
    "  ",
    "\xa0",
    # ordinary text
    "a",
    "Error",
    "inhibit_rules: []",
    "receivers:",
    "- name: x",
    "ü",
    "日本",
]
TEXT = (
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6)
    .map("".join)
    .map(lambda s: s if s.strip() else "v" + s)
)  # blank text means "not given" to several fields
FILE_NAME = TEXT.map(lambda s: s.replace("/", "_").replace("\x00", "_")[:80] + ".yaml")

# field -> where it goes in the spec (a path of keys)
FIELDS: dict[str, tuple] = {
    "summary": ("alerts", "HighErrorRate", "summary"),
    "description": ("alerts", "HighErrorRate", "description"),
    "alert_title": ("alerts", "ServiceDown", "title"),
    "annotation": ("alerts", "HighErrorRate", "annotations", "dashboard"),
    "label": ("alerts", "HighErrorRate", "labels", "owner"),
    "runbook": ("alerts", "HighErrorRate", "runbook"),
    "dashboard_title": ("dashboards", "overview", "title"),
    "dashboard_description": ("dashboards", "overview", "description"),
    "panel_title": ("dashboards", "overview", "panels", 0, "title"),
    "slo_description": ("slos", "availability", "description"),
    "channel": ("routing", "receivers", "team", "slack", "channel"),
    "receiver_description": ("routing", "receivers", "team", "description"),
    "event_message": ("events", "refresh_completed", "message"),
    "test_name": ("tests", 0, "name"),
}


def _base() -> dict:
    spec = yaml.safe_load(STARTER.format(service="svc", path="obsctl.yaml"))
    spec["sources"]["logs"] = {"type": "loki", "format": "json", "message_field": "msg"}
    spec["events"] = {
        "refresh_completed": {"stream": {"service": "svc-worker"}, "message": "refresh completed"}
    }
    spec["alerts"]["WorkerStalled"] = {"severity": "page", "when": "count(refresh_completed, 10m) == 0"}
    spec["tests"] = [
        {
            "name": "errors page",
            "series": {
                'http_requests_total{job="svc", code="500"}': "0+100x30",
                'http_requests_total{job="svc", code="200"}': "0x30",
            },
            "expect": [{"at": "20m", "firing": ["HighErrorRate"]}],
        }
    ]
    return spec


def _put(spec: dict, path: tuple, value: str) -> None:
    node = spec
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
    node[path[-1]] = value


class _Unchecked:
    """A backend whose output is not run through the real tools (the property checks it by parsing)."""

    VERIFY_READS_FILES = False  # nothing is checked, so nothing need be staged

    def __init__(self, real: object) -> None:
        self.build = real.build

    @staticmethod
    def verify(artifacts: list, staging: Path) -> list:
        return []


def _build(
    tmp: Path, values: dict[str, str], file_name: str = "obsctl.yaml", check_tools: bool = False
) -> tuple[int, str, dict[str, object]]:
    """Write the spec (JSON with ASCII escapes, so the spec file itself holds every value exactly) and build it
    with the CLI's build function. Returns (exit code, stderr, {output path: parsed document})."""
    from obsctl import build as build_mod
    from obsctl.backends import backend

    spec = _base()
    for (
        field,
        path,
    ) in FIELDS.items():  # every field is given, so the output's structure is the same each time
        _put(spec, path, values.get(field, f"plain {field.replace('_', ' ')}"))
    path = tmp / file_name
    path.write_text(json.dumps(spec, ensure_ascii=True, indent=1), encoding="utf-8")
    out = tmp / "out"
    err = io.StringIO()
    patch = (
        contextlib.nullcontext()
        if check_tools
        else mock.patch.object(build_mod, "backend", lambda name: _Unchecked(backend(name)))
    )
    with patch, contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = build_mod.run_build(path, ["all"], None, out, None, "rules", False)
    docs: dict[str, object] = {}
    for f in sorted(out.rglob("*")) if out.exists() else []:
        if f.is_file() and ".obsctl" not in f.parts:
            text = f.read_text(encoding="utf-8")
            rel = f.relative_to(out).as_posix()
            docs[rel] = json.loads(text) if f.suffix == ".json" else (yaml.safe_load(text), text)
    return code, err.getvalue(), docs


def _shape(doc: object) -> object:
    """The structure of a parsed document with its strings left out: keys, list lengths, scalar types."""
    if isinstance(doc, dict):
        return {k: _shape(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_shape(v) for v in doc]
    return type(doc).__name__


def _strings(doc: object) -> list[str]:
    if isinstance(doc, dict):
        return [s for k, v in doc.items() for s in [k, *_strings(v)]]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return [doc] if isinstance(doc, str) else []


def _rule(docs: dict, alert: str) -> dict:
    groups = docs["prometheus/svc.rules.yml"][0]["groups"]
    return next(r for g in groups for r in g["rules"] if r.get("alert") == alert)


def _assert_exact(docs: dict, values: dict[str, str]) -> None:
    """Each value is where the spec puts it, unchanged."""
    v = values.get
    rule = _rule(docs, "HighErrorRate")
    for field, key in [
        ("summary", "summary"),
        ("description", "description"),
        ("annotation", "dashboard"),
        ("runbook", "runbook_url"),
    ]:
        if field in values:
            assert rule["annotations"][key] == v(field), field
    if "label" in values:
        assert rule["labels"]["owner"] == v("label")
    if "alert_title" in values:
        assert _rule(docs, "ServiceDown")["annotations"]["title"] == v("alert_title")
    grafana = docs["grafana/dashboards/svc-overview.json"]
    datadog = docs["datadog/dashboards/svc.overview.json"]
    if "dashboard_title" in values:
        assert grafana["title"] == datadog["title"] == v("dashboard_title")
    if "panel_title" in values:
        assert v("panel_title") in [p.get("title") for p in grafana["panels"]]
        assert v("panel_title") in [w["definition"].get("title") for w in datadog["widgets"]]
    if "channel" in values:
        am = docs["alertmanager/alertmanager.yml"][0]
        team = next(r for r in am["receivers"] if r["name"] == "team")
        assert team["slack_configs"][0]["channel"] == v("channel")
    if "event_message" in values:
        loki = docs["loki/svc.rules.yml"][0]
        exprs = [r["expr"] for g in loki["groups"] for r in g["rules"] if r.get("alert") == "WorkerStalled"]
        m = v("event_message")
        forms = [quote(m), quote("^" + re.escape(m) + "$"), quote(".*" + re.escape(m) + ".*")]
        assert exprs and any(f in exprs[0] for f in forms), (exprs, forms)
    if "test_name" in values:
        doc, text = docs["prometheus/svc.tests.yml"]
        names = [t["name"] for t in doc["tests"]] + [
            read_not_generated(line)[1] for line in not_generated(text)
        ]
        assert "spec test: " + v("test_name") in names or v("test_name") in names
    everything = [s for d in docs.values() for s in _strings(d[0] if isinstance(d, tuple) else d)]
    for field in (
        "dashboard_description",
        "slo_description",
    ):  # a receiver's description is documentation only
        if (
            field in values and values[field].strip()
        ):  # written where a description goes, maybe with a note after
            assert any(values[field].rstrip() in s for s in everything), field


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    code, err, docs = _build(tmp_path_factory.mktemp("baseline"), {})
    assert code == 0, err
    return {p: _shape(d[0] if isinstance(d, tuple) else d) for p, d in docs.items()}


TEST_KEYS = {"name", "interval", "input_series", "alert_rule_test", "promql_expr_test"}


def _same_structure(docs: dict, baseline: dict) -> None:
    """The same files with the same structure as the plain spec's. Generated alert tests depend on the text (an
    annotation obsctl cannot render drops that scenario into a `# not generated:` note): there only the keys
    are compared, and no test may be added."""
    assert set(docs) == set(baseline)
    for path, d in docs.items():
        doc = d[0] if isinstance(d, tuple) else d
        if path.endswith(".tests.yml"):
            assert set(doc) == set(baseline[path])
            assert len(doc["tests"]) <= len(baseline[path]["tests"])
            assert all(set(t) <= TEST_KEYS for t in doc["tests"]), path
        else:
            assert _shape(doc) == baseline[path], path


def _check(code: int, err: str, docs: dict, values: dict[str, str], baseline: dict) -> None:
    assert "Traceback" not in err
    if code != 0:
        assert code == 1, err
        assert re.search(r"\bOBS\d{3}\b", err), err  # a diagnostic with a stable code, not a crash
        assert not docs, "a refused build wrote files"
        return
    _same_structure(docs, baseline)
    for path, d in docs.items():
        if isinstance(d, tuple):  # every comment line of a YAML file stays a comment
            assert all(not line.startswith("inhibit_rules") for line in d[1].splitlines()), path
    _assert_exact(docs, values)


@settings(
    derandomize=True,
    database=None,
    max_examples=EXAMPLES,
    deadline=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=st.fixed_dictionaries({}, optional={f: TEXT for f in FIELDS}), file_name=FILE_NAME)
def test_free_text_reads_back_exactly_or_is_refused(values, file_name, baseline, tmp_path_factory):
    code, err, docs = _build(tmp_path_factory.mktemp("fuzz"), values, file_name)
    event("built" if code == 0 else "refused: " + ", ".join(sorted(set(re.findall(r"\bOBS\d{3}\b", err)))))
    _check(code, err, docs, values, baseline)


HOSTILE = "x\u2028inhibit_rules: [{equal: [a]}]\x85\n- name: y\r\u2029#\t}} \\\" ' : - \x7f\x1b[0m\ufeff "


@pytest.mark.parametrize(
    "values",
    [
        {
            f: HOSTILE for f in FIELDS if f not in ("summary", "description", "annotation", "label")
        },  # no templates
        {
            "summary": "a\n\u2028b {{ $value }}",
            "label": "a\x85b",
            "description": " lead\ttrail ",
            "annotation": "\u2029",
            "channel": "#a\x85b",
            "event_message": 'x\u2028y "q" \\',
        },
    ],
)
def test_hostile_values_build(values, baseline, tmp_path):
    """Values with every kind of line break are accepted and kept exactly (not only refused)."""
    code, err, docs = _build(tmp_path, values, HOSTILE.replace("\n", "_") + ".yaml")
    assert code == 0, err
    _check(code, err, docs, values, baseline)


def test_hostile_values_pass_the_real_tools(tmp_path, require_tool):
    """The same hostile values through the real checks (promtool, amtool, Grafana's schemas, Datadog's client,
    the LogQL parser) that `build` runs before writing."""
    for tool in ("promtool", "amtool", "logql-check"):
        require_tool(tool)
    values = {f: HOSTILE for f in FIELDS if f not in ("summary", "description", "annotation", "label")}
    values |= {"summary": "a\n\u2028b {{ $value }}", "label": "a\x85b", "description": " lead\ttrail "}
    code, err, docs = _build(tmp_path, values, HOSTILE.replace("\n", "_") + ".yaml", check_tools=True)
    assert code == 0, err
    assert "OBS901" not in err  # no check was skipped
