"""Speed at scale: generated specs of N alerts (N/5 catalog metrics, N/10 derived metrics, one dashboard of N/20
panels, three severities), timed side by side in one run, each step a fresh process:

- `obsctl validate`;
- `obsctl build --target prometheus` (with its promtool checks and generated tests);
- `promtool check rules` on the rules that build wrote, the yardstick for the build.

    python benchmarks/scale.py                 # 100 and 1,000 alerts
    python benchmarks/scale.py --sizes 100 1000 10000 --runs 3

Prints the median wall time, the median per alert and the peak memory (max RSS) of each step."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SEVERITIES = ("critical", "warning", "info")


def spec(n: int) -> dict:
    metrics = {f"requests_{i}_total": {"kind": "counter", "labels": ["route"]} for i in range(max(1, n // 5))}
    names = list(metrics)
    derived = {
        f"error_ratio_{i}": f'sum(delta({names[i % len(names)]}{{route=~"5.."}})) / '
        f"max(sum(delta({names[(i + 1) % len(names)]})), 1)"
        for i in range(max(1, n // 10))
    }
    dnames = list(derived)
    alerts = {}
    for i in range(n):
        alerts[f"Alert{i}"] = {
            "severity": SEVERITIES[i % 3],
            "when": f"{dnames[i % len(dnames)]} > 0.{(i % 9) + 1}",
            "for": "5m",
            "summary": f"alert {i}: {{{{ $value | humanizePercentage }}}}",
        }
    panels = [{"title": f"ratio {i}", "expr": dnames[i % len(dnames)]} for i in range(max(1, n // 20))]
    return {
        "service": "scale",
        "sources": {"metrics": {"type": "prometheus", "selector": {"job": "scale"}}},
        "metrics": metrics,
        "derived": derived,
        "dashboards": {"overview": {"title": "scale", "panels": panels}},
        "alerts": alerts,
        "routing": {
            "receivers": {"team": {"webhook": {"url": "https://hooks.example.org/team"}}},
            "severities": {s: ["team"] for s in SEVERITIES},
        },
    }


def run(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak MB) of one fresh process; the peak is that child's own max RSS (os.wait4)."""
    import os

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.decode(errors='replace')[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    obsctl = [sys.executable, "-m", "obsctl.cli"]
    promtool = shutil.which("promtool")
    print(f"{'alerts':>7} {'step':26} {'median s':>9} {'ms/alert':>9} {'peak MB':>8}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "spec.yaml").write_text(yaml.safe_dump(spec(n), sort_keys=False))
            steps = {
                "validate": obsctl + ["validate", "spec.yaml"],
                "build --target prometheus": obsctl
                + ["build", "spec.yaml", "-t", "prometheus", "--out", "out"],
            }
            if promtool:
                steps["promtool check rules"] = [promtool, "check", "rules", "out/prometheus/scale.rules.yml"]
            times: dict[str, list[float]] = {k: [] for k in steps}
            peaks: dict[str, float] = dict.fromkeys(steps, 0.0)
            for _ in range(args.runs):
                for name, cmd in steps.items():  # interleaved: each run times every step once
                    wall, peak = run(cmd, root)
                    times[name].append(wall)
                    peaks[name] = max(peaks[name], peak)
            for name in steps:
                med = statistics.median(times[name])
                print(f"{n:>7} {name:26} {med:9.2f} {med / n * 1000:9.2f} {peaks[name]:8.0f}")


if __name__ == "__main__":
    main()
