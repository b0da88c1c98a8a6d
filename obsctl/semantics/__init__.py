"""Semantic checks with stable IDs, and the parsed, resolved expressions every backend compiles from.

IDs are stable: users silence or grep them. OBS1xx: the model (see loader); OBS2xx: expressions;
OBS3xx: alerts and routing; OBS4xx: SLOs; OBS5xx: dashboards; OBS6xx: tests.

One module per spec section (derived, sources, alerts, routing, slos, dashboards, tests), each reporting through
the Checker in `core.py`; expression checks in `expressions.py`, the Go-template check in `gotemplate.py`, the RE2
check of routing regexes in `obsctl.routing_regex`. Adding a check: see docs/architecture.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import alerts, dashboards, derived, engines, labels, routing, slos, sources, tests
from .core import Analysis, Checker, RefInfo
from .expressions import AGGREGATIONS, COUNTER_FUNCS, FUNCTIONS, GAUGE_FUNCS, RANGE_ARG, RANGE_FUNCS
from .gotemplate import template_error

if TYPE_CHECKING:
    from ..model import Spec
    from ..yamlsource import SourceMap

__all__ = [
    "AGGREGATIONS",
    "COUNTER_FUNCS",
    "FUNCTIONS",
    "GAUGE_FUNCS",
    "RANGE_ARG",
    "RANGE_FUNCS",
    "Analysis",
    "RefInfo",
    "analyse",
    "template_error",
]

# In this order: expressions of derived metrics first, since alerts, SLOs and panels name them.
SECTIONS = (
    derived.check_derived,
    sources.check_sources,
    alerts.check_alerts,
    routing.check_routing,
    slos.check_slos,
    dashboards.check_dashboards,
    tests.check_tests,
    engines.check_engine,
)


def analyse(spec: Spec, smap: SourceMap) -> Analysis:
    """Run every semantic check over a validated spec."""
    c = Checker(spec, smap)
    c.build_refs()
    for section in SECTIONS:
        section(c)
    labels.check_all(c)  # expressions no section asked about (derived metrics, panels): matching checks too
    return c.out
