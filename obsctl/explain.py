"""`obsctl explain SPEC [NAME]`: what obsctl made of one alert, derived metric or panel, before any output file is
read: the parsed expression (as a tree), the labels its result keeps, and its compiled form for every target
(PromQL, LogQL, Datadog), or the reason a target cannot say it.

Without NAME, every item with an expression is listed. Labels come from the analysis's label inference
(obsctl.semantics.labels), as the checks see them."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .compile.datadog import num as dd_num
from .compile.promql import CompileError
from .diagnostics import Diagnostic
from .expr import ast
from .expr.printer import to_text

_TARGETS = ("promql", "logql", "datadog")


@dataclass
class Part:
    """One expression of an item (an alert's `when` and `only_if`, a panel's queries)."""

    field: str
    text: str
    tree: list[str]
    labels: str
    compiled: dict[str, str] = field(default_factory=dict)  # target -> query, or "cannot: <reason>"


@dataclass
class Item:
    kind: str  # alert | derived | panel
    name: str
    parts: list[Part] = field(default_factory=list)


def tree_lines(node: ast.Node, depth: int = 0) -> list[str]:
    """The syntax tree, one node a line, children indented."""
    pad = "  " * depth
    if isinstance(node, ast.BinOp):
        m = node.matching
        extra = " bool" if node.return_bool else ""
        if m is not None:
            extra += f" {'on' if m.on else 'ignoring'}({', '.join(m.labels)})"
            extra += f" group_{m.group}({', '.join(m.include)})" if m.group else ""
        head = f"{node.op}{extra}"
    elif isinstance(node, ast.Call):
        grouping = (
            f" {'without' if node.without else 'by'} ({', '.join(node.by)})" if node.by is not None else ""
        )
        head = f"{node.func}(){grouping}"
    elif isinstance(node, ast.Neg):
        head = "-"
    elif isinstance(node, ast.Subquery):
        head = f"subquery [{node.range}:{node.step or ''}]" + (
            f" offset {node.offset}" if node.offset else ""
        )
    else:
        head = to_text(node)
    return [pad + head] + [line for c in ast.children(node) for line in tree_lines(c, depth + 1)]


def _labels(analysis: object, path: tuple) -> str:
    inferred = analysis.labels.get(path)
    if inferred is None:
        return "not inferred"
    root = inferred.root
    if root.kind == "instant" and root.labels is not None and not root.labels:
        return "none (one series)"
    return root.text()


def _compiled(plan: object, node: ast.Node, window: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    events = plan.uses_events(node)
    for target in _TARGETS:
        try:
            if target == "promql":
                if events:
                    raise CompileError("log events are queried in LogQL")
                out[target] = plan.promql().compile(node, window)
            elif target == "logql":
                if not events:
                    continue
                out[target] = plan.logql().compile(node, window)
            else:
                out[target] = _datadog(plan, node, window, events)
        except CompileError as e:
            out[target] = f"cannot: {e}"
    return out


def _datadog(plan: object, node: ast.Node, window: str | None, events: bool) -> str:
    """A condition `query <op> number` as a Datadog monitor states it: the query, then the threshold."""
    dd = plan.datadog()
    tail = ""
    if (
        isinstance(node, ast.BinOp)
        and node.op in ast.COMPARISONS
        and node.matching is None
        and not node.return_bool
        and isinstance(node.right, ast.Number | ast.Var)
    ):
        value = (
            node.right.value if isinstance(node.right, ast.Number) else plan.spec.vars.get(node.right.name)
        )
        tail = f" {node.op} {dd_num(float(value)) if isinstance(value, int | float) else to_text(node.right)}"
        node = node.left
    formula = dd.formula(node, window, events=events)
    if events:  # log counts are named queries of a formula, not inlined into one metric query
        text, queries = formula.named({})
        return text + tail + "".join(f"; {n} = {leaf.query}" for n, leaf in queries)
    return formula.inline() + tail


def items(plan: object, analysis: object) -> list[Item]:
    """Every alert, derived metric and panel with an expression, in spec order."""
    spec = plan.spec
    found: dict[tuple[str, str], Item] = {}
    for path, node in analysis.exprs.items():
        section = path[0]
        if section == "alerts":
            key, window = ("alert", path[1]), None
        elif section == "derived":
            key, window = ("derived", path[1]), spec.derived[path[1]].window
        elif section == "dashboards":
            key, window = ("panel", _panel_name(spec, path)), None
        else:
            continue
        item = found.setdefault(key, Item(*key))
        item.parts.append(
            Part(
                ".".join(str(p) for p in path),
                to_text(node),
                tree_lines(node),
                _labels(analysis, path),
                _compiled(plan, node, window),
            )
        )
    return list(found.values())


def _panel_name(spec: object, path: tuple) -> str:
    """`<dashboard>/<panel title>` for the panel holding a `dashboards...expr` path."""
    panel = spec.dashboards[path[1]]
    node: object = panel
    title = path[1]
    for step in path[2:]:
        if step in ("expr", "queries") or isinstance(node, dict):
            break
        node = getattr(node, step) if isinstance(step, str) else node[step]
        title = getattr(node, "title", None) or title
    return f"{path[1]}/{title}"


def run_explain(spec_path: Path, name: str | None, env: str | None, fmt: str) -> int:
    from .pipeline import check
    from .plan import build_plan
    from .report import printable, render_human

    result = check(spec_path, env)
    if not result.ok or not result.checked:
        render_human(result.diagnostics, result.smap)
        return 1
    c = result.checked[0]
    plan = build_plan(c.spec, c.analysis, c.smap, spec_path, env)
    every = items(plan, c.analysis)
    chosen = every if name is None else [i for i in every if name in (i.name, i.name.split("/")[-1])]
    if name is None and not chosen and fmt != "json":
        print("no alert, derived metric or panel with an expression")
        return 0
    if name is not None and not chosen:
        known = ", ".join(sorted({i.name for i in every})) or "none"
        render_human(
            [
                Diagnostic(
                    "OBS260",
                    "error",
                    f"no alert, derived metric or panel named '{printable(name)}'",
                    None,
                    "",
                    f"items with an expression: {known}",
                )
            ],
            None,
        )
        return 1
    if fmt == "json":
        json.dump([asdict(i) for i in chosen], sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    for item in chosen:
        print(f"{item.kind} {printable(item.name)}")
        for part in item.parts:
            print(f"  {part.field}: {printable(part.text)}")
            if name is None:
                continue
            print("    parsed:")
            for line in part.tree:
                print(f"      {printable(line)}")
            print(f"    labels: {part.labels}")
            for target, text in part.compiled.items():
                print(f"    {target}: {printable(text)}")
    return 0
