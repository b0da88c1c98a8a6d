"""The README's set-up installs into .venv: no pip install into the interpreter it finds (as root, beside Debian's
packages, which pip warns about). The end-to-end proof is .ci/run on a clean clone; this keeps the scripts honest."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _code(path: str) -> list[str]:
    return [
        line.split("#", 1)[0].strip()
        for line in (REPO / path).read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_setup_creates_and_installs_into_a_venv():
    lines = _code("scripts/setup.sh")
    assert "VENV=.venv" in lines
    assert 'PY="$VENV/bin/python"' in lines
    assert any(re.search(r'"\$BASE_PY" -m venv "\$VENV"', line) for line in lines)
    installs = [line for line in lines if "pip install" in line]
    assert installs and all(line.startswith('"$PY" -m pip install') for line in installs), installs
    assert not any("--user" in line or "--break-system-packages" in line for line in installs)
    assert lines.index('PY="$VENV/bin/python"') < lines.index(installs[0])


def test_the_scripts_run_what_setup_installed():
    assert "PY=.venv/bin/python" in _code("scripts/test.sh")
    for path in ("scripts/test.sh", "scripts/demo.sh", ".ci/run"):
        assert 'export PATH="$PWD/.venv/bin:$PATH"' in _code(path), path
