"""Hand-written tests: series and expectations that name what the spec defines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import did_you_mean

if TYPE_CHECKING:
    from .core import Checker


def check_tests(c: Checker) -> None:
    chosen = c.spec.targets.for_
    if c.spec.tests and chosen is not None and "prometheus" not in chosen:
        # the tests run under promtool on the Prometheus rules: without them every expectation would be dropped
        c.report(
            "OBS602",
            "error",
            f"the spec's tests run on its Prometheus rules, and targets.for ({', '.join(chosen)}) leaves "
            "prometheus out",
            ("tests",),
            "add prometheus to targets.for, or remove the tests",
        )
    seen: dict[str, int] = {}
    for i, t in enumerate(c.spec.tests):
        if t.name in seen:  # `obsctl test` reports by test name: a failure would also mark its twin as failed
            c.report(
                "OBS603",
                "error",
                f"two tests are named '{t.name}' (the first is tests[{seen[t.name]}])",
                ("tests", i, "name"),
                "give each test its own name",
            )
        seen.setdefault(t.name, i)
    names = set(c.spec.alerts)
    for i, t in enumerate(c.spec.tests):
        for j, exp in enumerate(t.expect):
            for fld in ("firing", "quiet"):
                for k, a in enumerate(getattr(exp, fld)):
                    if a not in names:
                        c.report(
                            "OBS601",
                            "error",
                            f"unknown alert '{a}'",
                            ("tests", i, "expect", j, fld, k),
                            did_you_mean(a, names),
                        )
