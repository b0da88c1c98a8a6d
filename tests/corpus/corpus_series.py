"""Test helper: input series for a PromQL expression, with every label the expression names taking two or more
values (a selector's `=` value and others; a value its regex matches and one it does not), so that a compiled
rule which dropped, renamed or mismatched a label would give other alerts than the original."""

from __future__ import annotations

import random
import re

import promql_parser as pp

_CANDIDATES = [
    "500",
    "503",
    "404",
    "200",
    "Failed",
    "Pending",
    "Running",
    "true",
    "false",
    "cpu",
    "memory",
    "kube-apiserver",
    "apiserver",
    "kubelet",
    "/metrics",
    "/metrics/cadvisor",
    "node-exporter",
    "alertmanager-main",
    "prometheus-k8s",
    "monitoring",
    "kube-state-metrics",
    "read",
    "write",
    "GET",
    "LIST",
    "POST",
    "resource",
    "namespace",
    "cluster",
    "hard",
    "used",
    "worker",
    "idle",
    "user",
    "system",
    "iowait",
    "eth0",
    "veth1",
    "sda",
    "/",
    "ext4",
    "tmpfs",
    "ready",
    "a",
    "b",
]


def _walk(e, out: dict[str, dict[str, set]], sel: list) -> None:
    """Collect, per metric, the label matchers; and every label name the expression mentions."""
    if isinstance(e, pp.MatrixSelector):
        e = e.vector_selector
    if isinstance(e, pp.VectorSelector):
        labels = out.setdefault(e.name, {})
        for m in e.matchers.matchers:
            labels.setdefault(m.name, set()).add((str(m.op).rsplit(".", 1)[-1], m.value))
        sel.append(e.name)
        return
    names: list[str] = []
    if isinstance(e, pp.AggregateExpr) and e.modifier is not None:
        names += list(e.modifier.labels)
    if isinstance(e, pp.BinaryExpr) and e.modifier is not None:
        if e.modifier.matching is not None:
            names += list(e.modifier.matching.labels)
        names += list(e.modifier.group_labels or [])
    if isinstance(e, pp.Call) and e.func.name in ("label_replace", "label_join"):
        names += [
            a.val for a in e.args[1:] if isinstance(a, pp.StringLiteral) and re.fullmatch(r"\w+", a.val)
        ]
    out.setdefault("", {}).update({n: out.get("", {}).get(n, set()) for n in names})
    for child in _children(e):
        _walk(child, out, sel)


def _children(e) -> list:
    for attr in ("expr", "lhs", "rhs", "param"):
        v = getattr(e, attr, None)
        if v is not None and not isinstance(v, str | float | int):
            yield v
    if isinstance(e, pp.Call):
        yield from e.args


def _values(conds: set, rng: random.Random) -> list[str]:
    """Two or more values for one label: each `=` value, values each regex matches, and values none of the
    matchers pick (when a negative matcher or none at all allows them)."""
    eq = [v for op, v in conds if op == "Equal"]
    if eq:
        return [eq[0]] + (["other"] if len(eq) == 1 else eq[1:2])
    regexes = [v for op, v in conds if op == "Re"]
    neg = [(op, v) for op, v in conds if op in ("NotEqual", "NotRe")]
    good = []
    for cand in _CANDIDATES + [b for r in regexes for b in re.split(r"\|", re.sub(r"[()^$]", "", r))]:
        if (
            cand
            and all(re.fullmatch(r, cand) for r in regexes)
            and not any(
                (op == "NotEqual" and cand == v) or (op == "NotRe" and re.fullmatch(v, cand)) for op, v in neg
            )
        ):
            good.append(cand)
    good = list(dict.fromkeys(good))
    if regexes:
        return good[:2] + ["zz-nomatch"] if good else ["zz-nomatch", "other"]
    if neg:
        out = good[:2] + [v for _, v in neg[:1] if re.fullmatch(r"[\w./-]+", v)]
        return out if len(out) >= 2 else out + ["a", "b"][: 2 - len(out)]
    return ["a", "b"]


def series_for(expr: str, kinds: dict[str, str], seed: int = 0, steps: int = 40) -> dict[str, str]:
    """promtool input_series (series text -> values) for every metric the expression reads."""
    rng = random.Random(seed)
    per_metric: dict[str, dict[str, set]] = {}
    _walk(pp.parse(expr), per_metric, [])
    shared = per_metric.pop("", {})
    out: dict[str, str] = {}
    for metric, conds in sorted(per_metric.items()):
        labels = {k: set(v) for k, v in shared.items()}
        for k, v in conds.items():
            if k != "__name__":
                labels.setdefault(k, set()).update(v)
        values = {k: _values(v, rng) for k, v in sorted(labels.items())}
        if metric.endswith("_bucket"):
            values["le"] = ["0.5", "1", "+Inf"]
        width = max([len(v) for v in values.values()] + [2])
        for i in range(width + 1):  # one series per value, and one that mixes them
            lbls = {k: v[(i + j * (i == width)) % len(v)] for j, (k, v) in enumerate(values.items())}
            text = metric + "{" + ", ".join(f'{k}="{v}"' for k, v in lbls.items()) + "}"
            counter = kinds.get(metric) == "counter" or metric.endswith(
                ("_bucket", "_count", "_sum", "_total")
            )
            if counter:
                step = rng.choice([1, 2, 5, 10])
                pts, total = [], 0
                for _ in range(steps):
                    total += rng.choice([0, step, step * 3])
                    pts.append(str(total))
            else:
                pts = [str(rng.choice([0, 0.02, 0.5, 1, 1, 2, 3, 5, 100])) for _ in range(steps)]
            out[text] = " ".join(pts)
    return out
