"""`obsctl import alertmanager`: an alertmanager.yml into the spec's `routing:`.

obsctl's routing is a shape, not a free tree: a root with grouping, timing and the default receiver; under it one
route per service (`service="<svc>"`); under that extra routes, then one route per severity and receiver. A tree
of that shape (obsctl's own output) imports back exactly; any other is read as the root and extra routes, and
what the shape cannot hold (nested routes, negative matchers, per-route timing, notification templates) is
reported. Secrets stay `*_file` paths; an inline secret is reported, never copied into the spec.
"""

from __future__ import annotations

import re
from pathlib import Path

from .report import CHANGED, DROPPED, ImportFailure, ImportReport
from .specfile import SpecDoc
from .yamlin import line_of, load_documents

BLACKHOLE = "obsctl-blackhole"
_MATCHER = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.S)
_SWITCH = re.compile(r'\{\{ (?:if|else if) eq \.CommonLabels\.severity ("(?:[^"\\]|\\.)*") \}\}([^{]*)')
_LITERAL = re.compile(r"[A-Za-z0-9_\- .:/@#]+")
DEFAULTS = {
    "group_by": ["alertname", "service"],
    "group_wait": "30s",
    "group_interval": "5m",
    "repeat_interval": "4h",
}
SECRET_KEYS = {
    "routing_key",
    "service_key",
    "api_url",
    "api_key",
    "auth_password",
    "auth_secret",
    "password",
    "credentials",
    "bearer_token",
    "url_secret",
}


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == v[-1] == '"':
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), v[1:-1])
    return v


def parse_matcher(text: str) -> tuple[str, str, str] | None:
    m = _MATCHER.fullmatch(str(text))
    return (m.group(1), m.group(2), _unquote(m.group(3))) if m else None


def _matchers(route: dict) -> list[tuple[str, str, str]] | None:
    """Every matcher of a route (`matchers`, and the deprecated `match`/`match_re`); None when one is unreadable."""
    out = []
    for text in route.get("matchers") or []:
        parsed = parse_matcher(text)
        if parsed is None:
            return None
        out.append(parsed)
    out += [(str(k), "=", str(v)) for k, v in (route.get("match") or {}).items()]
    out += [(str(k), "=~", str(v)) for k, v in (route.get("match_re") or {}).items()]
    return out


def _match_value(op: str, value: str) -> object:
    if op == "=":
        return value
    alternatives = value.split("|")
    if len(alternatives) > 1 and all(_LITERAL.fullmatch(a) for a in alternatives):
        return alternatives  # a list compiles to this same regex
    return {"regex": value}


def _go_unquote(lit: str) -> str:
    return re.sub(r"\\(.)", lambda m: m.group(1), lit[1:-1])


def _switch(template: str) -> dict[str, str]:
    return {_go_unquote(sev): word for sev, word in _SWITCH.findall(str(template or ""))}


