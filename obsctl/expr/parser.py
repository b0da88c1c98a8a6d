"""Parse expression text into the syntax tree with a real grammar (lark, LALR), never with regexes."""

from __future__ import annotations

import functools
import math
import re

from . import ast


class ExprSyntaxError(ValueError):
    def __init__(self, message: str, line: int, column: int, hint: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.hint = hint


@functools.cache
def _parser():
    # The LALR tables are generated ahead of time (scripts/gen_expr_parser.py) and shipped as Python source:
    # nothing is built, cached or unpickled at run time, and lark itself is not imported.
    from .lalr_parser import Lark_StandAlone

    # The transformer runs inside the LALR parser: syntax trees come out directly, with no lark tree between.
    return Lark_StandAlone(transformer=_transformer())


_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_HEX = frozenset("0123456789abcdefABCDEF")
_ESCAPE_HINT = (
    "strings take PromQL's (Go's) escapes: \\n \\t \\\\ \\\" \\xHH \\uHHHH \\UHHHHHHHH \\ooo; "
    "write \\\\ for a backslash"
)


def unquote(literal: str) -> str:
    """The value of a quoted string literal ("..." or '...') under Go's strconv.Unquote rules, as PromQL reads it.

    \\x and octal escapes are bytes and \\u/\\U are code points, so the result must be valid UTF-8; anything
    Go rejects (an unknown escape such as \\8, a short \\x, a surrogate, a raw newline) raises ValueError."""
    quote, body = literal[0], literal[1:-1]
    if quote == "`":  # a raw string, as in Go and PromQL: no escapes at all
        return body
    if "\\" not in body and "\n" not in body:
        return body
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\n":
            raise ValueError("a string cannot span lines (write \\n for a newline)")
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = body[i + 1] if i + 1 < len(body) else ""
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == quote:
            out += e.encode()
            i += 2
        elif e in ("x", "u", "U"):
            n = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 2 : i + 2 + n]
            if len(digits) < n or not _HEX.issuperset(digits):
                raise ValueError(f"'\\{e}' needs {n} hex digits in a string")
            value = int(digits, 16)
            if e == "x":
                out.append(value)
            elif value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise ValueError(f"'\\{e}{digits}' is not a valid Unicode code point")
            else:
                out += chr(value).encode()
            i += 2 + n
        elif e and e in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) < 3 or not set(digits) <= set("01234567") or int(digits, 8) > 255:
                raise ValueError(f"'\\{digits}' is not an octal escape (three digits, at most \\377)")
            out.append(int(digits, 8))
            i += 4
        elif e in ("'", '"'):
            raise ValueError(f"'\\{e}' is not an escape inside {quote}...{quote} (write {e} as it is)")
        else:
            raise ValueError(f"unknown escape sequence '\\{e}' in a string")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(
            "the string's \\x or octal escapes are not valid UTF-8 (write \\u00e9 for é)"
        ) from None


def _unquote(tok) -> str:
    try:
        return unquote(str(tok))
    except ValueError as e:
        # raised inside the parser's callbacks, it reaches the caller as it is, with file:line:col.
        raise ExprSyntaxError(str(e), tok.line, tok.column, _ESCAPE_HINT) from None


_AGGREGATION_KEYWORDS = ast.AGGREGATIONS


def _func(tok) -> str:
    name = str(tok)
    return name.lower() if name.lower() in _AGGREGATION_KEYWORDS else name


def _op(tok) -> str:
    return str(tok).lower()  # `AND`, `Or`, `UNLESS`, `ATAN2` are the same operators


