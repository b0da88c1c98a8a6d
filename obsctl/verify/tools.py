"""Locating the external tools the verifiers run: promtool, amtool, vmalert, node (+ the LogQL checker)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..resources import resource_dir

# tools/logql-check lives in the repository, next to the package (not inside it).
REPO_ROOT = resource_dir("tools").parent
LOGQL_CHECK_DIR = REPO_ROOT / "tools" / "logql-check"

INSTALL_HINTS: dict[str, str] = {
    "promtool": "apt-get install prometheus",
    "amtool": "apt-get install prometheus-alertmanager",
    "vmalert": "apt-get install victoria-metrics",
    "node": "apt-get install nodejs npm, then: npm ci --prefix tools/logql-check",
    "logql-check": "npm ci --prefix tools/logql-check",
}


class ToolMissing(Exception):
    """An external tool a check needs is not installed."""

    def __init__(self, tool: str, hint: str | None = None) -> None:
        self.tool = tool
        self.hint = hint if hint is not None else INSTALL_HINTS.get(tool, "")
        super().__init__(f"{tool} not installed: {self.hint}" if self.hint else f"{tool} not installed")


def find_tool(name: str) -> str:
    """Absolute path of `name` on PATH; raises ToolMissing with an install hint when absent."""
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(name)
    return path


def have_tool(name: str) -> bool:
    """True when `name` is on PATH (for "logql-check": node plus the installed npm project)."""
    try:
        if name == "logql-check":
            logql_checker()
        else:
            find_tool(name)
    except ToolMissing:
        return False
    return True


def logql_checker() -> tuple[str, Path]:
    """(node executable, check.mjs) for the LogQL checker; raises ToolMissing if either is missing."""
    node = find_tool("node")
    script = LOGQL_CHECK_DIR / "check.mjs"
    # npm ci puts the parser here; without it node fails with an opaque ERR_MODULE_NOT_FOUND.
    if not (LOGQL_CHECK_DIR / "node_modules" / "@grafana" / "lezer-logql").is_dir() or not script.is_file():
        raise ToolMissing("logql-check")
    return node, script
