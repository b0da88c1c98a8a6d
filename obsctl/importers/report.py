"""What an import could not carry over, and why: one line per source rule, route or panel.

Every importer fills one `ImportReport`; `obsctl import` prints it (human lines or `--format json`) and exits 1
when it holds anything. Bad input (not YAML, not rules, an unknown dashboard schema) is an `ImportFailure`
instead: nothing is written.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..diagnostics import Diagnostic, Location

# What a finding says about the source item.
VERBATIM = "verbatim"  # kept as a raw `overrides: {promql: ...}`: same meaning, not in obsctl's language
CHANGED = "changed"  # carried over, but the built output differs from the source in what the line says
DROPPED = "dropped"  # not carried over at all (an inline secret, a field the spec cannot hold)


@dataclass
class Finding:
    file: str
    item: str  # e.g. "alert KubePodCrashLooping", "panel 'CPU' of dashboard 'Nodes'"
    what: str  # VERBATIM | CHANGED | DROPPED
    why: str
    line: int | None = None

    def text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.item}: {self.what}: {self.why}"


@dataclass
class FileCounts:
    """Per source file: how many items it held, how many are in obsctl's language, how many verbatim."""

    items: int = 0
    translated: int = 0
    verbatim: int = 0


@dataclass
class ImportReport:
    kind: str
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, FileCounts] = field(default_factory=dict)
    notes: list[str] = field(
        default_factory=list
    )  # spec-wide facts (e.g. a label obsctl adds to every alert)

    def add(self, file: str, item: str, what: str, why: str, line: int | None = None) -> None:
        self.findings.append(Finding(file, item, what, why, line))

    def count(self, file: str) -> FileCounts:
        return self.counts.setdefault(file, FileCounts())

    @property
    def clean(self) -> bool:
        return not self.findings and not self.notes

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "clean": self.clean,
            "notes": list(self.notes),
            "counts": {f: asdict(c) for f, c in self.counts.items()},
            "findings": [asdict(f) for f in self.findings],
        }

    def render_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"

    def render_human(self) -> str:
        lines = [f.text() for f in self.findings]
        lines += [f"note: {n}" for n in self.notes]
        for file, c in self.counts.items():
            lines.append(
                f"{file}: {c.items} item(s), {c.translated} in obsctl's language, {c.verbatim} kept verbatim"
            )
        return "\n".join(lines) + ("\n" if lines else "")


class ImportFailure(Exception):
    """Input that cannot be imported at all; carries a diagnostic naming the file (and line, column when known)."""

    def __init__(
        self,
        code: str,
        message: str,
        file: str,
        line: int = 1,
        column: int = 1,
        hint: str = "",
        field: str = "",
    ) -> None:
        super().__init__(message)
        self.diagnostic = Diagnostic(code, "error", message, Location(file, line, column), field, hint)
