"""The terminal report of many diagnostics: one write, the same text line for line."""

from __future__ import annotations

import io
import re

import pytest

from obsctl.diagnostics import Diagnostic
from obsctl.report import render_human


def _three_warnings() -> list[Diagnostic]:
    return [
        Diagnostic(
            "OBS302", "warning", f"alert 'A{i}' has no runbook [x]", None, f"alerts.A{i}", "add runbook:"
        )
        for i in range(3)
    ]


EXPECTED = [
    line
    for i in range(3)
    for line in (f"warning OBS302 alert 'A{i}' has no runbook [x] [alerts.A{i}]", "  hint: add runbook:")
]


def test_many_warnings_are_printed_in_one_write(monkeypatch):
    """A spec with 1,000 alerts without runbooks printed 4,000 lines one rich print at a time (1 s of a build)."""
    from rich.console import Console

    prints = 0
    real = Console.print

    def counting(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        nonlocal prints
        prints += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Console, "print", counting)
    monkeypatch.setenv("FORCE_COLOR", "1")  # colour, as on a terminal
    out = io.StringIO()
    render_human(_three_warnings(), None, out)
    assert prints == 1
    assert re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines() == EXPECTED


def test_a_pipe_gets_the_same_lines_without_rich(monkeypatch):
    """To a pipe or a CI log there is no colour to give: plain lines in one write, no markup to parse (rich cost
    about 2 s for a 10,000-alert spec's warnings)."""
    from rich.console import Console

    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.setattr(Console, "print", lambda *a, **k: pytest.fail("rich was used for a pipe"))

    class Writes(io.StringIO):
        count = 0

        def write(self, text: str) -> int:
            Writes.count += 1
            return super().write(text)

    out = Writes()
    render_human(_three_warnings(), None, out)
    assert Writes.count == 1
    assert out.getvalue().splitlines() == EXPECTED
