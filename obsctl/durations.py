"""Prometheus-style durations (`30s`, `5m`, `1h30m`, `1d`), the only duration syntax a spec accepts."""

from __future__ import annotations

import re

_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
# Units must appear in descending order, integers only: exactly what Prometheus and Alertmanager parse.
DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(text: str) -> float:
    """Seconds in a duration string; raises ValueError with a message a user understands."""
    if text == "0":
        return 0
    m = DURATION_RE.match(text or "")
    if not text or not m or not any(m.groups()):
        raise ValueError(
            f"'{text}' is not a duration: write an integer with a unit (ms, s, m, h, d, w, y), "
            "largest unit first, e.g. 30s, 5m, 1h30m"
        )
    total = 0.0
    for value, unit in zip(m.groups(), ("y", "w", "d", "h", "m", "s", "ms"), strict=True):
        if value:
            total += int(value) * _UNITS[unit]
    return total


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for a number of seconds (`3600` -> `1h`)."""
    if seconds == 0:
        return "0s"
    ms = round(seconds * 1000)
    out = []
    for unit, size in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1)):
        if ms >= size:
            n, ms = divmod(ms, size)
            out.append(f"{n}{unit}")
    return "".join(out)


def is_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True
