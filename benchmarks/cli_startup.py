#!/usr/bin/env python3
"""Cold-start timings of the commands people run on every commit: `obsctl --help` and `obsctl validate`.

Each run is a fresh process (what a pre-commit hook pays). Prints the median and the spread of N runs.
Bytecode is compiled first, as `pip install` does: an editable checkout run with PYTHONDONTWRITEBYTECODE
would otherwise recompile every changed module on every run and measure the compiler, not obsctl.
`--floor` also times what obsctl cannot avoid: the bare interpreter and the imports of its required libraries.
Usage: python benchmarks/cli_startup.py [--runs 21] [--floor] [SPEC]   (default SPEC: the largest example)
"""

from __future__ import annotations

import argparse
import compileall
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


def time_command(cmd: list[str], runs: int) -> list[float]:
    subprocess.run(cmd, capture_output=True, check=False)  # warm the OS file cache, not the interpreter
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, check=False)
        samples.append((time.perf_counter() - start) * 1000)
        if proc.returncode not in (0,):
            sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.decode()}")
    return samples


# Cumulative imports: each line adds one required library to the previous ones.
FLOOR = (
    ("python (bare interpreter)", "pass"),
    ("+ import typer", "import typer"),
    ("+ import yaml", "import typer, yaml"),
    ("+ import pydantic", "import typer, yaml, pydantic.main"),
)


def report(label: str, samples: list[float], budget: float | None = None) -> None:
    med = statistics.median(samples)
    verdict = "" if budget is None else f"  ({'within' if med <= budget else 'OVER'} the {budget} ms budget)"
    print(f"{label:26} median {med:6.1f} ms  min {min(samples):6.1f}  max {max(samples):6.1f}{verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec", nargs="?", type=Path)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--floor", action="store_true", help="also time the interpreter and the required imports")
    args = ap.parse_args()
    compileall.compile_dir(ROOT / "obsctl", quiet=1)
    # The console script beside this interpreter: a version manager's shim on PATH (pyenv) adds ~80 ms of bash.
    beside = Path(sys.executable).parent / "obsctl"
    exe = str(beside) if beside.is_file() else shutil.which("obsctl")
    if exe is None:
        sys.exit("obsctl is not installed: pip install -e .")
    spec = args.spec or largest_example()
    print(
        f"python {sys.version.split()[0]}, {args.runs} runs each, spec {spec.relative_to(ROOT) if spec.is_relative_to(ROOT) else spec} "
        f"({spec.stat().st_size} bytes)"
    )
    for label, cmd, budget in (
        ("obsctl --help", [exe, "--help"], 100),
        ("obsctl validate", [exe, "validate", str(spec)], 150),
    ):
        report(label, time_command(cmd, args.runs), budget)
    if args.floor:
        print("floor, python -c:")
        for label, code in FLOOR:
            report(label, time_command([sys.executable, "-c", code], args.runs))


if __name__ == "__main__":
    main()
