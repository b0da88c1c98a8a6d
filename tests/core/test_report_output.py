"""The terminal report of many diagnostics: one write, the same text line for line."""

from __future__ import annotations

import io

from obsctl.diagnostics import Diagnostic
from obsctl.report import render_human


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
    diags = [
        Diagnostic(
            "OBS302", "warning", f"alert 'A{i}' has no runbook [x]", None, f"alerts.A{i}", "add runbook:"
        )
        for i in range(3)
    ]
    out = io.StringIO()
    render_human(diags, None, out)
    assert prints == 1
    assert out.getvalue().splitlines() == [
        line
        for i in range(3)
        for line in (f"warning OBS302 alert 'A{i}' has no runbook [x] [alerts.A{i}]", "  hint: add runbook:")
    ]
