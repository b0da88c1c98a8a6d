"""The Go-template check of alert labels and annotations (OBS303): Go's text/template lexer and the checks
its parser makes before anything runs, held to promtool's verdict by tests/core/test_alert_templates.py."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..expr.parser import unquote

# Go text/template actions as Prometheus parses them in labels and annotations (promtool's Go 1.19 text/template:
# its lexer and the checks its parser makes before anything runs).
_TEMPLATE_FUNCS = {
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "title",
    "toUpper",
    "toLower",
    "stripPort",
    "match",
    "reReplaceAll",
    "graphLink",
    "tableLink",
    "parseDuration",
    "stripDomain",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "args",
    "safeHtml",
    "pathPrefix",
    "externalURL",
    "printf",
    "len",
    "index",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "print",
    "println",
    "html",
    "js",
    "urlquery",
    "slice",
    "call",
}
_KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
# Prometheus declares these before the template's own text (`{{$labels := .Labels}}...`).
_PROMETHEUS_VARS = ("$", "$labels", "$externalLabels", "$externalURL", "$value")


# The actions nearly every annotation uses, in a form Go's parser accepts as written; anything else (and `{{{`,
# where the action would start one brace earlier) takes the full check.
_SIMPLE_ACTION = re.compile(
    r"\{\{ ?\$(?:value|labels\.[A-Za-z_][A-Za-z0-9_]*)"
    r"(?: ?\| ?(?:humanize|humanize1024|humanizeDuration|humanizePercentage|humanizeTimestamp|title|toUpper"
    r"|toLower|stripPort|stripDomain))? ?\}\}"
)


def template_error(text: str) -> str:
    """Why `text` is not a valid Prometheus alert template, or '' when it is.

    As Go's text/template reads it: `}}` outside an action is plain text, and an action ends at the first `}}`
    outside its quoted strings ("...", `...`, '.')."""
    if not text or "{{" not in text:
        return ""
    if "{{{" not in text and "{{" not in _SIMPLE_ACTION.sub("", text):
        return ""  # only `{{ $value }}`, `{{ $labels.x | humanize }}` and the like: valid without a parse
    state = _TemplateState(list(_PROMETHEUS_VARS))
    pos = 0
    while (start := text.find("{{", pos)) != -1:
        end = _action_end(text, start + 2)
        if isinstance(end, str):
            return end
        body = _TRIM.sub("", text[start + 2 : end])
        pos = end + 2
        if body.lstrip(" \t\r\n").startswith("/*"):
            continue
        try:
            state.action(_lex_action(body))
        except _TemplateSyntax as e:
            return str(e)
    if state.blocks:
        return f"'{{{{ {state.blocks[-1].kind} }}}}' is never closed with '{{{{ end }}}}'"
    return ""


def _action_end(text: str, i: int) -> int | str:
    """Where the action whose body starts at `i` closes (its `}}`), or why it does not."""
    if text.startswith(("/*", "- /*"), i):  # a comment: right after the delimiter, up to */ and the delimiter
        close = text.find("*/", i)
        if close == -1:
            return "unclosed comment"
        if not text.startswith(("*/}}", "*/ -}}"), close):
            return "comment ends before closing delimiter"
        return text.find("}}", close)
    if text[i:].lstrip("- ").startswith("/*"):
        return "a comment must follow '{{' directly: {{/* ... */}} or {{- /* ... */ -}}"
    while i < len(text):
        if text.startswith("}}", i):
            return i
        quote = text[i]
        if quote in "\"'`":
            j = i + 1
            while j < len(text) and text[j] != quote:
                if text[j] == "\n" and quote != "`":
                    return "unterminated quoted string"
                j += 2 if text[j] == "\\" and quote != "`" else 1
            if j >= len(text):
                return "unterminated quoted string"
            if quote == "'" and not (j - i == 2 or text[i + 1] == "\\"):
                return "malformed character constant"
            i = j
        i += 1
    return "unclosed action: '{{' without '}}'"


_TRIM = re.compile(r"^-(?=[ \t\r\n])|(?<=[ \t\r\n])-$")  # trim markers: "{{- " and " -}}" ("{{-3}}" is -3)


class _TemplateSyntax(Exception):
    pass


# One token of an action: (kind, text). Kinds follow Go's lexer: space, string, raw, char, number, var, field,
# dot, ident, keyword, bool, nil, pipe, declare, assign, lparen, rparen, other (any other printable character).
_Token = tuple[str, str]
_NUMBER_START = re.compile(r"[+\-0-9]|\.[0-9]")
_ALNUM = re.compile(r"[\w]*", re.UNICODE)  # Go's isAlphaNumeric: '_', letters, digits
_TERMINATORS = " \t\r\n.,|:)("


def _scan_number(body: str, i: int) -> int | None:
    """Go's lexer scanNumber from `i`: the end of the number, or None for bad number syntax."""
    n = len(body)
    if i < n and body[i] in "+-":
        i += 1
    digits = "0123456789_"
    if i < n and body[i] == "0":
        i += 1
        if i < n and body[i] in "xXoObB":
            digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[body[i].lower()]
            i += 1
    while i < n and body[i] in digits:
        i += 1
    if i < n and body[i] == ".":
        i += 1
        while i < n and body[i] in digits:
            i += 1
    if len(digits) == 11 and i < n and body[i] in "eE" or len(digits) == 23 and i < n and body[i] in "pP":
        i += 1
        if i < n and body[i] in "+-":
            i += 1
        while i < n and body[i] in "0123456789_":
            i += 1
    if i < n and body[i] == "i":
        i += 1
    if i < n and (body[i].isalnum() or body[i] == "_"):
        return None
    return i


