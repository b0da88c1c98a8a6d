#!/usr/bin/env python3
"""Where a cold `obsctl validate` spends its time, stage by stage, in fresh processes.

Each run is a new interpreter that performs the stages of `validate` in order and times each one, so an
import counts once, where it first happens. Prints the median of N runs per stage and their running total.
Add the bare interpreter's start (`cli_startup.py --floor`) for the wall time of a run.
Usage: python benchmarks/validate_breakdown.py [--runs 21] [SPEC]   (default SPEC: the largest example)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(spec: Path) -> None:
    """One cold run: the stages of `pipeline.check(spec, every_env=True, targets=True)`, timed one by one."""
    import os

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as the obsctl command sets it (cli.main)
    times: dict[str, float] = {}
    last = time.perf_counter()

    def mark(stage: str) -> None:
        nonlocal last
        now = time.perf_counter()
        times[stage] = times.get(stage, 0.0) + (now - last) * 1000
        last = now

    import typer  # noqa: F401

    mark("import typer (the CLI)")
    import yaml  # noqa: F401

    mark("import yaml")
    from obsctl.expr import lalr_parser  # noqa: F401

    mark("import the generated expression parser")
    import pydantic.main  # noqa: F401

    mark("import pydantic")
    from obsctl import loader, model, pipeline, semantics

    mark("obsctl modules, model classes")
    model.Spec.model_rebuild(force=True)
    mark("build the Spec validator")
    import gc

    gc.disable()  # as pipeline.check does (paused_gc) while a spec is read and checked
    raw, smap = loader.read_raw(spec)
    mark("read YAML with positions")
    envs = [None, *sorted(raw.get("environments") or {})]
    for env in envs:
        env_map = loader.SourceMap(values=dict(smap.values), keys=dict(smap.keys), lines=smap.lines)
        spec_model = loader.validate_model(loader.apply_env(raw, env_map, env), env_map)
        mark(f"merge environments, validate ({len(envs)}x)")
        analysis = semantics.analyse(spec_model, env_map)
        mark(f"expressions, semantic checks ({len(envs)}x)")
        if not any(d.level == "error" for d in analysis.diagnostics):
            pipeline._build_checks(spec, env, spec_model, analysis, env_map)
        mark(f"the targets' builds, rendering nothing ({len(envs)}x)")
    print(json.dumps(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec", nargs="?", type=Path)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    spec = args.spec or max(ROOT.glob("examples/*/obsctl.yaml"), key=lambda p: p.stat().st_size)
    if args.child:
        child(spec)
        return
    import compileall

    compileall.compile_dir(ROOT / "obsctl", quiet=1)  # as an install would; see cli_startup.py
    runs = []
    for _ in range(args.runs + 1):  # the first run warms the OS file cache
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(spec)], capture_output=True, text=True, check=True
        ).stdout
        runs.append(json.loads(out))
    runs = runs[1:]
    print(f"python {sys.version.split()[0]}, {args.runs} runs, spec {spec}")
    total = 0.0
    for stage in runs[0]:
        med = statistics.median(r[stage] for r in runs)
        total += med
        print(f"{stage:44} {med:6.1f} ms   running total {total:6.1f} ms")


if __name__ == "__main__":
    main()
