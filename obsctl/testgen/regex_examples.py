"""Strings a regex matches, for the series and labels generated tests need (`code=~"5.."` -> `500`).

Python's own regex parser (the private `re._parser`) gives the syntax tree; every candidate is then checked
against the whole pattern, so a parser detail can only cost an example, never produce a wrong one. The patterns
obsctl feeds here are PromQL matchers and routing regexes (RE2), which Python reads the same way for the syntax
RE2 accepts.
"""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=1024)
def example(pattern: str) -> str | None:
    """One short string the (fully anchored) regex matches, or None. Kept per pattern: every alert that reads
    `code=~"5.."` asks for the same example."""
    found = examples(pattern)
    return found[0] if found else None


def examples(pattern: str, limit: int = 12) -> list[str]:
    """A few strings the (fully anchored) regex matches, for synthesising test series."""
    from re import _parser  # the stdlib's regex parser: only its syntax tree is used

    def gen(items: list, depth: int = 0) -> list[str]:
        outs = [""]
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                alts = [chr(arg)]
            elif name == "NOT_LITERAL":
                alts = [c for c in "0a" if c != chr(arg)][:1]
            elif name == "ANY":
                alts = ["0", "a"]
            elif name == "IN":
                alts = [
                    c
                    for c in "0123456789abcdefghijklmnopqrstuvwxyz_-.ABCXYZ"
                    if re.fullmatch(_parser_text(arg), c)
                ][:2]
            elif name == "BRANCH":
                alts = [x for branch in arg[1] for x in gen(branch, depth + 1)]
            elif name == "SUBPATTERN":
                alts = gen(arg[3], depth + 1)
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                lo, _hi, sub = arg
                inner = gen(sub, depth + 1) or [""]
                alts = [inner[0] * lo] + ([inner[0] * (lo + 1)] if lo == 0 else [])
            elif name == "AT":
                alts = [""]
            else:
                alts = []
            outs = [o + a for o in outs for a in alts][:limit]
        return outs

    try:
        tree = _parser.parse(pattern)
    except re.error:
        return []
    return [x for x in gen(list(tree.data)) if re.fullmatch(pattern, x)]


def _parser_text(items: list) -> str:
    """A character class from the regex parser's IN items, as regex text."""
    parts = []
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            parts.insert(0, "^")
        elif name == "LITERAL":
            parts.append(re.escape(chr(arg)))
        elif name == "RANGE":
            parts.append(f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}")
        elif name == "CATEGORY":
            parts.append(
                {
                    "CATEGORY_DIGIT": r"\d",
                    "CATEGORY_NOT_DIGIT": r"\D",
                    "CATEGORY_SPACE": r"\s",
                    "CATEGORY_NOT_SPACE": r"\S",
                    "CATEGORY_WORD": r"\w",
                    "CATEGORY_NOT_WORD": r"\W",
                }.get(str(arg), "")
            )
    return f"[{''.join(parts)}]"
