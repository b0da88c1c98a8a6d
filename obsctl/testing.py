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
from .report import printable, shown_path

if TYPE_CHECKING:
    from .pipeline import Checked
    from .verify import Problem

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


# Names a rule expression reads: a superset (label names, functions and strings match too), which only ever keeps a
# rule more than needed. Selecting by `__name__` or reading ALERTS could reach any rule: then the test keeps them all.
_NAME_TOKEN = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_READS_ANY = ("__name__", "ALERTS", "ALERTS_FOR_STATE")
_MAX_ARGS = 64 * 1024  # bytes of paths per promtool process, well below any system's argument limit

RuleId = tuple[int, int, int]  # (rule file, group, rule) in a test file's rule_files


@dataclass
class _Rules:
    """The rule files a generated test file names, indexed by what each rule records or alerts on."""

    files: list[tuple[Path, dict]]
    records: dict[str, list[RuleId]]
    alerts: dict[str, list[RuleId]]
    exprs: dict[RuleId, str]

    @classmethod
    def read(cls, test_file: Path, names: list[str]) -> _Rules:
        files, records, alerts, exprs = [], {}, {}, {}
        for f, name in enumerate(names):
            path = test_file.parent / name
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
            files.append((path, doc))
            for g, group in enumerate(doc.get("groups") or []):
                for r, rule in enumerate(group.get("rules") or []):
                    rid = (f, g, r)
                    exprs[rid] = str(rule.get("expr", ""))
                    if "record" in rule:
                        records.setdefault(str(rule["record"]), []).append(rid)
                    if "alert" in rule:
                        alerts.setdefault(str(rule["alert"]), []).append(rid)
        return cls(files, records, alerts, exprs)

    def needed(self, alertnames: set[str], exprs: list[str]) -> frozenset[RuleId] | None:
        """The alert rules named, the recording rules the given expressions read, and what those read in turn;
        None when a rule could read any other (then the whole files are needed)."""
        todo = [rid for name in sorted(alertnames) for rid in self.alerts.get(name, [])]
        todo += [rid for e in exprs for rid in self._reads(e) or ()]
        if any(self._reads(e) is None for e in exprs):
            return None
        keep: set[RuleId] = set()
        while todo:
            rid = todo.pop()
            if rid in keep:
                continue
            keep.add(rid)
            reads = self._reads(self.exprs[rid])
            if reads is None:
                return None
            todo += reads
        return frozenset(keep)

    def _reads(self, expr: str) -> list[RuleId] | None:
        tokens = set(_NAME_TOKEN.findall(expr))
        if any(t in tokens for t in _READS_ANY):
            return None
        return [rid for t in tokens for rid in self.records.get(t, ())]

    def write(self, keep: frozenset[RuleId], out: Path, stem: str) -> list[str]:
        """Copies of the rule files with only the rules in `keep`; every group stays (group_eval_order names them,
        and a rule's group decides its interval and evaluation order)."""
        names = []
        for f, (_, doc) in enumerate(self.files):
            groups = [
                {
                    **group,
                    "rules": [rule for r, rule in enumerate(group.get("rules") or []) if (f, g, r) in keep],
                }
                for g, group in enumerate(doc.get("groups") or [])
            ]
            name = f"{stem}.{f}.rules.yml"
            _dump({**doc, "groups": groups}, out / name)
            names.append(name)
        return names


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(doc: dict, path: Path) -> None:
    path.write_text(
        yaml.dump(doc, Dumper=_YAML_DUMPER, sort_keys=False, allow_unicode=True, width=1 << 30),
        encoding="utf-8",
    )


