"""Prometheus rule checks: `promtool check rules`, `promtool test rules`, and a PromQL syntax pre-check."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from obsctl.verify import Problem
from obsctl.verify.tools import find_tool

# promtool prefixes positioned errors with "line:col: " after the file name.
_POS = re.compile(r"^(\d+:\d+): ")


def _as_list(paths: Iterable[str | Path] | str | Path) -> list[str | Path]:
    # a lone path is a common slip: iterating a str would check one "file" per character
    return [paths] if isinstance(paths, str | Path) else list(paths)


def check_rules(paths: Iterable[str | Path] | str | Path) -> list[Problem]:
    """Run `promtool check rules --lint-fatal` on each rule file (duplicate rules count as errors)."""
    promtool = find_tool("promtool")
    problems: list[Problem] = []
    for path in _as_list(paths):
        name = str(path)
        # One run per file: promtool interleaves stdout/stderr, so a batch run cannot attribute errors.
        proc = subprocess.run(
            [promtool, "check", "rules", "--lint-fatal", name], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            problems.extend(_parse_check_output(name, proc.stderr or proc.stdout))
    return problems


def _parse_check_output(name: str, text: str) -> list[Problem]:
    problems: list[Problem] = []
    lines: list[str] = []  # message lines of the problem being collected

    def flush() -> None:
        if not lines:
            return
        msg = " ".join(s.strip() for s in lines)
        m = _POS.match(msg)
        where = m.group(1) if m else ""
        problems.append(Problem(name, msg[m.end() :] if m else msg, where))
        lines.clear()

    for line in text.splitlines():
        if not line.strip() or line.strip() == "FAILED:":
            continue
        if line.startswith(name + ": "):
            flush()
            lines.append(line[len(name) + 2 :])
        else:  # continuation ("  line 6: field foo not found") or an unprefixed lint report
            lines.append(line)
    flush()
    problems = list(dict.fromkeys(problems))  # promtool repeats YAML syntax errors
    return problems or [Problem(name, f"promtool check rules failed: {text.strip()}")]


def test_rules(paths: Iterable[str | Path] | str | Path) -> tuple[bool, str]:
    """Run `promtool test rules` on unit-test files; returns (passed, promtool's full output).

    The output names each failing alertname/eval time with expected vs got, for the caller to report.
    """
    promtool = find_tool("promtool")
    proc = subprocess.run(
        [promtool, "test", "rules", *map(str, _as_list(paths))],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream keeps failures next to the file they belong to
        text=True,
        check=False,
    )
    return proc.returncode == 0, proc.stdout


test_rules.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name


def promql_errors(expr: str) -> str | None:
    """PromQL syntax error message for `expr`, or None when it parses (promql-parser; promtool stays authoritative)."""
    import promql_parser  # compiled extension; load only when PromQL is actually checked

    try:
        promql_parser.parse(expr)
    except ValueError as exc:
        return str(exc)
    return None
