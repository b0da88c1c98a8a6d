"""The simulator the alert-test generator runs follows Prometheus on +-Inf and NaN (the spec fuzz found `ceil` of an
infinite value raising OverflowError: a traceback from `obsctl build` of a spec validate passed)."""

from __future__ import annotations

import math

import pytest

from obsctl.testgen.promsim import Evaluator, Series, World, fmt_number, parse_series, parse_values


def _eval(expr: str, values: str) -> list[float]:
    world = World([Series(parse_series("x"), parse_values(values))], 60_000)
    return [s.value for s in Evaluator(world).vector(expr, 0)]


@pytest.mark.parametrize("fn", ["ceil", "floor", "round"])
@pytest.mark.parametrize("value", ["Inf", "-Inf"])
def test_integral_functions_keep_infinities(fn, value):
    assert _eval(f"{fn}(x)", f"{value}x1") == [float(value)]


@pytest.mark.parametrize("fn", ["ceil", "floor", "round"])
def test_integral_functions_keep_nan(fn):
    assert math.isnan(_eval(f"{fn}(x)", "NaNx1")[0])


def test_round_to_zero_is_nan_as_in_go():
    assert math.isnan(_eval("round(x, 0)", "2x1")[0])
    assert _eval("round(x, 0.5)", "2.3x1") == [2.5]


def test_non_finite_numbers_are_written_in_the_series_notation():
    """fmt_number raised on them (int(inf)); what it writes reads back as the same value."""
    written = [fmt_number(v) for v in (math.inf, -math.inf, math.nan, 3.0)]
    assert written == ["Inf", "-Inf", "NaN", "3"]
    back = parse_values(" ".join(written))
    assert back[:2] == [math.inf, -math.inf] and math.isnan(back[2]) and back[3] == 3.0
