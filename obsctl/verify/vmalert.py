"""VictoriaMetrics rule checks: `vmalert -dryRun`, which parses each rule file as vmalert loads it (group and rule
fields, MetricsQL expressions, annotation templates) without evaluating anything."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from obsctl.verify import Problem
from obsctl.verify.tools import find_tool

# vmalert logs "<time>\tfatal\t<caller>\tfailed to parse [...]: errors(1): <message>".
_FATAL = re.compile(r"\bfatal\t\S+\t(.*)$", re.MULTILINE)
_ERRORS = re.compile(r"errors\(\d+\): ")


def check_rules(files: Iterable[tuple[str, Path]]) -> list[Problem]:
    """Run `vmalert -dryRun` on each (artifact path, staged file); a Problem per file vmalert refuses."""
    vmalert = find_tool("vmalert")
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="obsctl-vmalert-") as tmp:
        for i, (name, path) in enumerate(files):
            # -rule takes globs and comma-separated lists: a plain copied name cannot be misread as either.
            staged = Path(tmp) / f"rules-{i}.yml"
            shutil.copyfile(path, staged)
            proc = subprocess.run(
                [vmalert, "-dryRun", "-loggerLevel=ERROR", f"-rule={staged}"],
                capture_output=True,
                text=True,
                check=False,
                cwd=tmp,
                timeout=60,
            )
            if proc.returncode != 0:
                problems.append(
                    Problem(name, "vmalert -dryRun: " + _message(proc.stderr or proc.stdout, staged))
                )
    return problems


def _message(text: str, staged: Path) -> str:
    m = _FATAL.search(text)
    msg = m.group(1) if m else text.strip()
    parts = _ERRORS.split(msg, maxsplit=1)
    msg = parts[1] if len(parts) == 2 else msg
    return msg.replace(f' in file "{staged}"', "").replace(str(staged), "the file").strip()