class _Reader:
    def __init__(self, file: str, report: ImportReport) -> None:
        self.file = file
        self.report = report
        self.severities: dict[str, dict] = {}

    def note(self, item: str, what: str, why: str, line: int | None = None) -> None:
        self.report.add(self.file, item, what, why, line)

    # -- receivers -------------------------------------------------------------------------------------------
    def receiver(self, r: dict) -> dict:
        name = str(r.get("name"))
        item = f"receiver {name}"
        out: dict = {}
        for key in sorted(
            set(r)
            - {
                "name",
                "pagerduty_configs",
                "slack_configs",
                "opsgenie_configs",
                "webhook_configs",
                "email_configs",
            }
        ):
            self.note(
                item,
                DROPPED,
                f"{key}: the spec's receivers hold PagerDuty, Slack, Opsgenie, webhook and email",
                line_of(r),
            )
        for kind, conv in (
            ("pagerduty_configs", self.pagerduty),
            ("slack_configs", self.slack),
            ("opsgenie_configs", self.opsgenie),
            ("webhook_configs", self.webhook),
            ("email_configs", self.email),
        ):
            configs = r.get(kind) or []
            if len(configs) > 1:
                self.note(
                    item, DROPPED, f"{kind} after the first: a spec receiver has one of each", line_of(r)
                )
            if configs:
                value = conv(configs[0], item)
                if value is not None:
                    out[kind.split("_")[0]] = value
        return out

    def _secrets(self, cfg: dict, item: str, kind: str) -> None:
        for key in sorted(SECRET_KEYS & set(cfg)):
            self.note(
                item,
                DROPPED,
                f"{kind} {key} is an inline secret: never copied into the spec; put it in a "
                f"file and give its path as {key}_file"
                if not key.endswith("_file")
                else "",
                line_of(cfg),
            )
        http = cfg.get("http_config") or {}
        if isinstance(http, dict) and (
            http.get("basic_auth")
            or (http.get("authorization") or {}).get("credentials")
            or http.get("bearer_token")
        ):
            self.note(
                item,
                DROPPED,
                f"{kind} http_config credentials: inline secrets are never copied into the spec",
                line_of(cfg),
            )

    def _rest(self, cfg: dict, item: str, kind: str, known: set[str]) -> None:
        extra = sorted(set(cfg) - known - SECRET_KEYS - {"http_config"})
        if extra:
            self.note(
                item,
                CHANGED,
                f"{kind} settings obsctl writes itself or has no field for: {', '.join(extra)}",
                line_of(cfg),
            )

    def pagerduty(self, cfg: dict, item: str) -> dict | None:
        self._secrets(cfg, item, "pagerduty")
        self._rest(
            cfg, item, "pagerduty", {"routing_key_file", "url", "severity", "description", "details", "links"}
        )
        if not cfg.get("routing_key_file"):
            self.note(
                item,
                DROPPED,
                "pagerduty without routing_key_file: the spec needs the key in a file",
                line_of(cfg),
            )
            return None
        for sev, word in _switch(cfg.get("severity")).items():
            self.severities.setdefault(sev, {})["pagerduty"] = word
        out = {"routing_key_file": str(cfg["routing_key_file"])}
        if cfg.get("url"):
            out["url"] = str(cfg["url"])
        return out

    def slack(self, cfg: dict, item: str) -> dict | None:
        self._secrets(cfg, item, "slack")
        self._rest(cfg, item, "slack", {"api_url_file", "channel", "send_resolved", "title", "text"})
        if not cfg.get("api_url_file"):
            self.note(
                item,
                DROPPED,
                "slack without api_url_file: the webhook URL is a secret the spec takes as a file",
                line_of(cfg),
            )
            return None
        out: dict = {"api_url_file": str(cfg["api_url_file"])}
        if cfg.get("channel"):
            out["channel"] = str(cfg["channel"])
        if cfg.get("send_resolved") is False:
            out["send_resolved"] = False
        return out

    def opsgenie(self, cfg: dict, item: str) -> dict | None:
        self._secrets(cfg, item, "opsgenie")
        self._rest(cfg, item, "opsgenie", {"api_key_file", "priority", "responders", "tags"})
        for sev, word in _switch(cfg.get("priority")).items():
            self.severities.setdefault(sev, {})["opsgenie"] = word
        out: dict = {}
        if cfg.get("api_key_file"):
            out["api_key_file"] = str(cfg["api_key_file"])
        if cfg.get("responders"):
            out["responders"] = [{str(k): str(v) for k, v in r.items()} for r in cfg["responders"]]
        if cfg.get("tags"):
            out["tags"] = [t.strip() for t in str(cfg["tags"]).split(",") if t.strip()]
        return out

    def webhook(self, cfg: dict, item: str) -> dict | None:
        from ..secrets import find_credentials

        self._secrets(cfg, item, "webhook")
        self._rest(cfg, item, "webhook", {"url", "max_alerts", "url_file"})
        url = str(cfg.get("url") or "")
        if not url or find_credentials(url):
            self.note(
                item,
                DROPPED,
                "webhook: its URL holds a secret (or is in url_file), which the spec never takes inline"
                if url
                else "webhook without a url",
                line_of(cfg),
            )
            return None
        out: dict = {"url": url}
        auth = (cfg.get("http_config") or {}).get("authorization") or {}
        if auth.get("credentials_file"):
            out["credentials_file"] = str(auth["credentials_file"])
        if cfg.get("max_alerts"):
            out["max_alerts"] = int(cfg["max_alerts"])
        return out

    def email(self, cfg: dict, item: str) -> dict | None:
        self._secrets(cfg, item, "email")
        self._rest(cfg, item, "email", {"to", "send_resolved"})
        if not cfg.get("to"):
            return None
        out: dict = {"to": str(cfg["to"])}
        if cfg.get("send_resolved"):
            out["send_resolved"] = True
        return out

    # -- routes -------------------------------------------------------------------------------------------------
    def route(self, r: dict, item: str) -> dict | None:
        ms = _matchers(r)
        if ms is None:
            self.note(item, DROPPED, "a matcher obsctl cannot read", line_of(r))
            return None
        if any(op in ("!=", "!~") for _, op, _ in ms):
            self.note(item, DROPPED, "a negative matcher (!=, !~): the spec's match: has none", line_of(r))
            return None
        out: dict = {
            "match": {k: _match_value(op, v) for k, op, v in ms},
            "receivers": [str(r.get("receiver"))] if r.get("receiver") else [],
        }
        if r.get("continue"):
            out["continue"] = True
        if r.get("group_by") is not None:
            out["group_by"] = [str(x) for x in r["group_by"]]
        for key in ("active_time_intervals", "mute_time_intervals"):
            if r.get(key):
                out[key] = [str(x) for x in r[key]]
        lost = sorted({"group_wait", "group_interval", "repeat_interval"} & set(r))
        if lost:
            self.note(item, CHANGED, f"{', '.join(lost)}: extra routes take the root's timing", line_of(r))
        if r.get("routes"):
            self.note(
                item,
                DROPPED,
                f"its {len(r['routes'])} nested route(s): the spec's routes are one level",
                line_of(r),
            )
        if not out["match"]:
            self.note(item, DROPPED, "a route without matchers under the root", line_of(r))
            return None
        if not out["receivers"]:
            self.note(
                item,
                CHANGED,
                "a route without its own receiver inherits one in Alertmanager; obsctl sends it nowhere",
                line_of(r),
            )
        return out


