"""Dashboards: panels, queries, units, thresholds and variables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..expr import ast
from .expressions import RefInfo, uses_events

if TYPE_CHECKING:
    from ..model import Panel
    from .core import Checker


def check_dashboards(c: Checker) -> None:
    from ..naming import dashboard_uid

    owners: dict[str, str] = {}
    if c.spec.slos:
        owners[dashboard_uid(c.spec.service, "slos")] = "the SLO dashboard"
    for dname, d in c.spec.dashboards.items():
        uid = dashboard_uid(c.spec.service, dname, d.uid)
        if uid in owners:
            c.report(
                "OBS512",
                "error",
                f"dashboard '{dname}': uid '{uid}' is also the uid of {owners[uid]}",
                ("dashboards", dname),
                "rename the dashboard or give it its own uid:",
                key=True,
            )
        owners.setdefault(uid, f"dashboard '{dname}'")
    for dname, d in c.spec.dashboards.items():
        base = ("dashboards", dname, "panels")
        for i, item in enumerate(d.panels):
            if hasattr(item, "row"):
                for j, p in enumerate(item.panels):
                    _panel(c, p, base + (i, "panels", j))
            else:
                _panel(c, item, base + (i,))


def _panel(c: Checker, p: Panel, path: tuple) -> None:
    exprs = (
        [(p.expr, path + ("expr",))]
        if p.expr
        else [(q.expr, path + ("queries", k, "expr")) for k, q in enumerate(p.queries)]
    )
    if p.type == "text":
        if not p.text:
            c.report("OBS501", "error", "a text panel needs text:", path, key=True)
        return
    if (
        not any(e for e, _ in exprs)
        and not (p.overrides.promql or p.overrides.logql)
        and not any(q.overrides.promql or q.overrides.logql for q in p.queries)
    ):
        c.report("OBS502", "error", f"panel '{p.title}' has no query", path, "add expr: or queries:")
    for text, epath in exprs:
        node = c.expr(text, epath)
        if node is None:
            continue
        events = uses_events(node, c.out.refs)
        if p.type == "logs" and not (
            isinstance(node, ast.Ref) and c.out.refs.get(node.name, RefInfo("", "")).kind == "event"
        ):
            c.report(
                "OBS503", "error", "a logs panel shows a log event: name one", epath, "e.g. expr: refresh_ok"
            )
        elif p.type == "logs" and (node.window or node.offset):
            c.report(
                "OBS503",
                "error",
                "a logs panel shows a log event's lines as they come, with no window or offset",
                epath,
                f"e.g. expr: {node.name}",
                node.pos,
            )
        elif p.type != "logs" and isinstance(node, ast.Ref) and events:
            c.report(
                "OBS504",
                "error",
                f"'{node.name}' is a log event: count it for a {p.type} panel",
                epath,
                f"e.g. count({node.name}) or use type: logs",
                node.pos,
            )
