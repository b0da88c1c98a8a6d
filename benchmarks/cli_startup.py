#!/usr/bin/env python3
"""Cold-start timings of the commands people run on every commit: `obsctl --help` and `obsctl validate`.

Each run is a fresh process (what a pre-commit hook pays). Prints the median and the spread of N runs.
Usage: python benchmarks/cli_startup.py [--runs 21] [SPEC]   (default SPEC: the largest example)
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec", nargs="?", type=Path)
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    # The console script beside this interpreter: a version manager's shim on PATH (pyenv) adds ~80 ms of bash.
    beside = Path(sys.executable).parent / "obsctl"
    exe = str(beside) if beside.is_file() else shutil.which("obsctl")
    if exe is None:
        sys.exit("obsctl is not installed: pip install -e .")
    spec = args.spec or largest_example()
    print(f"python {sys.version.split()[0]}, {args.runs} runs each, spec {spec.relative_to(ROOT) if spec.is_relative_to(ROOT) else spec} "
          f"({spec.stat().st_size} bytes)")
    for label, cmd, budget in (("obsctl --help", [exe, "--help"], 100),
                               ("obsctl validate", [exe, "validate", str(spec)], 150)):
        s = time_command(cmd, args.runs)
        med = statistics.median(s)
        verdict = "within" if med <= budget else "OVER"
        print(f"{label:18} median {med:6.1f} ms  min {min(s):6.1f}  max {max(s):6.1f}  "
              f"({verdict} the {budget} ms budget)")


if __name__ == "__main__":
    main()
