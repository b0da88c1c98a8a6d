"""Render Prometheus alert templates the way Prometheus 2.42 does, for the subset alert texts use.

promtool compares `exp_annotations` exactly, after Prometheus rendered them with the alert's `$value` and
`$labels`. To expect "API error rate is 10%", obsctl renders `{{ $value | humanizePercentage }}` itself with the
value the rule will have: Go's `%v` float formatting, `humanize*` and `printf` are reproduced here. A template
that uses anything else (conditionals, range, query functions) raises `Unsupported`: the caller then reports the
scenario as not generated rather than guessing.
"""

from __future__ import annotations

import math
import re

from ..expr.parser import unquote
from ..gonum import go_float


class Unsupported(Exception):
    """A template construct obsctl cannot pre-render."""


# -- Go number formatting (go_float and its digits live in obsctl.gonum) ----------------------------------


def _g4(v: float) -> str:
    """Go's %.4g (same as C's for finite values); Go spells the non-finite ones NaN, +Inf, -Inf."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.4g}"


def humanize(v: float) -> str:
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return _g4(v) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return _g4(v) + prefix


def humanize1024(v: float) -> str:
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix = p
        v /= 1024
    return _g4(v) + prefix


def humanize_percentage(v: float) -> str:
    return _g4(v * 100) + "%"


def humanize_duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = ""
        if v < 0:
            sign, v = "-", -v
        d = int(v)
        seconds, minutes, hours, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return f"{_g4(v)}{prefix}s"


def _title(s: str) -> str:
    out, prev_sep = [], True
    for ch in s:
        out.append(ch.upper() if prev_sep and ch.isalpha() else ch)
        prev_sep = not (ch.isalnum() or ch == "_")
    return "".join(out)


def _to_float(x: object) -> float:
    if isinstance(x, bool):
        raise Unsupported("a boolean where a number is expected")
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError as e:
            raise Unsupported(f"'{x}' is not a number") from e
    raise Unsupported("a value that is not a number")


_VERB = re.compile(r"%([-+ 0#]*)(\d*)(?:\.(\d+))?([a-zA-Z%])")


def go_printf(fmt: str, args: list[object]) -> str:
    out, pos, i = [], 0, 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        if i >= len(args):
            raise Unsupported("printf with fewer arguments than verbs")
        arg = args[i]
        i += 1
        spec = f"%{flags}{width}{'.' + prec if prec is not None else ''}"
        if verb in "fFeE":
            x = _to_float(arg) if not isinstance(arg, str) else None
            if x is None or not math.isfinite(x) or "#" in flags:
                raise Unsupported(f"printf %{verb} of {arg!r}")
            out.append((spec + verb.lower() if verb in "fF" else spec + verb) % x)
        elif verb in "gG" and prec is not None and isinstance(arg, float | int) and math.isfinite(arg):
            out.append((spec + verb) % float(arg))
        elif verb in "vg" and not flags and not width and prec is None and isinstance(arg, float):
            out.append(go_float(arg))
        elif verb in "vs" and isinstance(arg, str) and "#" not in flags:
            out.append((spec + "s") % arg)
        elif verb in "vd" and isinstance(arg, int) and not isinstance(arg, bool):
            out.append((spec + "d") % arg)
        else:
            raise Unsupported(f"printf %{verb} of {type(arg).__name__}")
    if i != len(args):
        raise Unsupported("printf with more arguments than verbs")
    out.append(fmt[pos:])
    return "".join(out)


_FUNCS = {
    "humanize": lambda x: humanize(_to_float(x)),
    "humanize1024": lambda x: humanize1024(_to_float(x)),
    "humanizePercentage": lambda x: humanize_percentage(_to_float(x)),
    "humanizeDuration": lambda x: humanize_duration(_to_float(x)),
    "toUpper": lambda s: _str_arg(s).upper(),
    "toLower": lambda s: _str_arg(s).lower(),
    "title": lambda s: _title(_str_arg(s)),
}


def _str_arg(x: object) -> str:
    if not isinstance(x, str):
        raise Unsupported("a number where text is expected")
    return x


# -- template parsing -----------------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\||[^\s|"`]+')


class _Data:
    def __init__(
        self, value: float, labels: dict[str, str], external_labels: dict[str, str], external_url: str
    ):
        self.value = value
        self.labels = labels
        self.external_labels = external_labels
        self.external_url = external_url

    def operand(self, tok: str) -> object:
        if tok in ("$value", ".Value"):
            return self.value
        if tok in ("$externalURL", ".ExternalURL"):
            return self.external_url
        for prefix, mapping in (
            ("$labels.", self.labels),
            (".Labels.", self.labels),
            ("$externalLabels.", self.external_labels),
            (".ExternalLabels.", self.external_labels),
        ):
            if tok.startswith(prefix) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok[len(prefix) :]):
                return mapping.get(tok[len(prefix) :], "")  # Prometheus prints a missing label as nothing
        if tok.startswith('"'):
            try:
                return unquote(tok)  # Go's strconv.Unquote, as text/template reads it
            except ValueError as e:
                raise Unsupported(f"the string {tok} ({e})") from None
        if tok.startswith("`"):
            return tok[1:-1]
        if re.fullmatch(r"-?\d+", tok):
            return int(tok)
        if re.fullmatch(r"-?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?|-?\d+[eE][-+]?\d+", tok):
            return float(tok)
        raise Unsupported(f"'{tok}' in a template")


def _pipeline(body: str, data: _Data) -> object:
    tokens = _TOKEN.findall(body)
    if not tokens:
        raise Unsupported("an empty action")
    if tokens[0] in (
        "if",
        "else",
        "end",
        "range",
        "with",
        "define",
        "template",
        "block",
        "break",
        "continue",
    ) or any(":=" in t or t.startswith("(") or t.endswith(")") for t in tokens):
        raise Unsupported(f"'{{{{ {body} }}}}'")
    commands: list[list[str]] = [[]]
    for t in tokens:
        if t == "|":
            commands.append([])
        else:
            commands[-1].append(t)
    piped: object = None
    for n, cmd in enumerate(commands):
        if not cmd:
            raise Unsupported("an empty command in a pipeline")
        head, rest = cmd[0], cmd[1:]
        if head in _FUNCS or head == "printf":
            args = [data.operand(t) for t in rest] + ([piped] if n else [])
            if head == "printf":
                if not args or not isinstance(args[0], str):
                    raise Unsupported("printf without a format")
                piped = go_printf(args[0], args[1:])
            else:
                if len(args) != 1:
                    raise Unsupported(f"{head} with {len(args)} arguments")
                piped = _FUNCS[head](args[0])
        elif n == 0 and not rest:
            piped = data.operand(head)
        else:
            raise Unsupported(f"the function '{head}'")
    return piped


def _print(v: object) -> str:
    if isinstance(v, float):
        return go_float(v)
    return str(v)


def render(
    text: str,
    value: float,
    labels: dict[str, str],
    external_labels: dict[str, str] | None = None,
    external_url: str = "",
) -> str:
    """The text Prometheus makes of an alert label or annotation template (raises Unsupported when unsure)."""
    data = _Data(value, labels, external_labels or {}, external_url)
    out: list[str] = []
    pos = 0
    for m in _ACTION.finditer(text):
        chunk = text[pos : m.start()]
        if m.group(1):
            chunk = chunk.rstrip(" \t\r\n")
        out.append(chunk)
        pos = m.end()
        body = m.group(2).strip()
        if body.startswith("/*") and body.endswith("*/"):
            pass
        else:
            out.append(_print(_pipeline(body, data)))
        if m.group(3):
            rest = text[pos:]
            pos += len(rest) - len(rest.lstrip(" \t\r\n"))
    if "{{" in text[pos:] or "}}" in text[pos:]:
        raise Unsupported("an unclosed template action")
    out.append(text[pos:])
    return "".join(out)
