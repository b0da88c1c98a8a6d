"""Prometheus-style durations (`30s`, `5m`, `1h30m`, `1d`), the only duration syntax a spec accepts."""

from __future__ import annotations

import functools
import re

_UNITS_MS = {
    "y": 365 * 86400000,
    "w": 7 * 86400000,
    "d": 86400000,
    "h": 3600000,
    "m": 60000,
    "s": 1000,
    "ms": 1,
}
# Units must appear in descending order, integers only: exactly what Prometheus and Alertmanager parse.
DURATION_RE = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
# Prometheus and Alertmanager hold a duration in a Go time.Duration: int64 nanoseconds, about 292 years.
MAX_NANOSECONDS = 2**63 - 1
MAX_DURATION = (
    "292y"  # the longest whole-year duration they accept (292y171d23h47m16s854ms is the exact bound)
)


class DurationRangeError(ValueError):
    """A well-formed duration longer than Prometheus and Alertmanager can hold."""

    def __init__(self, text: str) -> None:
        shown = text if len(text) <= 40 else text[:37] + "..."
        super().__init__(f"the duration '{shown}' is longer than Prometheus and Alertmanager accept")
        self.hint = (
            f"durations are at most {MAX_DURATION} (Go's time.Duration: 2^63-1 nanoseconds, "
            "292y171d23h47m16s854ms)"
        )


@functools.lru_cache(maxsize=1024)  # a spec repeats a few durations (5m, 1h) in every alert and window
def parse_duration(text: str) -> float:
    """Seconds in a duration string; raises ValueError with a message a user understands
    (DurationRangeError when it is longer than Prometheus can hold)."""
    if text == "0":
        return 0
    m = DURATION_RE.fullmatch(text or "")  # fullmatch: `$` would accept a trailing newline
    if not text or not m or not any(m.groups()):
        raise ValueError(
            f"'{text}' is not a duration: write an integer with a unit (ms, s, m, h, d, w, y), "
            "largest unit first, e.g. 30s, 5m, 1h30m"
        )
    total_ms = 0
    for value, unit in zip(m.groups(), ("y", "w", "d", "h", "m", "s", "ms"), strict=True):
        if value:
            total_ms += int(value) * _UNITS_MS[unit]
    if total_ms * 1_000_000 > MAX_NANOSECONDS:
        raise DurationRangeError(text)
    return total_ms / 1000


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