def _severity_routes(children: list[dict]) -> int:
    """How many routes at the end of `children` are obsctl's severity routes: one `severity="x"` matcher and a
    receiver each, `continue: true` on all but the last of a severity."""
    n = len(children)
    start = n
    while start > 0:
        r = children[start - 1]
        ms = _matchers(r)
        if not (
            ms
            and len(ms) == 1
            and ms[0][0] == "severity"
            and ms[0][1] == "="
            and r.get("receiver")
            and not r.get("routes")
            and "group_by" not in r
        ):
            break
        start -= 1
    # a severity's last route has no continue; the others have it
    i = start
    while i < n:
        sev = _matchers(children[i])[0][2]
        j = i
        while j + 1 < n and _matchers(children[j + 1])[0][2] == sev:
            j += 1
        if any(not children[k].get("continue") for k in range(i, j)) or children[j].get("continue"):
            return 0
        i = j + 1
    return n - start


def import_files(paths: list[Path], service: str | None) -> tuple[SpecDoc, ImportReport]:
    if len(paths) != 1:
        raise ImportFailure(
            "OBS821",
            "give one alertmanager.yml: Alertmanager reads one configuration",
            str(paths[1] if len(paths) > 1 else "."),
        )
    path = paths[0]
    docs = load_documents(path)
    cfg = docs[0] if len(docs) == 1 else None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("route"), dict):
        raise ImportFailure(
            "OBS821",
            "not an Alertmanager configuration: no route:",
            str(path),
            line_of(cfg) or 1,
            hint="`obsctl import alertmanager` reads alertmanager.yml",
        )
    file = str(path)
    report = ImportReport("alertmanager")
    rd = _Reader(file, report)
    root = cfg["route"]
    routing: dict = {}
    receivers_src = [r for r in cfg.get("receivers") or [] if isinstance(r, dict)]
    receivers = {}
    for r in receivers_src:
        name = str(r.get("name"))
        if name == BLACKHOLE and len(r) == 1:
            continue
        receivers[name] = rd.receiver(r)
    if root.get("receiver") and root.get("receiver") != BLACKHOLE:
        routing["default_receiver"] = str(root["receiver"])
    for key, default in DEFAULTS.items():
        if key in root and root[key] != default:
            routing[key] = [str(x) for x in root[key]] if key == "group_by" else str(root[key])
    if _matchers(root):
        rd.note(
            "the root route", DROPPED, "matchers on the root route (Alertmanager ignores them)", line_of(root)
        )
    children = [c for c in root.get("routes") or [] if isinstance(c, dict)]
    svc = service
    top = children[0] if len(children) == 1 else None
    ms = _matchers(top) if top is not None else None
    if (
        top is not None
        and ms
        and len(ms) == 1
        and ms[0][:2] == ("service", "=")
        and not top.get("receiver")
        and set(top) <= {"matchers", "routes", "match"}
    ):
        svc = svc or ms[0][2]
        if ms[0][2] != svc:
            rd.note(
                "the service route",
                CHANGED,
                f'routes alerts with service="{ms[0][2]}"; the spec\'s are service="{svc}"',
                line_of(top),
            )
        children = [c for c in top.get("routes") or [] if isinstance(c, dict)]
    elif children:
        rd.note(
            "the route tree",
            CHANGED,
            'obsctl puts every route under service="<service>": alerts without '
            "that label go to the default receiver",
            line_of(root),
        )
    svc = svc or re.sub(r"[^a-z0-9-]+", "-", path.stem.lower()).strip("-") or "alertmanager"
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", svc):
        svc = "alertmanager"
    n_sev = _severity_routes(children)
    extra = children[: len(children) - n_sev]
    routes: list[dict] = []
    for i, r in enumerate(extra):
        conv = rd.route(r, f"route {i + 1}")
        if conv is None:
            continue
        prev = routes[-1] if routes else None
        # obsctl writes one route per receiver of an extra route, `continue` on all but the last
        if (
            prev is not None
            and prev.get("_open")
            and prev["match"] == conv["match"]
            and {k: v for k, v in prev.items() if k not in ("receivers", "continue", "_open", "match")}
            == {k: v for k, v in conv.items() if k not in ("receivers", "continue", "match")}
        ):
            prev["receivers"] += conv["receivers"]
            prev.pop("continue", None)
            if conv.get("continue"):
                prev["continue"] = True
            prev["_open"] = bool(conv.get("continue"))
            continue
        conv["_open"] = bool(conv.get("continue"))
        routes.append(conv)
    for r in routes:
        r.pop("_open", None)
    severities: dict[str, dict] = {}
    for r in children[len(children) - n_sev :]:
        sev = _matchers(r)[0][2]
        entry = severities.setdefault(sev, {"receivers": []})
        entry["receivers"].append(str(r["receiver"]))
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if r.get(key):
                entry[key] = str(r[key])
        for key in ("active_time_intervals", "mute_time_intervals"):
            if r.get(key):
                entry[key] = [str(x) for x in r[key]]
    for sev, words in rd.severities.items():
        if sev in severities:
            for target, word in words.items():
                if (
                    target == "pagerduty"
                    and word != sev.lower()
                    or target == "opsgenie"
                    and word != sev.upper()
                ):
                    severities[sev][target] = word
    for entry in severities.values():
        if entry["receivers"] == [BLACKHOLE]:
            entry["receivers"] = []
    routing["severities"] = {
        k: (v["receivers"] if set(v) == {"receivers"} else v) for k, v in severities.items()
    }
    if receivers:
        routing["receivers"] = receivers
    if routes:
        routing["routes"] = routes
    inhibit = []
    for i, rule in enumerate(cfg.get("inhibit_rules") or []):
        conv: dict = {}
        ok = True
        for side in ("source", "target"):
            ms = _matchers(
                {
                    "matchers": rule.get(f"{side}_matchers"),
                    "match": rule.get(f"{side}_match"),
                    "match_re": rule.get(f"{side}_match_re"),
                }
            )
            if ms is None or any(op in ("!=", "!~") for _, op, _ in ms):
                rd.note(
                    f"inhibit rule {i + 1}",
                    DROPPED,
                    f"a {side} matcher the spec cannot say (negative or unreadable)",
                    line_of(rule),
                )
                ok = False
                break
            conv[side] = {k: _match_value(op, v) for k, op, v in ms}
        if not ok:
            continue
        if rule.get("equal"):
            conv["equal"] = [str(x) for x in rule["equal"]]
        inhibit.append(conv)
    if inhibit:
        routing["inhibit"] = inhibit
    intervals = {}
    for ti in (cfg.get("time_intervals") or []) + (cfg.get("mute_time_intervals") or []):
        items = []
        for t in ti.get("time_intervals") or []:
            item: dict = {}
            if t.get("times"):
                item["times"] = [
                    {"start": str(x.get("start_time")), "end": str(x.get("end_time"))} for x in t["times"]
                ]
            for key in ("weekdays", "days_of_month", "months"):
                if t.get(key):
                    item[key] = [str(x) for x in t[key]]
            if t.get("years"):
                rd.note(
                    f"time interval {ti.get('name')}",
                    DROPPED,
                    "years: the spec's time intervals have none",
                    line_of(ti),
                )
            if t.get("location"):
                item["location"] = str(t["location"])
            items.append(item)
        intervals[str(ti.get("name"))] = items
    if cfg.get("mute_time_intervals"):
        rd.note("mute_time_intervals", CHANGED, "written as time_intervals (the same definitions)", None)
    if intervals:
        routing["time_intervals"] = intervals
    glob = cfg.get("global") or {}
    if glob.get("smtp_smarthost"):
        smtp: dict = {"smarthost": str(glob["smtp_smarthost"]), "from": str(glob.get("smtp_from", ""))}
        if glob.get("smtp_auth_username"):
            smtp["auth_username"] = str(glob["smtp_auth_username"])
        if glob.get("smtp_auth_password_file"):
            smtp["auth_password_file"] = str(glob["smtp_auth_password_file"])
        routing["smtp"] = smtp
    for key in sorted(
        set(glob)
        - {"resolve_timeout", "smtp_smarthost", "smtp_from", "smtp_auth_username", "smtp_auth_password_file"}
    ):
        secret = any(
            s in key for s in ("password", "secret", "key", "token", "api_url")
        ) and not key.endswith("_file")
        rd.note(
            f"global.{key}",
            DROPPED,
            "an inline secret: never copied into the spec"
            if secret
            else "a global setting the spec has no field for",
            line_of(glob),
        )
    spec: dict = {"version": 1, "service": svc, "routing": routing}
    am: dict = {}
    if glob.get("resolve_timeout") and str(glob["resolve_timeout"]) != "5m":
        am["resolve_timeout"] = str(glob["resolve_timeout"])
    if cfg.get("templates"):
        am["templates"] = [str(t) for t in cfg["templates"]]
    if am:
        spec["targets"] = {"alertmanager": am}
    for key in sorted(
        set(cfg)
        - {
            "global",
            "route",
            "receivers",
            "inhibit_rules",
            "time_intervals",
            "mute_time_intervals",
            "templates",
        }
    ):
        rd.note(key, DROPPED, "a top-level setting the spec has no field for", line_of(cfg))
    c = report.count(file)
    c.items = len(receivers_src) + len(extra) + n_sev + len(cfg.get("inhibit_rules") or []) + len(intervals)
    c.translated = c.items - len({(f.item) for f in report.findings if f.what == DROPPED})
    doc = SpecDoc(
        spec, header=f"Imported by `obsctl import alertmanager` from {path.name}.", source=file, items=c.items
    )
    check_routes(path, root, svc, doc, report)
    return doc, report


