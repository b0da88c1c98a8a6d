"""Alertmanager backend: `alertmanager/alertmanager.yml` from the spec's routing section (Alertmanager 0.25 floor).

The route tree: the root holds grouping and timing and the default receiver (a receiver with no integrations
when the spec names none); under it one route per service (`service="<svc>"`), so several services' trees can
share one Alertmanager; under that the spec's extra routes, then one route per severity and receiver. A severity
with several receivers gets one route per receiver, `continue: true` on all but the last, so the alert reaches
each of them. The route cases `obsctl test` proves come from the plan (obsctl.plan.routing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import MatchValue, RegexMatch
from ..plan import Plan
from ..plan.routing import BLACKHOLE, service_label
from ..verify import Finding, Problem, Skipped, parse_back
from . import Artifact, BackendError, Renderer

if TYPE_CHECKING:
    from ..model import Routing, Spec

PATH = "alertmanager/alertmanager.yml"
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
OPSGENIE_PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
RESPONDER_TYPES = ("team", "teams", "user", "escalation", "schedule")
_REGEX_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


# --- matchers --------------------------------------------------------------------------------------------


def _quote(value: str) -> str:
    # Alertmanager's matcher values are double-quoted with OpenMetrics escaping (valid from 0.22 to today).
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def matcher(name: str, value: MatchValue) -> str:
    """`name="value"`, or `name=~"a|b"` for a list (values taken literally), or `name=~"<regex>"` for
    {regex: ...} (Alertmanager anchors it): always quoted and escaped."""
    if isinstance(value, RegexMatch):
        return f"{name}=~{_quote(value.regex)}"
    values = [value] if isinstance(value, str) else list(value)
    if len(values) == 1:
        return f"{name}={_quote(values[0])}"
    pattern = "|".join(_REGEX_SPECIAL.sub(r"\\\1", v) for v in values)
    return f"{name}=~{_quote(pattern)}"


# --- time interval names ---------------------------------------------------------------------------------

# Characters a YAML reader may fold, refuse or read as a line break (C0/C1 controls, DEL, U+2028/9, BOM).
_YAML_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def interval_name(name: str) -> str:
    """A time interval's name as a YAML scalar, written the same way where it is defined and wherever a route
    names it, so Alertmanager reads one name in both places ("undefined time interval" otherwise).

    A name with characters a YAML reader may fold (U+0085 after a newline, say) is double-quoted with every such
    character escaped; any other name is the plain or quoted scalar of obsctl's `yaml` filter."""
    if not _YAML_UNSAFE.search(name):
        from ..templating import to_yaml_scalar

        return to_yaml_scalar([name])[1:-1]  # the flow form: it stays one item inside [a, b]
    out = []
    for ch in name:
        if ch in '\\"':
            out.append("\\" + ch)
        elif _YAML_UNSAFE.match(ch):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# --- severity vocabularies -------------------------------------------------------------------------------


def _go_string(value: str) -> str:
    # A Go string literal: escape backslashes, quotes and control characters; UTF-8 passes through.
    out = []
    for ch in value:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _severity_switch(mapping: dict[str, str], default: str) -> str:
    """A Go template choosing a target's severity word from the alert's `severity` label.

    obsctl writes this template itself; the spec's severity names enter it only as escaped string literals.
    """
    if not mapping:
        return default
    parts = []
    for i, (sev, word) in enumerate(mapping.items()):
        parts.append(
            f"{{{{ {'if' if i == 0 else 'else if'} eq .CommonLabels.severity {_go_string(sev)} }}}}{word}"
        )
    return "".join(parts) + f"{{{{ else }}}}{default}{{{{ end }}}}"


def pagerduty_severities(routing: Routing) -> dict[str, str]:
    """Spec severity -> PagerDuty severity: the explicit mapping, or the name itself when PagerDuty knows it."""
    out = {}
    for name, sev in routing.severities.items():
        word = sev.pagerduty or (name.lower() if name.lower() in PAGERDUTY_SEVERITIES else None)
        if word:
            out[name] = word
    return out


def opsgenie_priorities(routing: Routing) -> dict[str, str]:
    """Spec severity -> Opsgenie priority: the explicit mapping, or the name itself when it is P1..P5."""
    out = {}
    for name, sev in routing.severities.items():
        word = sev.opsgenie or (name.upper() if name.upper() in OPSGENIE_PRIORITIES else None)
        if word:
            out[name] = word
    return out


# --- the route tree ----------------------------------------------------------------------------------------


