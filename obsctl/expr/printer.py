"""Print a syntax tree back as expression text, in the language's own spelling (`obsctl explain`, tests).

Parentheses only where precedence needs them, so `parse(to_text(t))` gives `t` back."""

from __future__ import annotations

import json

from . import ast

_PRECEDENCE = ast.PRECEDENCE


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def _modifiers(node: ast.BinOp) -> str:
    out = " bool" if node.return_bool else ""
    m = node.matching
    if m is not None:
        out += f" {'on' if m.on else 'ignoring'} ({', '.join(m.labels)})"
        if m.group:
            out += f" group_{m.group} ({', '.join(m.include)})"
    return out


def _selector(node: ast.Ref) -> str:
    text = node.name
    if node.matchers:
        text += (
            "{"
            + ", ".join(f"{m.label}{m.op}{json.dumps(m.value, ensure_ascii=False)}" for m in node.matchers)
            + "}"
        )
    if node.window:
        text += f"[{node.window}]"
    if node.offset:
        text += f" offset {node.offset}"
    if node.at:
        text += f" @ {node.at}"
    return text


def to_text(node: ast.Node) -> str:
    """The expression text of a tree."""
    if isinstance(node, ast.Number):
        return _number(node.value)
    if isinstance(node, ast.Var):
        return f"${node.name}"
    if isinstance(node, ast.String):
        return json.dumps(node.value, ensure_ascii=False)
    if isinstance(node, ast.DurationLit):
        return node.text
    if isinstance(node, ast.Ref):
        return _selector(node)
    if isinstance(node, ast.Neg):
        inner = to_text(node.operand)
        return f"-({inner})" if isinstance(node.operand, ast.BinOp) else f"-{inner}"
    if isinstance(node, ast.BinOp):
        prec = _PRECEDENCE[node.op]
        right_assoc = node.op == "^"
        left = _side(node.left, prec + (1 if right_assoc else 0))
        right = _side(node.right, prec + (0 if right_assoc else 1))
        return f"{left} {node.op}{_modifiers(node)} {right}"
    if isinstance(node, ast.Subquery):
        inner = to_text(node.expr)
        if isinstance(node.expr, ast.BinOp | ast.Neg | ast.Ref):
            inner = (
                f"({inner})"
                if not isinstance(node.expr, ast.Ref) or node.expr.offset or node.expr.at
                else inner
            )
        text = f"{inner}[{node.range}:{node.step or ''}]"
        if node.offset:
            text += f" offset {node.offset}"
        if node.at:
            text += f" @ {node.at}"
        return text
    if isinstance(node, ast.Call):
        args = ", ".join(to_text(a) for a in node.args)
        if node.by is not None:
            return f"{node.func} {'without' if node.without else 'by'} ({', '.join(node.by)}) ({args})"
        return f"{node.func}({args})"
    raise TypeError(f"cannot print {type(node).__name__}")


def _side(node: ast.Node, min_prec: int) -> str:
    text = to_text(node)
    if isinstance(node, ast.BinOp) and _PRECEDENCE[node.op] < min_prec:
        return f"({text})"
    if isinstance(node, ast.Neg) and min_prec > 6:
        return f"({text})"
    return text