@functools.cache
def _transformer():
    from .lalr_parser import Transformer

    # Positions come from tokens (lark keeps line and column on each), so no tree-wide position pass is needed.
    class ToAst(Transformer):
        def number(self, items):
            tok = items[0]
            value = float(tok)
            if not math.isfinite(value):  # 1e999: no backend can write it, and JSON has no Infinity
                raise ExprSyntaxError(
                    f"the number {tok} is out of range",
                    tok.line,
                    tok.column,
                    "numbers must be finite (at most about 1.8e308)",
                )
            return ast.Number(value, pos=ast.Pos(tok.line, tok.column))

        def var(self, items):
            return ast.Var(str(items[0])[1:], pos=ast.Pos(items[0].line, items[0].column))

        def string(self, items):
            return ast.String(_unquote(items[0]), pos=ast.Pos(items[0].line, items[0].column))

        def duration(self, items):
            return ast.DurationLit(str(items[0]), pos=ast.Pos(items[0].line, items[0].column))

        def neg(self, items):
            minus, operand = items
            return ast.Neg(operand, pos=ast.Pos(minus.line, minus.column))

        def pos(self, items):
            return items[1]  # unary plus changes nothing

        def binop(self, items):
            left, op, matching, right = items
            return ast.BinOp(_op(op), left, right, matching, pos=ast.Pos(op.line, op.column))

        def cmpop(self, items):
            left, op, return_bool, matching, right = items
            return ast.BinOp(
                str(op), left, right, matching, return_bool is not None, pos=ast.Pos(op.line, op.column)
            )

        def labels(self, items):
            return [str(n) for n in items if n is not None]

        def group(self, items):
            side, labels = items
            return (str(side).lower().removeprefix("group_"), labels or [])

        def modifier(self, items):
            kw, labels, group = items
            side, include = group if group else (None, [])
            return ast.Matching(str(kw).lower() == "on", labels or [], side, include)

        def subrange(self, items):
            return (str(items[0]), str(items[1]) if items[1] is not None else None)

        def mods(self, items):
            seen: dict[str, str] = {}
            for kind, value, tok in items:
                if kind in seen:  # PromQL takes one of each
                    raise ExprSyntaxError(
                        f"a second '{'@' if kind == 'at' else kind}' on one selector",
                        tok.line,
                        tok.column,
                        "give one offset and at most one '@'",
                    )
                seen[kind] = value
            return seen.get("offset"), seen.get("at")

        def at(self, items):
            kw, tok = items[0], items[1]
            if tok.type == "NAME" and str(tok) not in ("start", "end"):
                raise ExprSyntaxError(
                    f"'@ {tok}()': '@' takes a Unix time, start() or end()",
                    tok.line,
                    tok.column,
                    "e.g. x @ 1700000000 or x @ end()",
                )
            return ("at", f"{tok}()" if tok.type == "NAME" else str(tok), kw)

        def subquery(self, items):
            inner, (rng, step), (offset, at) = items
            return ast.Subquery(inner, rng, step, offset, at, pos=inner.pos)

        def args(self, items):
            return list(items)

        def grouping(self, items):
            kw, *names = items
            return (str(kw).lower() == "without", [str(n) for n in names if n is not None])

        def call(self, items):
            name, args, grouping = items
            without, by = grouping if grouping else (False, None)
            return ast.Call(_func(name), args or [], by, without, pos=ast.Pos(name.line, name.column))

        def agg_prefix(self, items):
            name, grouping, args = items
            without, by = grouping
            return ast.Call(_func(name), args or [], by, without, pos=ast.Pos(name.line, name.column))

        def matcher(self, items):
            label, op, value = items
            return ast.Matcher(str(label), str(op), _unquote(value))

        def matchers(self, items):
            return [m for m in items if m is not None]

        def range(self, items):
            return items[0] if isinstance(items[0], tuple) else str(items[0])

        def offset(self, items):
            return ("offset", str(items[1]), items[0])

        def selector(self, items):
            name, matchers, window, (offset, at) = items
            pos = ast.Pos(name.line, name.column)
            if isinstance(window, tuple):  # `x[1h:5m]`: a subquery of the selector itself
                ref = ast.Ref(str(name), matchers or [], pos=pos)
                return ast.Subquery(ref, window[0], window[1], offset, at, pos=pos)
            return ast.Ref(str(name), matchers or [], window, offset, at, pos=pos)

    return ToAst()


def parse(text: str) -> ast.Node:
    """Parse an expression; raises ExprSyntaxError with a 1-based line and column.

    Trees are cached by text (a spec's environments repeat most expressions); callers must not mutate them."""
    return _parse_cached(text)


