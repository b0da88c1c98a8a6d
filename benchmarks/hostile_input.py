"""Hostile input is refused fast and small: a 60 MB spec, a 63 MB include set and a 10,000-deep list, each through
a fresh `obsctl validate`, with its wall time and peak memory (the child's max RSS).

    python benchmarks/hostile_input.py

Budget (issue: validate says everything build would): each refused in under 2 s with under 150 MB."""

from __future__ import annotations

import resource
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
    return {"60 MB spec": big, "63 MB include set": includes, "10,000-deep list": deep}


def measure(spec: Path) -> tuple[float, float, int, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "obsctl.cli", "validate", str(spec)], capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    rss_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    first = (
        (proc.stderr or proc.stdout).strip().splitlines()[0] if (proc.stderr or proc.stdout).strip() else ""
    )
    return wall, rss_mb, proc.returncode, first


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
