"""SLO arithmetic shared by every backend: burn-rate tiers (as data), budgets and thresholds.

The default tiers are the Google SRE workbook's (ch. 5, table 5-8) for a 30-day period: 2% of the budget in 1h
(factor 14.4) and 5% in 6h (factor 6) page; 10% in 3d (factor 1) and a 1d/2h factor-3 tier ticket. 28-day and
7-day periods take the shares Sloth's window catalogs give them (BUDGET_SHARES); other periods keep the 30-day
shares, and validate warns (OBS412) where a tier then burns below 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .durations import parse_duration

if TYPE_CHECKING:
    from .model import SLO

WORKBOOK_PERIOD = 30 * 86400


@dataclass(frozen=True)
class Tier:
    name: str
    long: str
    short: str
    factor: float
    action: str  # page | ticket
    for_: str = "0s"
    enabled: bool = True


# `for` is not in the workbook (its short windows already end an alert soon after the errors stop); these are
# Pyrra's. Each is at most half the tier's short window, so errors that keep coming back within the short window
# keep the condition true and still fire, while a single evaluation's blip does not.
WORKBOOK_TIERS: tuple[Tier, ...] = (
    Tier("page-fast", "1h", "5m", 14.4, "page", "2m"),
    Tier("page-slow", "6h", "30m", 6.0, "page", "15m"),
    Tier("ticket-fast", "1d", "2h", 3.0, "ticket", "1h"),
    Tier("ticket-slow", "3d", "6h", 1.0, "ticket", "3h"),
)


# The share of the period's error budget each default tier spends in its long window, per period, as the SRE workbook
# and Sloth's window catalogs set them (Sloth: internal/alert/windows/google-28d.yaml, examples/windows/7d.yaml).
# A 7-day budget is small, so its tiers spend larger shares: spending 10% of it in 3 days would be a burn of 0.23,
# below 1, a ticket while the service is inside its budget.
BUDGET_SHARES: dict[int, tuple[float, ...]] = {
    30 * 86400: (0.02, 0.05, 0.10, 0.10),
    28 * 86400: (0.02, 0.05, 0.10, 0.10),
    7 * 86400: (0.08, 0.125, 0.20, 0.42),
}


def effective_tiers(slo: SLO) -> list[Tier]:
    """The SLO's tiers: its own list, or the workbook's windows with each tier's factor from the share of the budget
    it spends for this period (BUDGET_SHARES; other periods keep the 30-day shares)."""
    if slo.alerting.tiers:
        return [
            Tier(t.name, t.long, t.short, t.factor, t.action, t.for_, t.enabled) for t in slo.alerting.tiers
        ]
    period = parse_duration(slo.period)
    shares = BUDGET_SHARES.get(int(period), BUDGET_SHARES[WORKBOOK_PERIOD])
    return [
        Tier(t.name, t.long, t.short, round(share * period / parse_duration(t.long), 4), t.action, t.for_)
        for t, share in zip(WORKBOOK_TIERS, shares, strict=True)
    ]


def error_budget(slo: SLO) -> float:
    """The allowed error ratio: 1 - objective (99.9 -> 0.001)."""
    return round(1 - slo.objective / 100, 10)


def burn_threshold(slo: SLO, tier: Tier) -> float:
    """The error ratio at which a tier fires: factor x budget."""
    return round(tier.factor * error_budget(slo), 10)


def budget_spent(slo: SLO, tier: Tier) -> float:
    """The share of the period's budget a tier's long window spends when it fires."""
    return tier.factor * parse_duration(tier.long) / parse_duration(slo.period)


def can_fire(slo: SLO, tier: Tier) -> bool:
    """Whether any error ratio can reach the tier: it compares `ratio > factor x budget` and a ratio is at most 1."""
    return tier.enabled and burn_threshold(slo, tier) < 1


def scenario_ratios(slo: SLO) -> dict[str, float | None]:
    """Constant error ratios that exercise the tiers: `page` pages, `ticket` only tickets, `quiet` fires nothing.

    For the workbook's tiers these are 20x, 5x and 0.5x the budget (2%, 0.5% and 0.05% for 99.9%): 20x is above
    the fast page (14.4x), 5x lies between the fast ticket (3x) and the slow page (6x), 0.5x is under the slowest
    tier (1x). Other tiers get ratios with the same roles; None when no ratio can play the role (no ticket tier,
    or a ticket tier as fast as a page tier)."""
    budget = error_budget(slo)
    live = [t for t in effective_tiers(slo) if can_fire(slo, t)]
    page = [t.factor for t in live if t.action == "page"]
    ticket = [t.factor for t in live if t.action == "ticket"]
    factors = page + ticket

    def ratio(burn: float) -> float:
        # two significant digits: tests print these ratios through Go's %.4g, which must not round them
        return float(f"{min(1.0, burn * budget):.2g}")

    out: dict[str, float | None] = {"page": None, "ticket": None, "quiet": None}
    if page:
        burn = 20.0 if 20.0 > max(page) * 1.05 else max(page) * 1.4
        out["page"] = ratio(burn) if ratio(burn) > max(page) * budget * 1.02 else None
    if ticket and (not page or max(ticket) * 1.1 < min(page)):
        top = min(page) if page else max(ticket) * 2
        burn = 5.0 if max(ticket) * 1.05 < 5.0 < top / 1.05 else (max(ticket) * top) ** 0.5
        out["ticket"] = ratio(burn)
    if factors:
        out["quiet"] = ratio(min(factors) / 2)
    return out


# --- SLI shapes ----------------------------------------------------------------------------------------------------

WINDOW = "${window}"  # in an SLI expression: each recorded window in turn (5m, 30m, 1h, ..., the period)
SHORT = "5m"  # the shortest recorded window; SLI expressions are checked as read over it


def latency_matchers(selector: dict[str, str] | str) -> list[tuple[str, str, str]]:
    """A latency SLI's selector as (label, op, value) matchers: a mapping is equality, a string is PromQL matchers
    (`verb!="WATCH", code=~"2.."`, braces optional), read by the expression parser. ExprSyntaxError when the
    string is not matchers."""
    if isinstance(selector, dict):
        return sorted((k, "=", v) for k, v in selector.items())
    from .expr import ast
    from .expr.parser import ExprSyntaxError, parse

    text = selector.strip()
    inner = text[1:-1] if text.startswith("{") and text.endswith("}") else text
    if not inner.strip():
        return []
    node = parse(f"x{{{inner}}}")
    if not isinstance(node, ast.Ref) or node.window or node.offset or node.at:
        raise ExprSyntaxError('expected label matchers such as verb!="WATCH", code=~"2.."', 1, 1)
    return [(m.label, m.op, m.value) for m in node.matchers]


def equality_labels(matchers: list[tuple[str, str, str]]) -> list[str]:
    """Labels an equality matcher pins to one value: an aggregation may keep them at no cost in series."""
    return sorted({k for k, op, _ in matchers if op == "="})
