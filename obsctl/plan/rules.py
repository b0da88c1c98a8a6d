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
        return {"record": self.record, "alert": self.alert, "expr": self.expr, "for": self.for_,
                "keep_firing_for": self.keep_firing_for, "labels": self.labels, "annotations": self.annotations}


@dataclass
class Group:
    name: str
    interval: str
    rules: list[Rule]

    def as_template(self) -> dict:
        return {"name": self.name, "interval": self.interval, "rules": [r.as_template() for r in self.rules]}


def guarded(when: str, guard: str | None, guard_labels: set[str] | None) -> str:
    """The condition joined with its volume guard. A guard without labels is a single sample: `and on()`."""
    if not guard:
        return when
    on = " on()" if guard_labels == set() else ""
    return f"({when}) and{on} ({guard})"


def alert_rule(alert: AlertPlan, when: str, guard: str | None, guard_labels: set[str] | None) -> Rule:
    """An alerting rule for a spec alert: its condition and volume guard in the rule file's language (PromQL, or
    LogQL for Loki), joined as `guarded` says."""
    return Rule(expr=guarded(when, guard, guard_labels), alert=alert.name, for_=alert.for_,
                keep_firing_for=alert.keep_firing_for, labels=alert.labels, annotations=alert.annotations,
                when=when, guard=guard)
