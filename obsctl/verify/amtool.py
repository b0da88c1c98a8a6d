"""Alertmanager checks with the real amtool (0.25 floor): config validity and routing."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from obsctl.verify import Problem
from obsctl.verify.tools import find_tool


class AmtoolError(RuntimeError):
    """amtool could not evaluate the routing (e.g. the config itself is invalid)."""


def check_config(path: str | Path) -> list[Problem]:
    """Run `amtool check-config`; one Problem carrying amtool's explanation when it rejects the file."""
    amtool = find_tool("amtool")
    name = str(path)
    proc = subprocess.run([amtool, "check-config", name], capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return []
    # stdout: "Checking 'f'  FAILED: yaml: unmarshal errors:\n  line 27: field foo not found ..."
    out = proc.stdout.strip()
    _, sep, reason = out.partition("FAILED:")
    message = " ".join(line.strip() for line in (reason if sep else out).splitlines() if line.strip())
    return [Problem(name, message or proc.stderr.strip() or "amtool check-config failed")]


def _label_arg(name: str, value: str) -> str:
    # amtool parses each argument as a matcher: quote and escape so commas/quotes/spaces survive.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{name}="{escaped}"'


def routes_test(config_path: str | Path, labels: Mapping[str, str]) -> list[str]:
    """Receivers Alertmanager routes an alert with `labels` to, in tree order.

    Runs `amtool config routes test`; raises AmtoolError when amtool cannot evaluate the config.
    """
    amtool = find_tool("amtool")
    args = [_label_arg(k, v) for k, v in sorted(labels.items())]
    proc = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={config_path}", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        # stderr always starts with a harmless "--config.file flag overrides --alertmanager.url" warning.
        err = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("Warning:")]
        raise AmtoolError(" ".join(err) or f"amtool config routes test exited {proc.returncode}")
    # amtool 0.25 prints the receivers on one line, comma-separated.
    return [r.strip() for r in lines[-1].split(",") if r.strip()]


def verify_route(
    config_path: str | Path, labels: Mapping[str, str], expected_receivers: Iterable[str]
) -> Problem | None:
    """Problem when `labels` are not routed to exactly `expected_receivers` (order as in the route tree)."""
    expected = list(expected_receivers)
    shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    try:
        got = routes_test(config_path, labels)
    except AmtoolError as exc:
        return Problem(str(config_path), f"cannot test routing: {exc}", "{" + shown + "}")
    if got == expected:
        return None
    return Problem(
        str(config_path),
        f"alert routed to [{', '.join(got)}], expected [{', '.join(expected)}]",
        "{" + shown + "}",
    )
