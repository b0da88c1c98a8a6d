"""Float formatting as Go prints it (strconv 'g', shortest digits): what Prometheus writes in `$value`
templates and in `le` labels, which obsctl must reproduce exactly."""

from __future__ import annotations

import math
from decimal import Decimal


def shortest_digits(v: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of |v| and the decimal point position (Go's digs.d / digs.dp)."""
    sign, digits, exp = Decimal(repr(abs(v))).as_tuple()
    ds = "".join(map(str, digits)).lstrip("0")
    trailing = len(ds) - len(ds.rstrip("0"))
    ds = ds.rstrip("0")
    if not ds:
        return "0", 1
    # value = int(ds + '0'*trailing) * 10**exp; point position counted from the first digit
    dp = len(ds) + trailing + exp
    return ds, dp


def go_float(v: float) -> str:
    """fmt's %v (and %g) for a float64: shortest digits; exponent form when the exponent is < -4 or >= 6."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    neg = "-" if v < 0 else ""
    ds, dp = shortest_digits(v)
    exp = dp - 1
    if exp < -4 or exp >= 6:  # strconv uses precision 6 for this decision when printing the shortest form
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{neg}0.{'0' * -dp}{ds}"
    if dp >= len(ds):
        return f"{neg}{ds}{'0' * (dp - len(ds))}"
    return f"{neg}{ds[:dp]}.{ds[dp:]}"