def check_routes(path: Path, root: dict, service: str, doc: SpecDoc, report: ImportReport) -> None:
    """Send route cases made from the source tree through amtool for the source config and the built one; report
    every case that reaches other receivers (obsctl.importers.routecases)."""
    import tempfile

    from ..build import render
    from ..verify.tools import ToolMissing, find_tool
    from .routecases import compare, route_cases

    try:
        find_tool("amtool")
    except ToolMissing:
        report.notes.append("amtool is not installed: the routing was not checked on route cases")
        return
    cases = route_cases(root, service, _matchers)
    with tempfile.TemporaryDirectory(prefix="obsctl-import-") as tmp:
        spec_path = Path(tmp) / "obsctl.yaml"
        spec_path.write_text(doc.text(), encoding="utf-8")
        artifacts, diags, _ = render(spec_path, ["alertmanager"], None)
        errors = [d for d in diags if d.level == "error"]
        if errors:
            report.notes.append(
                f"the routing was not checked on route cases: the imported spec does not build "
                f"({errors[0].code} {errors[0].message} [{errors[0].field}])"
            )
            return
        built = Path(tmp) / "alertmanager.yml"
        built.write_text(
            next(a.text for a in artifacts if a.path == "alertmanager/alertmanager.yml"), encoding="utf-8"
        )
        differ, error = compare(path, built, cases)
    if error:
        report.notes.append(f"the routing was not checked on route cases: {error}")
        return
    for labels, want, got in differ:
        shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        report.add(
            str(path),
            f"alerts with {{{shown}}}",
            CHANGED,
            f"go to {', '.join(want) or 'no receiver'} "
            f"with the source config, to {', '.join(got) or 'no receiver'} with the built one "
            "(amtool config routes test)",
            None,
        )
    if differ:
        report.notes.append(
            f"{len(cases)} route cases from the source tree checked with amtool: {len(differ)} "
            "reach other receivers after import"
        )