def split_tests(test_file: Path, out: Path) -> list[Path]:
    """The test groups of a generated promtool test file, as test files whose rule files hold only the rules the
    groups need: the alert rules they check and the recording rules those read, transitively.

    Run against the whole rule file, each group evaluated every rule of the spec: `obsctl test` grew with the square
    of the alert count. Groups that need the same rules share a file; a group whose rules could read any other keeps
    the whole files."""
    doc = yaml.load(test_file.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
    groups = doc.get("tests") or []
    names = [str(n) for n in doc.get("rule_files") or []]
    if not groups:
        return []
    rules = _Rules.read(test_file, names)
    chunks: dict[frozenset[RuleId] | None, list[dict]] = {}
    for group in groups:
        alertnames = {str(c.get("alertname")) for c in group.get("alert_rule_test") or []}
        exprs = [str(c.get("expr", "")) for c in group.get("promql_expr_test") or []]
        chunks.setdefault(rules.needed(alertnames, exprs), []).append(group)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (keep, chunk) in enumerate(chunks.items()):
        stem = f"{test_file.name.removesuffix('.tests.yml')}.{i}"
        if keep is None:
            rule_files = [str(path) for path, _ in rules.files]
        else:
            rule_files = rules.write(keep, out, stem)
        path = out / f"{stem}.tests.yml"
        _dump({**doc, "rule_files": rule_files, "tests": chunk}, path)
        paths.append(path)
    return paths


def run_alert_tests(test_files: list[Path], work: Path) -> dict[Path, tuple[bool, str]]:
    """(passed, promtool's output) per generated test file, the way `promtool test rules FILE` reports it, from its
    split files (split_tests) run together: one promtool process per batch of files, not one per file."""
    from .verify.promtool import test_rules

    parts = {test_file: split_tests(test_file, work / f"{i}") for i, test_file in enumerate(test_files)}
    sections: dict[Path, tuple[bool, str]] = {}
    batch: list[Path] = []
    size = 0
    everything = [p for paths in parts.values() for p in paths]
    for n, path in enumerate(everything):
        batch.append(path)
        size += len(str(path)) + 1
        if size >= _MAX_ARGS or n == len(everything) - 1:
            ok, output = test_rules(batch)
            sections.update(_sections(batch, ok, output))
            batch, size = [], 0
    results = {}
    for test_file, paths in parts.items():
        found = [sections[p] for p in paths]
        results[test_file] = (all(ok for ok, _ in found), "".join(text for _, text in found))
    return results


_UNIT = re.compile(r"^Unit Testing:\s+(?P<file>.*?)\s*$")


def _sections(paths: list[Path], ok: bool, output: str) -> dict[Path, tuple[bool, str]]:
    """promtool's output for several test files, cut at each `Unit Testing: FILE` line; a file passed when its
    section says SUCCESS (or every file did, by the exit code). A file promtool never reached failed with all
    of the output, as one run of it alone would."""
    by_name = {str(p): p for p in paths}
    found: dict[Path, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines(keepends=True):
        m = _UNIT.match(line)
        if m and m["file"] in by_name:
            current = found.setdefault(by_name[m["file"]], [])
        if current is not None:
            current.append(line)
    out = {}
    for p in paths:
        if p not in found:
            out[p] = (False, output)
            continue
        text = "".join(found[p])
        passed = ok or (any(line.strip() == "SUCCESS" for line in found[p]) and "FAILED:" not in text)
        out[p] = (passed, text)
    return out


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
    ignored = {"alertname"} if config is not None and not _routes_on_alertname(config) else set()
    verdicts: dict[tuple, Problem | None] = {}
    out = []
    for case in track(cases, "amtool route tests", total=len(cases)):
        shown = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(case.labels.items())) + "}"
        # one amtool run per label set the route tree can tell apart (it takes one set per run)
        key = (tuple(sorted(i for i in case.labels.items() if i[0] not in ignored)), tuple(case.receivers))
        if key not in verdicts:
            verdicts[key] = verify_route(config, case.labels, case.receivers)
        problem = verdicts[key]
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


def _routes_on_alertname(config: Path) -> bool:
    """Whether any route of the Alertmanager config matches on alertname (else label sets that differ only by it
    are routed alike)."""
    doc = yaml.load(config.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
    todo = [doc.get("route")]
    while todo:
        route = todo.pop()
        if not isinstance(route, dict):
            continue
        if any("alertname" in (route.get(k) or {}) for k in ("match", "match_re")):
            return True
        if any("alertname" in str(m) for m in route.get("matchers") or []):
            return True
        todo += route.get("routes") or []
    return False


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
        test_files = [
            root / art.path
            for art in sorted(artifacts, key=lambda a: a.path)
            if art.path.startswith("prometheus/") and art.path.endswith(".tests.yml")
        ]
        with status(f"promtool test rules ({len(test_files)} file(s))"):
            results = run_alert_tests(test_files, root / "obsctl-test-split")
        alerts: list[Outcome] = []
        for test_file in test_files:
            ok, output = results[test_file]
            alerts += alert_outcomes(test_file, ok, output)
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
        print(f"  {o.status:<13} {o.alert:<{width}}  {printable(o.scenario)}", file=out)
        if o.status == "FAIL" and o.detail:
            for line in o.detail.splitlines():
                print(f"  {'':<13} {'':<{width}}    {line}", file=out)
        elif o.status == "NOT GENERATED":
            print(f"  {'':<13} {'':<{width}}    {o.detail}", file=out)
    print(f"{shown_path(spec_path)}: route tests (amtool config routes test)", file=out)
    if not routes:
        print("  none: the spec has no routing section", file=out)
    for o in routes:
        print(f"  {o.status:<13} {o.alert}  {printable(o.scenario)}", file=out)
        if o.status in ("FAIL", "NOT GENERATED") and o.detail:
            print(f"  {'':<13} {o.detail}", file=out)
    everything = alerts + routes
    passed = sum(o.status == "PASS" for o in everything)
    failed = sum(o.status == "FAIL" for o in everything)
    skipped = sum(o.status == "NOT GENERATED" for o in everything)
    print(f"obsctl test: {passed} passed, {failed} failed, {skipped} not generated", file=out)
    return 1 if failed else 0
