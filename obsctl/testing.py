"""`obsctl test SPEC`: run the alert tests with promtool and the route tests with amtool, report per alert.

The Prometheus and Alertmanager output is built into a temporary directory (the same code path as `obsctl build`,
always as plain rule files, since promtool tests need them). Every promtool unit-test file is run on its own so
failures stay attached to their file; a failure names an alert and an evaluation time, which the test file maps
back to its scenario by the test's name promtool prints with it. Route tests ask amtool where each label set
an alert can carry is delivered, and compare with the receivers the spec names.
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .durations import parse_duration
from .report import shown_path

if TYPE_CHECKING:
    from .pipeline import Checked

_FAILURE = re.compile(r"^\s*alertname: (?P<alert>.*?), time: (?P<time>[0-9a-z.]+),")
_NAME = re.compile(r"^ {4}name: (?P<name>.*),\s*$")


@dataclass
class Outcome:
    status: str  # PASS | FAIL | NOT GENERATED
    alert: str
    scenario: str
    detail: str = ""


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError:
        # promtool prints Go durations such as 1h10m0s or 90s; parse_duration reads those too, except "1m30.5s"
        return -1


def parse_failures(output: str) -> tuple[dict[tuple[str, str, float], str], list[str]]:
    """promtool test output -> ({(test name, alertname, seconds): failure text}, other failure lines).

    promtool 2.42 prints `name: <test name>,` before the failures of a named test, then one block per failing
    alert check starting `alertname: X, time: T,`."""
    failures: dict[tuple[str, str, float], list[str]] = {}
    other: list[str] = []
    group = ""
    current: list[str] | None = None
    for line in output.splitlines():
        m = _FAILURE.match(line)
        named = _NAME.match(line)
        if m:
            current = failures.setdefault((group, m["alert"], _seconds(m["time"])), [])
            current.append(line.strip())
        elif named:
            group, current = named["name"], None
        elif line.strip() in ("", "FAILED:", "SUCCESS") or line.startswith("Unit Testing:"):
            continue
        elif current is not None and line.startswith("        "):
            current.append(line.strip())
        else:
            current = None
            other.append(line.strip())
    return {k: "\n".join(v) for k, v in failures.items()}, other


def _scenarios(test_doc: dict) -> list[tuple[str, str, str, float, bool]]:
    """(test name, alertname, scenario, eval seconds, expects firing) for every alert check in a test file."""
    out = []
    for group in test_doc.get("tests") or []:
        name = str(group.get("name") or "")
        for check in group.get("alert_rule_test") or []:
            alert = str(check.get("alertname"))
            scenario = name.removeprefix(f"{alert}: ") or "unnamed test"
            out.append(
                (
                    name,
                    alert,
                    scenario,
                    parse_duration(str(check.get("eval_time"))),
                    bool(check.get("exp_alerts")),
                )
            )
    return out


def alert_outcomes(test_file: Path, passed: bool, output: str) -> list[Outcome]:
    from .testgen.alerts import NEVER_FIRES, not_generated, read_not_generated

    text = test_file.read_text(encoding="utf-8")
    doc = yaml.safe_load(text) or {}
    failures, other = parse_failures(output) if not passed else ({}, [])
    outcomes: list[Outcome] = []
    matched: set[tuple[str, str, float]] = set()
    for group, alert, scenario, at, firing in _scenarios(doc):
        key = (group, alert, at)
        label = f"{scenario} ({'firing' if firing else 'quiet'} at {_fmt(at)})"
        if key in failures:
            matched.add(key)
            outcomes.append(Outcome("FAIL", alert, label, failures[key]))
        elif not passed and not failures:
            outcomes.append(Outcome("FAIL", alert, label, "promtool could not run the tests"))
        else:
            outcomes.append(Outcome("PASS", alert, label))
    for key, detail in failures.items():
        if key not in matched:
            outcomes.append(Outcome("FAIL", key[1], f"{key[0] or 'a test'} at {_fmt(key[2])}", detail))
    if not passed and (other or not failures):
        outcomes.append(
            Outcome("FAIL", "-", f"promtool test rules {test_file.name}", "\n".join(other) or output)
        )
    for line in not_generated(text):
        alert, spec_test, scenario, reason = read_not_generated(line)
        if spec_test is not None:  # the user's own test never runs: a failure, not a gap in the generator
            outcomes.append(Outcome("FAIL", alert, scenario, f"cannot be run with promtool: {reason}"))
        elif reason.startswith(NEVER_FIRES):  # not a gap in the generator: the rule itself is wrong
            outcomes.append(Outcome("FAIL", alert, scenario, reason))
        else:
            outcomes.append(Outcome("NOT GENERATED", alert, scenario, reason))
    return outcomes


def _fmt(seconds: float) -> str:
    from .durations import format_duration

    return format_duration(seconds)


def route_outcomes(checked: Checked, config: Path | None) -> list[Outcome]:
    """amtool route tests of the plan's route cases against the built alertmanager.yml."""
    from .plan import build_plan
    from .plan.routing import untested_route
    from .progress import track
    from .verify.amtool import verify_route

    cases = build_plan(checked.spec, checked.analysis, checked.smap, checked.path, checked.env).route_cases()
    if cases and config is None:
        return [Outcome("FAIL", "-", "route tests", "no alertmanager.yml was built")]
    out = []
    for case in track(cases, "amtool route tests", total=len(cases)):
        shown = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(case.labels.items())) + "}"
        problem = verify_route(config, case.labels, case.receivers)
        want = ", ".join(case.receivers) or "(no receiver)"
        out.append(
            Outcome(
                "FAIL" if problem else "PASS",
                shown,
                f"-> {want}  ({case.why})",
                problem.message if problem else "",
            )
        )
    routes = checked.spec.routing.routes if checked.spec.routing else []
    for i, route in enumerate(routes):
        if reason := untested_route(route):
            out.append(Outcome("NOT GENERATED", f"routing.routes[{i}]", "its own route case", reason))
    return out


def _have(tool: str, what: str, package: str) -> bool:
    """Whether `tool` is installed; if not, say which Debian package brings it."""
    from .verify.tools import ToolMissing, find_tool

    try:
        find_tool(tool)
    except ToolMissing as e:
        print(
            f"error: obsctl test runs the {what} with {tool}, which is not installed.\n"
            f"  install the Debian package '{package}': {e.hint}",
            file=sys.stderr,
        )
        return False
    return True


def run_tests(spec_path: Path, env: str | None, templates: Path | None) -> int:
    """Build, run promtool and amtool, print a report per alert and route; 0 when everything passed."""
    from .build import render
    from .progress import status
    from .report import render_human
    from .verify.promtool import test_rules

    if not _have("promtool", "alert tests", "prometheus"):
        return 1
    with status(f"building {shown_path(spec_path)}"):
        artifacts, diags, result = render(
            spec_path, ["prometheus", "alertmanager"], env, templates, {"format": "rules"}, skip_excluded=True
        )
    if diags:
        render_human(diags, result.smap)
    if any(d.level == "error" for d in diags) or not result.checked:
        print(f"{shown_path(spec_path)}: cannot test: the spec does not build", file=sys.stderr)
        return 1
    checked = result.checked[0]
    if checked.spec.routing is not None and not _have("amtool", "route tests", "prometheus-alertmanager"):
        return 1
    with tempfile.TemporaryDirectory(prefix="obsctl-test-") as tmp:
        root = Path(tmp)
        for art in artifacts:
            (root / art.path).parent.mkdir(parents=True, exist_ok=True)
            (root / art.path).write_text(art.text, encoding="utf-8")
        alerts: list[Outcome] = []
        for art in sorted(artifacts, key=lambda a: a.path):
            if art.path.startswith("prometheus/") and art.path.endswith(".tests.yml"):
                with status(f"promtool test rules {art.path}"):
                    ok, output = test_rules([root / art.path])
                alerts += alert_outcomes(root / art.path, ok, output)
        config = next((root / a.path for a in artifacts if a.path.endswith("alertmanager.yml")), None)
        routes = route_outcomes(checked, config)
    return report(spec_path, alerts, routes)


def report(
    spec_path: Path, alerts: list[Outcome], routes: list[Outcome] | None, stream: object = None
) -> int:
    out = stream or sys.stdout
    width = max([len(o.alert) for o in alerts] + [10])
    print(f"{shown_path(spec_path)}: alert tests (promtool test rules)", file=out)
    if not alerts:
        print("  none: the spec has no Prometheus alerts", file=out)
    for o in alerts:
        print(f"  {o.status:<13} {o.alert:<{width}}  {o.scenario}", file=out)
        if o.status == "FAIL" and o.detail:
            for line in o.detail.splitlines():
                print(f"  {'':<13} {'':<{width}}    {line}", file=out)
        elif o.status == "NOT GENERATED":
            print(f"  {'':<13} {'':<{width}}    {o.detail}", file=out)
    print(f"{shown_path(spec_path)}: route tests (amtool config routes test)", file=out)
    if not routes:
        print("  none: the spec has no routing section", file=out)
    for o in routes:
        print(f"  {o.status:<13} {o.alert}  {o.scenario}", file=out)
        if o.status in ("FAIL", "NOT GENERATED") and o.detail:
            print(f"  {'':<13} {o.detail}", file=out)
    everything = alerts + routes
    passed = sum(o.status == "PASS" for o in everything)
    failed = sum(o.status == "FAIL" for o in everything)
    skipped = sum(o.status == "NOT GENERATED" for o in everything)
    print(f"obsctl test: {passed} passed, {failed} failed, {skipped} not generated", file=out)
    return 1 if failed else 0
