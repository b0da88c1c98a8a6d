#!/usr/bin/env python3
"""Cold-start timings of the commands people run on every commit: `obsctl --help` and `obsctl validate`, each next
to its floor, the import of the libraries it cannot do without.

Each run is a fresh process (what a pre-commit hook pays); the commands and their floors are run interleaved, round
after round, so a busy machine slows them alike. Prints the median wall time and the median CPU time (user + system,
steadier than wall time on a shared machine) of N runs, and each command's ratio to its floor against its budget:
`--help` at most 1.15x `import typer`, `validate` at most 1.3x `import typer, yaml, pydantic.main`.
Bytecode is compiled first, as `pip install` does: an editable checkout run with PYTHONDONTWRITEBYTECODE
would otherwise recompile every changed module on every run and measure the compiler, not obsctl.
Usage: python benchmarks/cli_startup.py [--runs 21] [SPEC]   (default SPEC: the largest example)
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def largest_example() -> Path:
    specs = sorted(ROOT.glob("examples/*/obsctl.yaml"), key=lambda p: p.stat().st_size)
    if not specs:
        sys.exit("no examples/*/obsctl.yaml found")
    return specs[-1]


def once(cmd: list[str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err.decode(errors='replace')}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("spec", nargs="?", type=Path)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)  # always measured now
    args = ap.parse_args()
    compileall.compile_dir(ROOT / "obsctl", quiet=1)
    # The console script beside this interpreter: a version manager's shim on PATH (pyenv) adds ~80 ms of bash.
    beside = Path(sys.executable).parent / "obsctl"
    exe = str(beside) if beside.is_file() else shutil.which("obsctl")
    if exe is None:
        sys.exit("obsctl is not installed: pip install -e .")
    spec = args.spec or largest_example()
    py = sys.executable
    commands = {
        "python (bare interpreter)": [py, "-c", "pass"],
        "import typer": [py, "-c", "import typer"],
        "import typer, yaml, pydantic": [py, "-c", "import typer, yaml, pydantic.main"],
        "obsctl --help": [exe, "--help"],
        "obsctl validate": [exe, "validate", str(spec)],
    }
    budgets = {
        "obsctl --help": ("import typer", 1.15),
        "obsctl validate": ("import typer, yaml, pydantic", 1.3),
    }
    print(
        f"python {sys.version.split()[0]}, {args.runs} interleaved runs, spec "
        f"{spec.relative_to(ROOT) if spec.is_relative_to(ROOT) else spec} ({spec.stat().st_size} bytes)"
    )
    for cmd in commands.values():
        once(cmd)  # warm the OS file cache, not the interpreter
    walls: dict[str, list[float]] = {k: [] for k in commands}
    cpus: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.runs):
        for label, cmd in commands.items():
            wall, cpu = once(cmd)
            walls[label].append(wall)
            cpus[label].append(cpu)
    wall = {k: statistics.median(v) for k, v in walls.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    for label in commands:
        line = f"{label:30} wall median {wall[label]:6.1f} ms (min {min(walls[label]):6.1f})  cpu median {cpu[label]:6.1f} ms"
        if label in budgets:
            floor, budget = budgets[label]
            ratio, cpu_ratio = wall[label] / wall[floor], cpu[label] / cpu[floor]
            verdict = "within" if ratio <= budget else "OVER"
            line += f"  {ratio:.2f}x (cpu {cpu_ratio:.2f}x) {floor}: {verdict} the {budget}x budget"
        print(line)


if __name__ == "__main__":
    main()
