"""Diagnostics: what `validate` and `build` report, with the file, line and column they point at."""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import field as _field


@dataclass(frozen=True)
class Location:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class Diagnostic:
    code: str  # stable id, e.g. OBS101
    level: str  # "error" | "warning"
    message: str
    location: Location | None = None
    field: str = ""  # dotted path of the spec field, e.g. alerts.HighErrors.for
    hint: str = ""
    # secrets the diagnostic is about: never printed (the report leaves out a quoted line that would show them)
    redact: tuple[str, ...] = _field(default=(), repr=False, compare=False)

    def as_dict(self) -> dict:
        loc = self.location
        return {
            "code": self.code,
            "level": self.level,
            "message": self.message,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "field": self.field,
            "hint": self.hint,
        }


@dataclass
class SpecError(Exception):
    """Raised when a spec cannot be read or checked; carries every diagnostic found so far."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{d.location}: {d.message}" if d.location else d.message for d in self.diagnostics)


def did_you_mean(name: str, candidates: list[str] | set[str]) -> str:
    """A 'did you mean' hint for a misspelt name, or an empty string."""
    import difflib

    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


class BackendError(Exception):
    """The spec is valid but a target cannot express part of it: carries diagnostics naming what and where."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics
