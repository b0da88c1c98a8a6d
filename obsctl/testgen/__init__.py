"""Test generation: the promtool tests obsctl writes beside the rules it builds.

- `alerts.py`: per alert, scenarios that fire after `for`, stay quiet below the threshold and under the volume
  guard, plus the spec's own `tests:`; values found by evaluating the rules with `promsim.py` and annotations
  rendered as Prometheus renders them (`gotemplate.py`).
- `slos.py`: per SLO, a burn that pages, one that only tickets, one that stays quiet, and low traffic.
- `regex_examples.py`: strings a matcher's regex matches, for generated series.

Route tests need no generation here: the plan's route cases (obsctl.plan.routing) go to amtool as they are.
"""
