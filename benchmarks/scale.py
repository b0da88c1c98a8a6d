"""Speed at scale: generated specs of N alerts (N/5 catalog metrics, N/10 derived metrics, one dashboard of N/20
panels, three severities), timed side by side in one run, each step a fresh process:

- `obsctl validate` (it prints one OBS302 warning per alert; output goes to a pipe);
- `obsctl build --target prometheus` (with its promtool checks and generated tests), and `--target all`;
- `promtool check rules` on the rules that build wrote, the yardstick for the build;
- `obsctl test` (build, then promtool and amtool on the generated tests).

    python benchmarks/scale.py                        # 100 and 1,000 alerts, 3 runs
    python benchmarks/scale.py --large                # and 10,000 (minutes)
    python benchmarks/scale.py --sizes 1000 --steps validate test --runs 1

Prints per step the median wall time, the median per alert, the median CPU time (user + system of the process
and the tools it waited for: steadier than wall time on a shared machine), the peak memory of the obsctl process
(max RSS) and the peak of the memory of it and its workers together (summed PSS, sampled every 20 ms)."""

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
    """The spec of `n` alerts. Its matcher `route=~"5.*"` is one every target can say (Datadog has no '.')."""
    metrics = {f"requests_{i}_total": {"kind": "counter", "labels": ["route"]} for i in range(max(1, n // 5))}
    names = list(metrics)
    derived = {
        f"error_ratio_{i}": f'sum(delta({names[i % len(names)]}{{route=~"5.*"}})) / '
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


def run(cmd: list[str], cwd: Path) -> tuple[float, float, float, float]:
    """(wall seconds, CPU seconds, peak MB, peak total MB) of one fresh process. CPU is user + system of the process and of the
    children it waited for (promtool, amtool); the peak is the process's own max RSS (os.wait4)."""
    import os
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    total = _TreeMemory(proc.pid)
    out = proc.stdout.read() if proc.stdout else b""
    total.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.decode(errors='replace')[-3000:]}")
    # RUSAGE_CHILDREN counts the process and, once it has waited for them, its own children too
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, usage.ru_maxrss / 1024, total.peak_mb


class _TreeMemory:
    """The peak of the summed proportional set size (PSS) of a process and its descendants (build's test
    generation workers), sampled every 20 ms from /proc: max RSS counts one process only, and workers share
    the parent's pages."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.peak_mb, self._done = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        pids, i = [self.pid], 0
        while i < len(pids):
            try:
                with open(f"/proc/{pids[i]}/task/{pids[i]}/children", encoding="ascii") as f:
                    pids += [int(c) for c in f.read().split()]
            except OSError:
                pass
            i += 1
        return pids

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            kb = 0
            for pid in self._tree():
                try:
                    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
                        kb += sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))
                except (OSError, ValueError, IndexError):
                    pass
            self.peak_mb = max(self.peak_mb, kb / 1024)


STEPS = ("validate", "build-prometheus", "promtool", "build-all", "test")


def steps_for(obsctl: list[str], promtool: str | None, wanted: list[str]) -> dict[str, list[str]]:
    steps = {
        "validate": ("validate", obsctl + ["validate", "spec.yaml"]),
        "build-prometheus": (
            "build --target prometheus",
            obsctl + ["build", "spec.yaml", "-t", "prometheus", "--out", "out"],
        ),
        "promtool": ("promtool check rules", [promtool, "check", "rules", "out/prometheus/scale.rules.yml"]),
        "build-all": ("build --target all", obsctl + ["build", "spec.yaml", "-t", "all", "--out", "out-all"]),
        "test": ("obsctl test", obsctl + ["test", "spec.yaml"]),
    }
    if promtool is None:
        wanted = [w for w in wanted if w != "promtool"]
    if "promtool" in wanted and "build-prometheus" not in wanted:
        wanted = ["build-prometheus", *wanted]  # it checks what that build wrote
    return {steps[k][0]: steps[k][1] for k in STEPS if k in wanted}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--large", action="store_true", help="add 10,000 alerts (minutes per step)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    args = ap.parse_args()
    sizes = [*args.sizes, *([10000] if args.large and 10000 not in args.sizes else [])]
    obsctl = [sys.executable, "-m", "obsctl.cli"]
    steps_cmds = steps_for(obsctl, shutil.which("promtool"), args.steps)
    print(
        f"{'alerts':>7} {'step':26} {'median s':>9} {'ms/alert':>9} {'cpu s':>7} {'peak MB':>8} {'total MB':>9}"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "spec.yaml").write_text(yaml.safe_dump(spec(n), sort_keys=False))
            walls: dict[str, list[float]] = {k: [] for k in steps_cmds}
            cpus: dict[str, list[float]] = {k: [] for k in steps_cmds}
            peaks: dict[str, float] = dict.fromkeys(steps_cmds, 0.0)
            totals: dict[str, float] = dict.fromkeys(steps_cmds, 0.0)
            for _ in range(args.runs):
                for name, cmd in steps_cmds.items():  # interleaved: each run times every step once
                    wall, cpu, peak, total = run(cmd, root)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
                    peaks[name] = max(peaks[name], peak)
                    totals[name] = max(totals[name], total)
            for name in steps_cmds:
                med = statistics.median(walls[name])
                print(
                    f"{n:>7} {name:26} {med:9.2f} {med / n * 1000:9.2f} "
                    f"{statistics.median(cpus[name]):7.2f} {peaks[name]:8.0f} {totals[name]:9.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
