"""Hostile input is refused fast and small: a 60 MB spec, a 63 MB include set and a 10,000-deep list, each through
a fresh `obsctl validate`, with its wall time and peak memory (the child's max RSS).

    python benchmarks/hostile_input.py

Budget (issue: validate says everything build would): each refused in under 2 s with under 150 MB."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cases(tmp: Path) -> dict[str, Path]:
    big = tmp / "big.yaml"
    with big.open("w") as f:
        f.write("service: big\ndescription: |\n")
        line = "  " + "x" * 98 + "\n"
        for _ in range(60 * 1024 * 1024 // len(line)):
            f.write(line)
    parts = []
    for i in range(31):  # 31 includes just under the 2 MiB per-file limit: about 63 MB together
        p = tmp / f"part{i}.yaml"
        p.write_text("description: |\n" + ("  " + "y" * 98 + "\n") * (2 * 1024 * 1024 // 101 - 2))
        parts.append(p.name)
    includes = tmp / "includes.yaml"
    includes.write_text("service: many\ninclude: [" + ", ".join(parts) + "]\n")
    deep = tmp / "deep.yaml"
    deep.write_text("service: deep\nlabels: " + "[" * 10000 + "]" * 10000 + "\n")
    deeper = tmp / "deeper.yaml"  # past what libyaml's recursive composer survives
    deeper.write_text("service: deep\nlabels: " + "[" * 100_000 + "]" * 100_000 + "\n")
    return {
        "60 MB spec": big,
        "63 MB include set": includes,
        "10,000-deep list": deep,
        "100,000-deep list": deeper,
    }


def measure(spec: Path) -> tuple[float, float, int, str]:
    """Wall time, this child's own peak RSS (os.wait4: RUSAGE_CHILDREN would keep the largest child so far),
    exit code and the first line it printed."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "obsctl.cli", "validate", str(spec)], stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace").strip()
    return wall, usage.ru_maxrss / 1024, proc.returncode, text.splitlines()[0] if text else ""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in cases(Path(tmp)).items():
            wall, rss, code, first = measure(spec)
            verdict = "within" if wall < 2 and rss < 150 else "OVER"
            print(
                f"{name:20} exit {code}  {wall:5.2f} s  peak {rss:6.1f} MB  ({verdict} budget)  {first[:90]}"
            )


if __name__ == "__main__":
    main()