def _leaf_routes(matchers: list[str], receivers: list[str], last_continue: bool, extra: dict) -> list[dict]:
    """One route per receiver (continue on all but the last); an empty list routes to the blackhole."""
    names = receivers or [BLACKHOLE]
    return [
        dict(receiver=r, matchers=matchers, **extra, continue_=(i < len(names) - 1) or last_continue)
        for i, r in enumerate(names)
    ]


def _check_match(plan: Plan, match: Mapping[str, MatchValue], path: tuple) -> None:
    for k, v in match.items():
        if isinstance(v, list) and not v:
            raise BackendError(
                [
                    plan.error(
                        "OBS323",
                        f"'{k}' lists no values",
                        path + (k,),
                        "give at least one value, or remove the key",
                    )
                ]
            )


def _route_tree(plan: Plan) -> dict:
    spec = plan.spec
    r = spec.routing
    children: list[dict] = []
    for i, route in enumerate(r.routes):
        _check_match(plan, route.match, ("routing", "routes", i, "match"))
        children += _leaf_routes(
            [matcher(k, v) for k, v in route.match.items()],
            route.receivers,
            route.continue_,
            dict(
                group_by=route.group_by,
                active_time_intervals=route.active_time_intervals,
                mute_time_intervals=route.mute_time_intervals,
            ),
        )
    for name, sev in r.severities.items():
        children += _leaf_routes(
            [matcher("severity", name)],
            sev.receivers,
            False,
            dict(
                group_wait=sev.group_wait,
                group_interval=sev.group_interval,
                repeat_interval=sev.repeat_interval,
                active_time_intervals=sev.active_time_intervals,
                mute_time_intervals=sev.mute_time_intervals,
            ),
        )
    service = dict(matchers=[matcher("service", service_label(spec))], routes=children)
    return dict(
        receiver=r.default_receiver or BLACKHOLE,
        group_by=r.group_by,
        group_wait=r.group_wait,
        group_interval=r.group_interval,
        repeat_interval=r.repeat_interval,
        routes=[service],
    )


def _uses_blackhole(route: dict) -> bool:
    return route.get("receiver") == BLACKHOLE or any(_uses_blackhole(c) for c in route.get("routes", []))


# --- receivers, inhibit rules, time intervals ------------------------------------------------------------------


