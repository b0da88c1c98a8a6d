"""Diagnostics for people (file:line:col, the offending line, a hint), for machines (json), for GitHub."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable

from .diagnostics import Diagnostic
from .secrets import mask
from .yamlsource import SourceMap

# What a terminal (or GitHub's log viewer) would act on instead of showing: C0/C1 controls and DEL (escape
# sequences retitle windows, recolour, move the cursor), Unicode line and paragraph separators, and the
# bidirectional overrides that reorder what is shown.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(m: re.Match) -> str:
    c = ord(m.group())
    return _NAMED.get(m.group()) or (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}")


def printable(text: str, keep: str = "") -> str:
    """`text` with control characters written as escapes (`\\x1b`, `\\u202e`), except those in `keep`."""
    return _UNPRINTABLE.sub(lambda m: m.group() if m.group() in keep else _escape_char(m), text)


def shown_path(path: object) -> str:
    """A spec or output path as the terminal shows it: `-` as <stdin>, control characters escaped."""
    return "<stdin>" if str(path) == "-" else printable(str(path))


def _sorted(diags: list[Diagnostic]) -> list[Diagnostic]:
    def key(d: Diagnostic) -> tuple:
        loc = d.location
        return (loc.file if loc else "", loc.line if loc else 0, loc.column if loc else 0, d.code)

    return sorted(diags, key=key)


def dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diags:
        k = (d.code, d.level, d.message, d.location)
        if k not in seen:
            seen.add(k)
            out.append(d)
    return out


def render_human(diags: list[Diagnostic], smap: SourceMap | None, stream: object = None) -> None:
    """Diagnostics for a terminal. Spec text (keys, values, file names) is shown with its control characters
    escaped, never sent raw: a key "\\x1b]0;title\\x07" must not retitle the terminal.

    Colour goes only to a terminal (or where FORCE_COLOR asks for it); to a pipe or a CI log the same lines are
    written as plain text, without rich: its markup cost ~0.2 ms a line, seconds for a spec's 10,000 warnings."""
    if not diags:
        return  # rich costs ~20 ms to import; a clean run needs none of it
    out = stream or sys.stderr
    if not _wants_colour(out):
        out.write("\n".join(_lines(diags, smap, _plain, printable)) + "\n")
        return
    from rich.console import Console
    from rich.markup import escape as markup

    def escape(text: str) -> str:
        return markup(printable(text))

    console = Console(file=out, highlight=False, soft_wrap=True, emoji=False)
    console.print("\n".join(_lines(diags, smap, _markup, escape)))  # at once: a print per line cost 1 s


def _wants_colour(stream: object) -> bool:
    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1":
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _markup(text: str, style: str) -> str:
    return f"[{style}]{text}[/{style}]"


def _plain(text: str, style: str) -> str:
    return text


def _lines(
    diags: list[Diagnostic],
    smap: SourceMap | None,
    styled: Callable[[str, str], str],
    escape: Callable[[str], str],
) -> list[str]:
    """The report's lines; `styled(text, style)` marks text up (or leaves it), `escape` makes spec text safe."""
    lines: list[str] = []
    for d in _sorted(diags):
        style = "bold red" if d.level == "error" else "bold yellow"
        where = f"{d.location}: " if d.location else ""
        field = " " + styled(escape(f"[{d.field}]"), "dim") if d.field else ""
        lines.append(
            f"{styled(escape(where), 'bold')}{styled(d.level, style)} {styled(d.code, 'cyan')} "
            f"{escape(mask(d.message))}{field}"
        )
        if d.location and smap is not None:
            line, column = excerpt(smap.line_text(d.location), d.location.column, d.redact)
            if line:
                num = str(d.location.line)
                pad = len(printable(line[: column - 1]))  # the caret moves with the escapes before it
                lines.append(f"  {styled(num + ' |', 'dim')} {escape(line)}")
                lines.append(f"  {' ' * len(num)} {styled('|', 'dim')} {' ' * pad}{styled('^', style)}")
        if d.hint:
            lines.append(f"  {styled('hint:', 'green')} {escape(mask(d.hint))}")
    return lines


def excerpt(line: str, column: int, redact: tuple[str, ...] = ()) -> tuple[str, int]:
    """The spec line a diagnostic quotes, with credentials masked, and the caret's column in it.

    ('', 0) when a secret the diagnostic is about would still show (written with YAML escapes, say): then the
    report gives the position without the line."""
    shown = mask(line)
    if redact and ("\\" in line or any(r and r in shown for r in redact)):
        return "", 0
    if shown == line:
        return line, column
    # keep the caret on the same character: the text before it may have been masked too
    before = mask(line[: column - 1])
    return shown, column if before == line[: column - 1] else len(before) + 1


def _masked(d: Diagnostic) -> dict:
    out = d.as_dict()
    out["message"], out["hint"] = mask(d.message), mask(d.hint)
    return out


def render_json(diags: list[Diagnostic], stream: object = None) -> None:
    (stream or sys.stdout).write(json.dumps([_masked(d) for d in _sorted(diags)], indent=2) + "\n")


def _gh_escape(text: str, prop: bool = False) -> str:
    """GitHub's workflow-command escaping (`%`, CR and LF; `:` and `,` too in properties), after other control
    characters are written as escapes: the log viewer acts on ANSI sequences."""
    text = printable(text, keep="\r\n")
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def render_github(diags: list[Diagnostic], stream: object = None) -> None:
    out = stream or sys.stdout
    for d in _sorted(diags):
        kind = "error" if d.level == "error" else "warning"
        props = []
        if d.location:
            props += [
                f"file={_gh_escape(d.location.file, True)}",
                f"line={d.location.line}",
                f"col={d.location.column}",
            ]
        props.append(f"title={_gh_escape(d.code, True)}")
        msg = mask(d.message + (f" (hint: {d.hint})" if d.hint else ""))
        out.write(f"::{kind} {','.join(props)}::{_gh_escape(msg)}\n")
