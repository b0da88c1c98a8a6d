"""`obsctl import KIND FILE...`: a spec from the configuration a team already runs, and a report of what could
not be carried over. One module per kind; each returns the spec (`SpecDoc`) and an `ImportReport`.

Nothing here is loaded by `validate` or `build`: the CLI imports this package when `import` runs.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path

from .report import ImportFailure, ImportReport
from .specfile import SpecDoc

KINDS = ("prometheus", "alertmanager", "grafana")


def run(kind: str, files: list[Path], service: str | None, out: Path | None, fmt: str, force: bool = False) -> int:
    """Import, write the spec (all or nothing) and print the report. 0: everything carried over; 1: something
    was reported, or the input could not be imported."""
    from ..report import render_human, render_json

    if service is not None:
        from ..model import SERVICE_NAME

        if not SERVICE_NAME.fullmatch(service):
            print(f"error: --service '{service}' is not a service name: lowercase letters, digits and '-'",
                  file=sys.stderr)
            return 2
    if out is not None and str(out) != "-" and out.exists() and not force:
        print(f"error: {out} exists; give --force to replace it", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(f"{__name__}.{kind}")
        doc, report = module.import_files(files, service)
    except ImportFailure as e:
        if fmt == "json":
            render_json([e.diagnostic])
        else:
            render_human([e.diagnostic], None)
        return 1
    text = doc.text()
    if out is None or str(out) == "-":
        sys.stdout.write(text)
        stream = sys.stderr
    else:
        _write_atomic(out, text)
        stream = sys.stdout
    stream.write(report.render_json() if fmt == "json" else report.render_human())
    if out is not None and str(out) != "-" and fmt != "json":
        stream.write(f"wrote {out}{'' if report.clean else ' (see the report above)'}\n")
    return 0 if report.clean else 1


def _write_atomic(path: Path, text: str) -> None:
    """The spec appears whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["KINDS", "ImportFailure", "ImportReport", "SpecDoc", "run"]
