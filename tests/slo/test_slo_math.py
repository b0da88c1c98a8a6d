"""SLO arithmetic: bucket-bound spellings, the test scenarios' error ratios, and OBS402 (a tier that cannot fire)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from obsctl.pipeline import check
from obsctl.plan.sli import le_matcher, le_values
from obsctl.slo import burn_threshold, can_fire, effective_tiers, scenario_ratios


@pytest.mark.parametrize(
    "bound,spellings",
    [
        (0.5, ["0.5"]),  # every client prints it the same way
        (1, ["1", "1.0"]),  # Go / JavaScript vs Python, OpenMetrics and Prometheus 3
        (30, ["30", "30.0"]),
        (0.00001, ["0.00001", "1e-05"]),  # JavaScript vs Go and Python
        (1e-7, ["1e-07", "1e-7"]),
        (1e6, ["1000000", "1e+06"]),
        (1234567, ["1.234567e+06", "1234567"]),
        (float("inf"), ["+Inf"]),
    ],
)
def test_bucket_bound_spellings(bound: float, spellings: list[str]) -> None:
    assert le_values(bound) == spellings


def test_le_matcher() -> None:
    assert le_matcher(0.25) == ("le", "=", "0.25")
    assert le_matcher(1) == ("le", "=~", r"1|1\.0")
    assert le_matcher(1e6) == ("le", "=~", r"1000000|1e\+06")


def _slo(objective: float, period: str = "30d", tiers: list | None = None) -> SimpleNamespace:
    return SimpleNamespace(objective=objective, period=period, alerting=SimpleNamespace(tiers=tiers))


def test_scenario_ratios_for_the_workbook_tiers() -> None:
    # 20x, 5x and 0.5x the budget: above the fast page (14.4x), between the fast ticket (3x) and the slow page (6x),
    # under the slowest tier (1x)
    assert scenario_ratios(_slo(99.9)) == {"page": 0.02, "ticket": 0.005, "quiet": 0.0005}
    assert scenario_ratios(_slo(99)) == {"page": 0.2, "ticket": 0.05, "quiet": 0.005}


@pytest.mark.parametrize(
    "objective,period", [(99.9, "30d"), (99.95, "7d"), (99, "28d"), (95, "30d"), (90, "30d")]
)
def test_scenario_ratios_play_their_roles(objective: float, period: str) -> None:
    slo = _slo(objective, period)
    tiers = [t for t in effective_tiers(slo) if can_fire(slo, t)]
    got = scenario_ratios(slo)
    fires = {role: {t.action for t in tiers if ratio > burn_threshold(slo, t)} for role, ratio in got.items()}
    assert fires == {"page": {"page", "ticket"}, "ticket": {"ticket"}, "quiet": set()}
    assert all(0 < r <= 1 for r in got.values())


def test_scenario_ratios_without_ticket_tiers() -> None:
    tiers = [
        SimpleNamespace(name="p", long="1h", short="5m", factor=14.4, action="page", for_="2m", enabled=True)
    ]
    assert scenario_ratios(_slo(99.9, tiers=tiers)) == {"page": 0.02, "ticket": None, "quiet": 0.0072}


# --- OBS402 ----------------------------------------------------------------------------------------------------------

SPEC = """
service: svc
metrics: {requests_total: {kind: counter, labels: [code]}}
slos:
  availability:
    objective: OBJECTIVE
    sli: {bad: 'requests_total{code="500"}', total: requests_total}
    alerting: ALERTING
"""


def _obs402(tmp_path: Path, objective: float, alerting: str = "{}") -> list[str]:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.replace("OBJECTIVE", str(objective)).replace("ALERTING", alerting), encoding="utf-8")
    result = check(spec)
    assert result.ok
    return [d.message for d in result.diagnostics if d.code == "OBS402"]


def test_obs402_objective_too_low_for_a_tier(tmp_path: Path) -> None:
    # 90%: a 10% budget; 14.4 x 10% = 144% errors, which no ratio reaches. The other tiers can fire.
    [message] = _obs402(tmp_path, 90)
    assert (
        message
        == "tier 'page-fast' can never fire: burn rate 14.4 x budget 0.1 needs an error ratio above 144%"
    )
    assert _obs402(tmp_path, 95) == []  # 14.4 x 5% = 72%


def _one_tier(factor: float, enabled: bool = True) -> str:
    return (
        "{tiers: [{name: t, long: 1h, short: 5m, factor: "
        + str(factor)
        + ", action: page, enabled: "
        + str(enabled).lower()
        + "}]}"
    )


def test_obs402_at_exactly_100_percent(tmp_path: Path) -> None:
    """`ratio > 10 x 0.1` cannot hold for a ratio of at most 1 (1 - 0.9 is 0.0999... in floats: no matter)."""
    assert len(_obs402(tmp_path, 90, _one_tier(10))) == 1
    assert _obs402(tmp_path, 90, _one_tier(9.9)) == []


def test_obs402_not_for_disabled_tiers_or_alerting(tmp_path: Path) -> None:
    assert _obs402(tmp_path, 90, _one_tier(14.4, enabled=False)) == []
    assert _obs402(tmp_path, 90, "{enabled: false}") == []


@pytest.mark.parametrize(
    ("period", "factors"),
    [
        ("30d", [14.4, 6.0, 3.0, 1.0]),  # the SRE workbook's table
        ("28d", [13.44, 5.6, 2.8, 0.9333]),  # Sloth's google-28d windows: the same shares of the budget
        ("7d", [13.44, 3.5, 1.4, 0.98]),  # Sloth's 7d windows: 8%, 12.5%, 20%, 42% of a week's budget
    ],
)
def test_default_tiers_follow_the_period(period: str, factors: list[float]) -> None:
    assert [t.factor for t in effective_tiers(_slo(99.9, period))] == factors


def test_a_tier_burning_below_one_is_a_warning(tmp_path: Path) -> None:
    """On a 7-day SLO the 30-day shares scaled linearly gave the slow ticket tier a factor of 0.23: it opened tickets
    while the service was inside its budget, and nothing said so. A 14-day period keeps the 30-day shares."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("""service: checkout
metrics:
  requests_total: {kind: counter}
  errors_total: {kind: counter}
slos:
  availability:
    objective: 99.9
    period: 14d
    sli: {bad: errors_total, total: requests_total}
""")
    warnings = [d for d in check(spec).diagnostics if d.code == "OBS412"]
    assert [w.message.split("'")[1] for w in warnings] == ["ticket-slow"]
    assert "0.4667" in warnings[0].message and warnings[0].location.line == 8
    assert not [d for d in check(spec).diagnostics if d.code == "OBS412" and "7d" in d.message]


def test_every_window_is_recorded_when_the_slo_does_not_alert(tmp_path: Path) -> None:
    """Dashboards read the burn rate over every tier window: those ratios are recorded with alerting disabled too."""
    from obsctl.build import render

    spec = tmp_path / "spec.yaml"
    spec.write_text("""service: checkout
metrics:
  requests_total: {kind: counter}
  errors_total: {kind: counter}
slos:
  availability:
    objective: 99.9
    sli: {bad: errors_total, total: requests_total}
    alerting: {enabled: false}
""")
    artifacts, diags, _ = render(spec, ["prometheus"], None)
    assert not [d for d in diags if d.level == "error"], [d.message for d in diags]
    rules = next(a.text for a in artifacts if a.path.endswith(".slo.rules.yml"))
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"):
        assert f"record: slo:sli_error:ratio_rate{window}\n" in rules, window
    assert "alert:" not in rules
