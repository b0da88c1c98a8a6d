"""The rule-group model that Prometheus-compatible rulers share (Prometheus, Loki): what a rule file holds, as the
templates render it, and how a condition joins its volume guard."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import AlertPlan


@dataclass
class Rule:
    """One rule as the template renders it (recording when `record` is set, else alerting)."""

    expr: str
    record: str = ""
    alert: str = ""
    for_: str = ""
    keep_firing_for: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # An alert's condition and volume guard before they are joined into `expr`: test generation reads them.
    when: str = ""
    guard: str | None = None

    def as_template(self) -> dict:
        return {
            "record": self.record,
            "alert": self.alert,
            "expr": self.expr,
            "for": self.for_,
            "keep_firing_for": self.keep_firing_for,
            "labels": self.labels,
            "annotations": self.annotations,
        }


@dataclass
class Group:
    name: str
    interval: str
    rules: list[Rule]

    def as_template(self) -> dict:
        return {"name": self.name, "interval": self.interval, "rules": [r.as_template() for r in self.rules]}


def guarded(when: str, guard: str | None, join: tuple[str, ...] | set[str] | None) -> str:
    """The condition joined with its volume guard: `and on(<the guard's labels>)` (a guard by `env` guards each
    env; a guard without labels, `on()`, guards them all), or a plain `and` when `join` is None."""
    if not guard:
        return when
    on = f" on({', '.join(sorted(join))})" if join is not None else ""
    return f"({when}) and{on} ({guard})"


def alert_rule(alert: AlertPlan, when: str, guard: str | None) -> Rule:
    """An alerting rule for a spec alert: its condition and volume guard in the rule file's language (PromQL, or
    LogQL for Loki), joined on the labels the plan decided (`AlertPlan.guard_on`)."""
    return Rule(
        expr=guarded(when, guard, alert.guard_on),
        alert=alert.name,
        for_=alert.for_,
        keep_firing_for=alert.keep_firing_for,
        labels=alert.labels,
        annotations=alert.annotations,
        when=when,
        guard=guard,
    )