def _lex_action(body: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(body)
    depth = 0
    while i < n:
        c = body[i]
        if c in " \t\r\n":
            j = i
            while j < n and body[j] in " \t\r\n":
                j += 1
            out.append(("space", body[i:j]))
            i = j
        elif c in "\"'`":
            j = body.index(c, i + 1) if c == "`" else i + 1
            while c != "`" and body[j] != c:
                j += 2 if body[j] == "\\" else 1
            kind = {'"': "string", "'": "char", "`": "raw"}[c]
            out.append((kind, body[i : j + 1]))
            i = j + 1
        elif c == "|":
            out.append(("pipe", c))
            i += 1
        elif c == ":":
            if not body.startswith(":=", i):
                raise _TemplateSyntax("expected :=")
            out.append(("declare", ":="))
            i += 2
        elif c == "=":
            out.append(("assign", c))
            i += 1
        elif c == "(":
            depth += 1
            out.append(("lparen", c))
            i += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise _TemplateSyntax(f"unexpected right paren {c!r}")
            out.append(("rparen", c))
            i += 1
        elif c in "$." and not _NUMBER_START.match(body, i):
            j = i + 1 + len(_ALNUM.match(body, i + 1).group())
            if j < n and body[j] not in _TERMINATORS:
                raise _TemplateSyntax(f"bad character {body[j]!r}")
            word = body[i:j]
            out.append(("dot" if word == "." else "var" if c == "$" else "field", word))
            i = j
        elif _NUMBER_START.match(body, i):
            j = _scan_number(body, i)
            if j is not None and j < n and body[j] in "+-":  # a complex constant: 1+2i, no spaces, ends in i
                k = _scan_number(body, j)
                j = k if k is not None and body[k - 1] == "i" else None
            if j is None:
                end = i + 1
                while end < n and body[end] not in " \t\r\n|)(":
                    end += 1
                raise _TemplateSyntax(f"bad number syntax: {body[i:end]!r}")
            out.append(("number", body[i:j]))
            i = j
        elif c.isalpha() or c == "_":
            j = i + len(_ALNUM.match(body, i).group())
            if j < n and body[j] not in _TERMINATORS:
                raise _TemplateSyntax(f"bad character {body[j]!r}")
            word = body[i:j]
            kind = (
                "keyword"
                if word in _KEYWORDS
                else "bool"
                if word in ("true", "false")
                else "nil"
                if word == "nil"
                else "ident"
            )
            out.append((kind, word))
            i = j
        else:
            out.append(("other", c))
            i += 1
    if depth:
        raise _TemplateSyntax("unclosed left paren")
    return out


def _go_number_error(text: str) -> str:
    """What Go's parser says of a number token (text/template's newNumber), or ''."""
    split = re.search(r"(?<=[0-9a-fA-F._])[+-]", text)
    if split and text.endswith("i"):  # a complex constant, 1+2i: both parts must be floats
        ok = _go_float(text[: split.start()]) is not None and _go_float(text[split.start() : -1]) is not None
        return "" if ok else f"illegal number syntax: {text!r}"
    if text.endswith("i") and _go_float(text[:-1]) is not None:
        return ""
    if _go_int(text) is not None:
        return ""
    if _go_float(text) is None:
        return f"illegal number syntax: {text!r}"
    if not re.search(r"[.eEpP]", text):  # parses as a float only because it is too large for an integer
        return f"integer overflow: {text!r}"
    return ""


def _go_int(text: str) -> int | None:
    """strconv.ParseInt / ParseUint with base 0 and 64 bits: the value, or None."""
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    if re.fullmatch(r"0[0-7_]+", body):
        body = "0o" + body[1:].removeprefix("_")  # a leading 0 is octal in Go, an error in Python
    try:
        value = sign * int(body, 0)
    except ValueError:
        return None
    return value if -(2**63) <= value < 2**64 else None


def _go_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64): the value, or None (bad syntax, or out of range)."""
    body = text[1:] if text[:1] in "+-" else text
    if "__" in body or body.startswith("_") or body.endswith("_"):
        return None
    try:
        if body[:2].lower() == "0x":
            digits = body[2:].removeprefix("_")
            if "p" not in body.lower() or re.search(r"(?<![0-9a-fA-F])_|_(?![0-9a-fA-F])", digits):
                return None  # Go's hexadecimal floats need their exponent, and '_' only between digits
            value = float.fromhex(body[:2] + body[2:].replace("_", ""))
        elif re.fullmatch(r"(?=\.?[0-9])[0-9_]*\.?[0-9_]*([eE][+-]?[0-9][0-9_]*)?", body) and not re.search(
            r"(?<![0-9])_|_(?![0-9])", body
        ):
            value = float(body.replace("_", ""))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return None if math.isinf(value) else value


@dataclass
class _Block:
    kind: str  # if, with, range, define, block
    vars: int  # how many variables were visible when it opened: `end` forgets the rest
    in_else: bool = False
    outer: list[str] | None = (
        None  # define and block bodies are templates of their own: the variables outside
    )


class _TemplateState:
    """What the parser tracks across actions: open blocks and the variables in scope."""

    def __init__(self, variables: list[str]) -> None:
        self.vars = variables
        self.blocks: list[_Block] = []

    def range_depth(self) -> int:
        depth = 0
        for b in reversed(self.blocks):
            if b.kind in ("define", "block"):
                break
            depth += b.kind == "range" and not b.in_else
        return depth

    def action(self, tokens: list[_Token]) -> None:
        toks = tokens
        first = next((t for t in toks if t[0] != "space"), None)
        if first is None:
            raise _TemplateSyntax("missing value for command")
        rest = toks[toks.index(first) + 1 :]
        word = first[1] if first[0] == "keyword" else ""
        if word in ("break", "continue"):
            extra = next((t for t in rest if t[0] != "space"), None)
            if extra is not None:
                raise _TemplateSyntax(f"unexpected {extra[1]!r} in {{{{{word}}}}}")
            if not self.range_depth():
                raise _TemplateSyntax(f"{{{{{word}}}}} outside {{{{range}}}}")
        elif word == "end":
            if next((t for t in rest if t[0] != "space"), None) is not None:
                raise _TemplateSyntax("unexpected token in {{end}}")
            if not self.blocks:
                raise _TemplateSyntax("unexpected {{end}}")
            block = self.blocks.pop()
            if block.outer is not None:
                self.vars[:] = block.outer
            else:
                del self.vars[block.vars :]
        elif word == "else":
            top = self.blocks[-1] if self.blocks else None
            if top is None or top.kind in ("define", "block"):
                raise _TemplateSyntax("unexpected {{else}}")
            if top.in_else:
                raise _TemplateSyntax("expected end; found {{else}}")
            top.in_else = True
            nxt = next((t for t in rest if t[0] != "space"), None)
            if nxt is not None:
                if nxt != ("keyword", "if") or top.kind != "if":
                    raise _TemplateSyntax(f"unexpected {nxt[1]!r} in else")
                top.in_else = False  # `else if` is an else holding an if that shares the `end`
                self.pipeline(rest[rest.index(nxt) + 1 :], "if")
        elif word in ("if", "with", "range"):
            self.blocks.append(_Block(word, len(self.vars)))
            self.pipeline(rest, word)
        elif word in ("define", "block", "template"):
            name = next((t for t in rest if t[0] != "space"), None)
            if name is None or name[0] not in ("string", "raw"):
                raise _TemplateSyntax(f"unexpected {name[1] if name else 'end'!r} in {word} clause")
            after = rest[rest.index(name) + 1 :]
            if word == "define":
                if self.blocks:
                    raise _TemplateSyntax("unexpected <define> in command")
                if any(t[0] != "space" for t in after):
                    raise _TemplateSyntax("unexpected token in define clause")
                self.blocks.append(_Block("define", 1, outer=list(self.vars)))
                self.vars[:] = ["$"]  # only $ is declared in a definition
            elif word == "block":
                self.pipeline(after, "block clause")
                self.blocks.append(_Block("block", 1, outer=list(self.vars)))
                self.vars[:] = ["$"]
            elif any(t[0] != "space" for t in after):
                self.pipeline(after, "template clause")
        else:
            self.pipeline(toks, "command")

    def pipeline(self, tokens: list[_Token], context: str) -> None:
        """Go's pipeline(): declarations, then commands separated by '|'; `tokens` may end inside parentheses."""
        toks = tokens
        i = _skip(toks, 0)
        # declarations: $x :=, $x =, and in a range $i, $e :=
        if i < len(toks) and toks[i][0] == "var":
            j = _skip(toks, i + 1)
            if j < len(toks) and toks[j][0] in ("declare", "assign"):
                self.vars.append(toks[i][1])
                i = _skip(toks, j + 1)
            elif j < len(toks) and toks[j] == ("other", ","):
                k = _skip(toks, j + 1)
                if context != "range":
                    raise _TemplateSyntax(f"too many declarations in {context}")
                if k < len(toks) and toks[k][0] == "var":
                    m = _skip(toks, k + 1)
                    if m < len(toks) and toks[m][0] in ("declare", "assign"):
                        self.vars += [toks[i][1], toks[k][1]]
                        i = _skip(toks, m + 1)
                    else:
                        raise _TemplateSyntax(f"missing := in {context}")
                else:
                    raise _TemplateSyntax("range can only initialize variables")
        commands = 0
        while True:
            i = _skip(toks, i)
            if i >= len(toks):
                break
            kind = toks[i][0]
            if kind not in (
                "bool",
                "char",
                "dot",
                "field",
                "ident",
                "number",
                "nil",
                "raw",
                "string",
                "var",
                "lparen",
            ):
                raise _TemplateSyntax(f"unexpected {toks[i][1]!r} in {context}")
            first, i = self.command(toks, i)
            if commands and first in ("bool", "char", "dot", "nil", "number", "raw", "string"):
                raise _TemplateSyntax(f"non executable command in pipeline stage {commands + 1}")
            commands += 1
        if not commands:
            raise _TemplateSyntax(f"missing value for {context}")

    def command(self, toks: list[_Token], i: int) -> tuple[str, int]:
        """One command from toks[i]: its first operand's kind, and where the pipeline goes on (after its '|')."""
        first = ""
        while True:
            i = _skip(toks, i)
            if i < len(toks):
                kind = self.operand(toks, i)
                if kind:
                    first = first or kind
                    i = self.after_operand(toks, i, kind)
            if i >= len(toks):
                break
            tok = toks[i]
            if tok[0] == "space":
                continue
            if tok[0] == "pipe":
                i += 1
                break
            raise _TemplateSyntax(f"unexpected {tok[1]!r} in operand")
        if not first:
            raise _TemplateSyntax("empty command")
        return first, i

    def operand(self, toks: list[_Token], i: int) -> str:
        """Check the term at toks[i]; its kind, or '' when toks[i] starts no term."""
        kind, text = toks[i]
        if kind == "ident" and text not in _TEMPLATE_FUNCS:
            raise _TemplateSyntax(f"function {text!r} not defined")
        if kind == "var" and text not in self.vars:
            raise _TemplateSyntax(f"undefined variable {text!r}")
        if kind == "number":
            err = _go_number_error(text)
            if err:
                raise _TemplateSyntax(err)
        if kind in ("string", "char"):
            try:
                unquote(text)
            except ValueError as e:
                if "UTF-8" not in str(e):  # Go's Unquote keeps raw bytes; only PromQL needs valid UTF-8
                    raise _TemplateSyntax(f"invalid syntax: {text}") from None
        if kind == "lparen":
            return kind
        return (
            kind
            if kind in ("bool", "char", "dot", "field", "ident", "number", "nil", "raw", "string", "var")
            else ""
        )

    def after_operand(self, toks: list[_Token], i: int, kind: str) -> int:
        """Past the operand at toks[i] (a parenthesised pipeline as a whole) and the fields chained to it."""
        if kind == "lparen":
            depth, j = 0, i
            while True:
                depth += {"lparen": 1, "rparen": -1}.get(toks[j][0], 0)
                if depth == 0:
                    break
                j += 1
            self.pipeline(toks[i + 1 : j], "parenthesized pipeline")
            i = j
        i += 1
        if i < len(toks) and toks[i][0] == "field":
            if kind in ("bool", "string", "raw", "number", "char", "nil", "dot"):
                raise _TemplateSyntax(f"unexpected . after term {toks[i - 1][1]!r}")
            while i < len(toks) and toks[i][0] == "field":
                i += 1
        return i


def _skip(toks: list[_Token], i: int) -> int:
    while i < len(toks) and toks[i][0] == "space":
        i += 1
    return i