# Unbounded: a spec is bounded (yamlsource.MAX_NODES), and a bound below its distinct expressions (4,096 here
# once) made every later check of a 10,000-alert spec parse its expressions again.
@functools.cache
def _parse_cached(text: str) -> ast.Node:
    if not isinstance(text, str) or not text.strip():
        raise ExprSyntaxError("the expression is empty", 1, 1)
    simple = _simple_condition(text)
    if simple is not None:
        return simple
    from .lalr_parser import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    # lark counts lines by "\n" alone; str.splitlines() would also split at U+2028, U+0085 and the like.
    lines = text.split("\n")
    try:
        tree = _parser().parse(text)
    except UnexpectedEOF as e:
        expected = _expected(e.expected)
        raise ExprSyntaxError(
            f"the expression ends too early{expected}",
            len(lines),
            len(lines[-1]) + 1,
            "check for an unclosed '(' or a missing operand",
        ) from None
    except UnexpectedToken as e:
        if e.token.type == "$END":
            raise ExprSyntaxError(
                f"the expression ends too early{_expected(e.expected)}",
                len(lines),
                len(lines[-1]) + 1,
                "check for an unclosed '(' or a missing operand",
            ) from None
        raise ExprSyntaxError(
            f"unexpected '{e.token}'{_expected(e.expected)}", e.line, e.column, _hint_for(str(e.token))
        ) from None
    except UnexpectedCharacters as e:
        ch = e.char
        shown = ch if ch.isprintable() else f"U+{ord(ch):04X}"
        raise ExprSyntaxError(f"unexpected character '{shown}'", e.line, e.column, _hint_for(ch)) from None
    except UnexpectedInput as e:  # pragma: no cover - other lark errors
        raise ExprSyntaxError(str(e), getattr(e, "line", 1), getattr(e, "column", 1)) from None
    _check_depth(tree)
    return tree


# `name > 0.5` and `name >= $max` on one line: the most common alert condition (a derived metric against a
# threshold). A pure-Python LALR parse costs about 50 us; this match a few, and it builds the very tree, positions
# included, that the grammar would (tests/core/test_expr_parser_generated.py checks both ways). Names that are
# keywords somewhere in the grammar, and anything else, take the parser.
_SIMPLE_CONDITION = re.compile(
    r"([ \t]*)([A-Za-z_][A-Za-z0-9_:.]*)([ \t]*)(>=|<=|==|!=|>|<)([ \t]*)"
    r"(?:([0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?)|(\$[A-Za-z_][A-Za-z0-9_]*))[ \t]*"
)
_KEYWORDS = frozenset(
    "or and unless by without offset bool on ignoring group_left group_right atan2 start end".split()
)


def _simple_condition(text: str) -> ast.Node | None:
    """The tree of `text` when it is `NAME CMP NUMBER` or `NAME CMP $VAR` on one line, else None."""
    m = _SIMPLE_CONDITION.fullmatch(text)
    if m is None or m[2].lower() in _KEYWORDS:
        return None
    lead, name, gap1, op, gap2, number, var = m.groups()
    name_col = len(lead) + 1
    op_col = name_col + len(name) + len(gap1)
    right_col = op_col + len(op) + len(gap2)
    if number is not None:
        value = float(number)
        if not math.isfinite(value):
            return None  # the parser says why
        right: ast.Node = ast.Number(value, pos=ast.Pos(1, right_col))
    else:
        right = ast.Var(var[1:], pos=ast.Pos(1, right_col))
    left = ast.Ref(name, [], None, None, None, pos=ast.Pos(1, name_col))
    return ast.BinOp(op, left, right, None, False, pos=ast.Pos(1, op_col))


MAX_DEPTH = 100


def _check_depth(tree: ast.Node) -> None:
    """Refuse trees nested deeper than MAX_DEPTH: every compiler walks trees recursively, and a 600-term sum
    would otherwise end in a RecursionError. Iterative, so the check itself cannot overflow."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExprSyntaxError(
                f"the expression nests deeper than {MAX_DEPTH} levels",
                node.pos.line,
                node.pos.column,
                "split it into derived metrics, or sum the terms with one "
                "aggregation instead of a chain of '+'",
            )
        stack += [(c, depth + 1) for c in ast.children(node)]


_READABLE = {
    "RPAR": "')'",
    "LPAR": "'('",
    "COMMA": "','",
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "DURATION": "a duration",
    "CMP": "a comparison",
    "RSQB": "']'",
    "RBRACE": "'}'",
    "MATCHOP": "'=' or '=~'",
}


def _expected(expected: set[str] | list[str]) -> str:
    names = sorted({_READABLE[e] for e in expected if e in _READABLE})
    return f" (expected {', '.join(names)})" if names and len(names) <= 4 else ""


def _hint_for(tok: str) -> str:
    if tok in ("&&", "&"):
        return "write 'and' to combine conditions"
    if tok in ("||", "|"):
        return "write 'or'"
    if tok == "=":
        return "compare with '=='"
    if not tok.isprintable() or tok.isspace():
        return "remove the invisible character (a line or paragraph separator, or a control character)"
    return ""
