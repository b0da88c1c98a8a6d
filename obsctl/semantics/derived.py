"""Derived metrics: each expression checked, and no derived metric that refers to itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..expr import ast

if TYPE_CHECKING:
    from .core import Checker


def check_derived(c: Checker) -> None:
    for name, d in c.spec.derived.items():
        c.expr(d.expr, ("derived", name, "expr"), allow_events=False)
        _self_reference(c, name, ("derived", name, "expr"))


def _self_reference(c: Checker, name: str, path: tuple) -> None:
    node = c.out.exprs.get(path)
    seen = {name}
    stack = [node] if node else []
    while stack:
        cur = stack.pop()
        for n in ast.walk(cur):
            if isinstance(n, ast.Ref) and n.name in c.spec.derived:
                if n.name in seen:
                    c.report("OBS209", "error", f"derived metric '{name}' refers to itself", path, "", n.pos)
                    return
                seen.add(n.name)
                inner = c.out.exprs.get(("derived", n.name, "expr"))
                if inner is not None:
                    stack.append(inner)
