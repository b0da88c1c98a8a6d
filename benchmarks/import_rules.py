#!/usr/bin/env python3
"""`obsctl import prometheus` on kube-prometheus' 234 rules and on larger files made from them (copies with
renamed alerts and records), timed in-process: reading, deciding, and the check that builds the spec and
compares every rule with its source. Import time should grow linearly: the per-rule time stays flat.

Two stages are timed apart: "translate" (read the rules, infer the catalog, decide and write every rule) and
"import" (the whole command: translate, then validate, plan and compile the spec and compare each rule with its
source). A spec over the 2 MiB obsctl reads in one file (about 3,000 kube-prometheus rules) is split into the main
spec and include files (`<stem>.d/part-N.yaml`), so every size imports whole; the "files" column says into how
many files.

Usage: python benchmarks/import_rules.py [--corpus DIR] [--sizes 234,1000,2500,5000] [--runs 3]
(default DIR: tests/corpus/kube-prometheus, or OBSCTL_CORPUS)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def corpus_dir(given: str | None) -> Path:
    candidates = [Path(given)] if given else []
    if os.environ.get("OBSCTL_CORPUS"):
        candidates.append(Path(os.environ["OBSCTL_CORPUS"]))
    candidates += [
        ROOT / "tests/corpus/kube-prometheus",
        ROOT.parent / "shared/corpus/kube-prometheus",
        ROOT.parent.parent / "shared/corpus/kube-prometheus",
    ]
    for c in candidates:
        if list(c.glob("*-prometheusRule.yaml")):
            return c
    sys.exit("kube-prometheus corpus not found: give --corpus DIR")


def source_rules(corpus: Path) -> list[dict]:
    groups = []
    for p in sorted(corpus.glob("*-prometheusRule.yaml")):
        groups += yaml.safe_load(p.read_text())["spec"]["groups"]
    return groups


def scaled(groups: list[dict], size: int) -> dict:
    """A rule file of `size` rules: the corpus, then copies whose alert and record names carry the copy's number."""
    out, n, copy = [], 0, 0
    while n < size:
        for g in groups:
            rules = []
            for r in g["rules"]:
                if n >= size:
                    break
                r = dict(r)
                if copy:
                    if "alert" in r:
                        r["alert"] = f"{r['alert']}Copy{copy}"
                    else:
                        r["record"] = f"{r['record']}_copy{copy}"
                rules.append(r)
                n += 1
            if rules:
                out.append({"name": f"{g['name']}-{copy}", "rules": rules})
        copy += 1
    return {"groups": out}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus")
    ap.add_argument("--sizes", default="234,1000,2500,5000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from obsctl.importers.prometheus import build_spec, import_rules, read_rules
    from obsctl.importers.report import ImportFailure, ImportReport
    from obsctl.importers.specfile import SpecDoc, split_files

    groups = source_rules(corpus_dir(args.corpus))
    print(
        f"{'rules':>6} {'translate s':>12} {'ms/rule':>8} {'import s':>9} {'ms/rule':>8} {'files':>6}"
        f"   (median of {args.runs})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"rules-{size}.yml"
            path.write_text(yaml.safe_dump(scaled(groups, size), sort_keys=False))
            translate, full = [], []
            failure = ""
            files = 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                report = ImportReport("prometheus")
                SpecDoc(build_spec(read_rules([path], report), [path], "bench", report, {}).spec).text()
                translate.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                try:
                    doc, _ = import_rules([path], "bench")
                    files = len(split_files(doc))
                    full.append(time.perf_counter() - t0)
                except ImportFailure as e:
                    failure = f"{e.diagnostic.code}: {e.diagnostic.message}"
            t = statistics.median(translate)
            line = f"{size:>6} {t:>12.2f} {t / size * 1000:>8.2f}"
            if full:
                f = statistics.median(full)
                line += f" {f:>9.2f} {f / size * 1000:>8.2f} {files:>6}"
            else:
                line += f"   not imported: {failure}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