def _responders(plan: Plan, name: str, responders: list[dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for i, resp in enumerate(responders):
        path = ("routing", "receivers", name, "opsgenie", "responders", i)
        keys = [k for k in ("id", "name", "username") if k in resp]
        unknown = sorted(set(resp) - {"type", "id", "name", "username"})
        if unknown or resp.get("type") not in RESPONDER_TYPES or len(keys) != 1:
            raise BackendError(
                [
                    plan.error(
                        "OBS320",
                        "an Opsgenie responder has a type and exactly one of id, name or username",
                        path,
                        f"types: {', '.join(RESPONDER_TYPES)}; e.g. {{type: team, name: platform}}",
                    )
                ]
            )
        out.append({"type": resp["type"], keys[0]: resp[keys[0]]})
    return out


def _receivers(plan: Plan, blackhole: bool) -> list[dict]:
    r = plan.spec.routing
    pd_severity = _severity_switch(pagerduty_severities(r), "error")
    og_priority = _severity_switch(opsgenie_priorities(r), "P3")
    out = []
    for name, rec in r.receivers.items():
        item: dict = {"name": name}
        if rec.pagerduty:
            item["pagerduty"] = dict(
                routing_key_file=rec.pagerduty.routing_key_file, url=rec.pagerduty.url, severity=pd_severity
            )
        if rec.slack:
            item["slack"] = dict(
                api_url_file=rec.slack.api_url_file,
                channel=rec.slack.channel,
                send_resolved=rec.slack.send_resolved,
            )
        if rec.opsgenie:
            item["opsgenie"] = dict(
                api_key_file=rec.opsgenie.api_key_file,
                priority=og_priority,
                responders=_responders(plan, name, rec.opsgenie.responders),
                tags=",".join(rec.opsgenie.tags) or None,
            )
        if rec.webhook:
            item["webhook"] = dict(
                url=rec.webhook.url,
                credentials_file=rec.webhook.credentials_file,
                max_alerts=rec.webhook.max_alerts or None,
            )
        if rec.email:
            item["email"] = dict(to=rec.email.to, send_resolved=rec.email.send_resolved)
        out.append(item)
    if blackhole:
        if BLACKHOLE in r.receivers:
            raise BackendError(
                [
                    plan.error(
                        "OBS321",
                        f"'{BLACKHOLE}' is the name obsctl gives its receiver with no integrations",
                        ("routing", "receivers", BLACKHOLE),
                        "rename the receiver",
                    )
                ]
            )
        out.append({"name": BLACKHOLE})
    return out


def _check_names(plan: Plan, values: list[str], allowed: tuple[str, ...], path: tuple, what: str) -> None:
    for i, v in enumerate(values):
        for part in v.split(":"):
            if not (part.lower() in allowed or (what == "month" and part.isdigit() and 1 <= int(part) <= 12)):
                raise BackendError(
                    [
                        plan.error(
                            "OBS322",
                            f"'{part}' is not a {what}",
                            path + (i,),
                            f"write full names or ranges, e.g. {allowed[1]}:{allowed[5]}",
                        )
                    ]
                )


def _time_intervals(plan: Plan) -> list[dict]:
    out = []
    for name, intervals in plan.spec.routing.time_intervals.items():
        items = []
        for i, ti in enumerate(intervals):
            path = ("routing", "time_intervals", name, i)
            _check_names(plan, ti.weekdays, WEEKDAYS, path + ("weekdays",), "weekday")
            _check_names(plan, ti.months, MONTHS, path + ("months",), "month")
            fields = dict(
                times=[dict(start_time=t.start, end_time=t.end) for t in ti.times],
                weekdays=ti.weekdays,
                days_of_month=ti.days_of_month,
                months=ti.months,
                location=ti.location,
            )
            items.append([(k, v) for k, v in fields.items() if v])
        out.append({"name": name, "time_intervals": items})
    return out


def _global(spec: Spec) -> dict:
    smtp = spec.routing.smtp
    values = {"resolve_timeout": spec.targets.alertmanager.resolve_timeout}
    if smtp:
        values.update(
            smtp_smarthost=smtp.smarthost,
            smtp_from=smtp.from_,
            smtp_auth_username=smtp.auth_username,
            smtp_auth_password_file=smtp.auth_password_file,
        )
    return {k: v for k, v in values.items() if v is not None}


def _every_alert_has_runbook(spec: Spec) -> bool:
    # PagerDuty gets a runbook link only when every alert carries a runbook_url (an empty href is not a link).
    return bool(spec.runbook) or (
        all(a.runbook for a in spec.alerts.values()) and all(s.runbook for s in spec.slos.values())
    )


# --- the backend interface ---------------------------------------------------------------------------------


def build(plan: Plan, renderer: Renderer) -> list[Artifact]:
    spec = plan.spec
    if spec.routing is None:
        return []
    route = _route_tree(plan)
    for i, inh in enumerate(spec.routing.inhibit):
        _check_match(plan, inh.source, ("routing", "inhibit", i, "source"))
        _check_match(plan, inh.target, ("routing", "inhibit", i, "target"))
    inhibit = [
        dict(
            source_matchers=[matcher(k, v) for k, v in inh.source.items()],
            target_matchers=[matcher(k, v) for k, v in inh.target.items()],
            equal=inh.equal,
        )
        for inh in spec.routing.inhibit
    ]
    text = renderer.render(
        "alertmanager/alertmanager.yml.j2",
        global_=_global(spec),
        templates=spec.targets.alertmanager.templates,
        route=route,
        receivers=_receivers(plan, _uses_blackhole(route)),
        inhibit_rules=inhibit,
        time_intervals=_time_intervals(plan),
        runbook_links=_every_alert_has_runbook(spec),
        interval_name=interval_name,
    )
    return [Artifact(PATH, text)]


VERIFY_READS_FILES = True  # verify() runs a tool on the staged files


def verify(artifacts: list[Artifact], staging: Path) -> list[Finding]:
    """Parse each file back as YAML; run `amtool check-config` on it when amtool is installed."""

    from ..verify.tools import INSTALL_HINTS, have_tool

    problems: list[Finding] = []
    for a in artifacts:
        data, bad = parse_back(a.path, a.text)
        if bad:
            problems.append(bad)
            continue
        if not isinstance(data, dict) or "route" not in data:
            problems.append(Problem(a.path, "no route in the rendered configuration"))
            continue
        if have_tool("amtool"):
            from ..verify.amtool import check_config

            problems += check_config(staging / a.path)
        else:
            problems.append(Skipped("amtool", INSTALL_HINTS["amtool"]))
    return problems
