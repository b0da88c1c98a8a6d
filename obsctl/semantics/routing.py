"""Routing: receivers, severities, routes, inhibit rules and time intervals; routing regexes read as
Alertmanager (RE2) reads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import did_you_mean
from ..model import RegexMatch
from ..routing_regex import fullmatch as re2_fullmatch
from ..routing_regex import re2_error

if TYPE_CHECKING:
    from .core import Checker


def check_routing(c: Checker) -> None:
    r = c.spec.routing
    if r is None:
        return
    receivers = set(r.receivers)
    used: set[str] = set()
    intervals = set(r.time_intervals)

    def check_receivers(names: list[str], path: tuple) -> None:
        for i, rec in enumerate(names):
            used.add(rec)
            if rec not in receivers:
                c.report(
                    "OBS310",
                    "error",
                    f"unknown receiver '{rec}'",
                    path + (i,),
                    did_you_mean(rec, receivers) or "declare it under routing.receivers:",
                )

    def check_intervals(names: list[str], path: tuple) -> None:
        for i, ti in enumerate(names):
            if ti not in intervals:
                c.report(
                    "OBS312",
                    "error",
                    f"unknown time interval '{ti}'",
                    path + (i,),
                    did_you_mean(ti, intervals) or "declare it under routing.time_intervals:",
                )

    for sev, spec in r.severities.items():
        check_receivers(spec.receivers, ("routing", "severities", sev, "receivers"))
        check_intervals(spec.active_time_intervals, ("routing", "severities", sev, "active_time_intervals"))
        check_intervals(spec.mute_time_intervals, ("routing", "severities", sev, "mute_time_intervals"))
    for i, route in enumerate(r.routes):
        check_receivers(route.receivers, ("routing", "routes", i, "receivers"))
        check_intervals(route.active_time_intervals, ("routing", "routes", i, "active_time_intervals"))
        check_intervals(route.mute_time_intervals, ("routing", "routes", i, "mute_time_intervals"))
    if r.default_receiver:
        check_receivers([r.default_receiver], ("routing", "default_receiver"))
    for name, rec in r.receivers.items():
        if "," in name:
            c.report(
                "OBS325",
                "error",
                f"receiver name '{name}' holds a comma",
                ("routing", "receivers", name),
                "amtool lists the receivers an alert reaches joined by "
                "commas, so route tests could not tell it from two receivers: rename it (e.g. with '-')",
                key=True,
            )
        if name not in used:
            c.report(
                "OBS311",
                "warning",
                f"receiver '{name}' receives nothing: no severity or route names it",
                ("routing", "receivers", name),
                "",
                key=True,
            )
        if rec.slack and not rec.slack.api_url_file:
            c.report(
                "OBS313",
                "error",
                "slack needs api_url_file (the webhook URL is a secret)",
                ("routing", "receivers", name, "slack"),
                "api_url_file: /etc/alertmanager/secrets/slack-url",
            )
        if rec.opsgenie and not rec.opsgenie.api_key_file:
            c.report(
                "OBS313",
                "error",
                "opsgenie needs api_key_file",
                ("routing", "receivers", name, "opsgenie"),
                "api_key_file: /etc/alertmanager/secrets/opsgenie-key",
            )
        if rec.email and not r.smtp:
            c.report(
                "OBS314",
                "error",
                "email receivers need routing.smtp (smarthost and from)",
                ("routing", "receivers", name, "email"),
            )
    sevs = set(r.severities)
    for i, inh in enumerate(r.inhibit):
        for side in ("source", "target"):
            val = getattr(inh, side).get("severity")
            if isinstance(val, RegexMatch):
                if not re2_error(val.regex) and not any(re2_fullmatch(val.regex, s) for s in sevs):
                    c.report(
                        "OBS315",
                        "warning",
                        f"inhibit {side} severity regex '{val.regex}' matches no declared severity",
                        ("routing", "inhibit", i, side, "severity", "regex"),
                    )
                continue
            for v in [val] if isinstance(val, str) else val or []:
                if v not in sevs:
                    c.report(
                        "OBS315",
                        "warning",
                        f"inhibit {side} severity '{v}' is not a declared severity",
                        ("routing", "inhibit", i, side, "severity"),
                        did_you_mean(v, sevs),
                    )
    matches = [(("routing", "routes", i, "match"), route.match) for i, route in enumerate(r.routes)]
    matches += [
        (("routing", "inhibit", i, side), getattr(inh, side))
        for i, inh in enumerate(r.inhibit)
        for side in ("source", "target")
    ]
    for path, match in matches:
        for label, val in match.items():
            if isinstance(val, RegexMatch):
                _routing_regex(c, val, path + (label,))


def _routing_regex(c: Checker, val: object, path: tuple) -> None:
    err = re2_error(val.regex)
    if err:
        c.report(
            "OBS205",
            "error",
            f"invalid regex for Alertmanager: {err}",
            path + ("regex",),
            "Alertmanager uses Go's RE2 syntax; it anchors the regex (it matches the whole value)",
        )
    elif val.example is not None and not re2_fullmatch(val.regex, val.example):
        c.report(
            "OBS324",
            "error",
            f"the example '{val.example}' does not match the regex '{val.regex}' "
            "(anchored: it must match the whole value)",
            path + ("example",),
        )
