"""Routing regexes as Alertmanager reads them: Go's RE2 syntax, anchored, matched in linear time.

Python's backtracking `re` accepts what RE2 refuses (lookarounds, backreferences) and takes exponential time on
patterns like `(a+)+b`; `google-re2` is the RE2 engine Go's regexp follows. It is imported on first use, so a
spec without routing regexes does not pay for it.
"""

from __future__ import annotations

import re
from functools import lru_cache

# What Go's regexp refuses although C++ RE2 takes it: \C (any byte).
_GO_ONLY = re.compile(r"(?<!\\)(?:\\\\)*\\C")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> object:
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print its own copy of every error to stderr
    return re2.compile(pattern, options)


def re2_error(pattern: str) -> str:
    """Why `pattern` is no RE2 regex (Alertmanager's, Prometheus'), or ''."""
    import re2

    try:
        _compiled(pattern)
    except re2.error as e:
        reason = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        if "perl operator" in reason or "\\1" in reason or re.search(r"escape sequence: \\[1-9]", reason):
            return f"{reason} (RE2 has no lookahead, lookbehind, atomic groups or backreferences)"
        return reason
    if _GO_ONLY.search(pattern):
        return "invalid escape sequence: \\C (Go's RE2 has no \\C)"
    return ""


def fullmatch(pattern: str, value: str) -> bool:
    """Whether the RE2 `pattern` matches the whole of `value`, as Alertmanager's anchored matchers do."""
    return _compiled(pattern).fullmatch(value) is not None
