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

from ..files import not_replaceable, write_atomic
from .report import ImportFailure, ImportReport
from .specfile import SpecDoc, part_dir, split_files

KINDS = ("prometheus", "alertmanager", "grafana", "datadog", "sloth", "openslo")


def run(
    kind: str, files: list[Path], service: str | None, out: Path | None, fmt: str, force: bool = False
) -> int:
    """Import, write the spec (all or nothing) and print the report. 0: everything carried over; 1: something
    was reported, or the input could not be imported."""
    from ..report import render_human, render_json

    if service is not None:
        from ..model import SERVICE_NAME

        if not SERVICE_NAME.fullmatch(service):
            print(
                f"error: --service '{service}' is not a service name: lowercase letters, digits and '-'",
                file=sys.stderr,
            )
            return 2
    if out is not None and str(out) != "-" and out.exists() and not force:
        print(f"error: {out} exists; give --force to replace it", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(f"{__name__}.{kind}")
        try:
            doc, report = module.import_files(files, service)
        except (TypeError, AttributeError, KeyError, IndexError, ValueError, RecursionError) as e:
            raise _wrong_shape(kind, files, e) from None
    except ImportFailure as e:
        if fmt == "json":
            render_json([e.diagnostic])
        else:
            render_human([e.diagnostic], None)
        return 1
    to_stdout = out is None or str(out) == "-"
    try:
        files = split_files(doc, "obsctl.yaml" if to_stdout else out.name)
        if to_stdout and len(files) > 1:
            raise ImportFailure(
                "OBS826",
                f"the spec is over the 2 MiB obsctl reads in one file, so it is split into "
                f"{len(files) - 1} include files, which standard output cannot hold",
                doc.source,
                hint="give --out SPEC: the parts go to SPEC's folder, under <spec name>.d/",
            )
    except ImportFailure as e:
        if fmt == "json":
            render_json([e.diagnostic])
        else:
            render_human([e.diagnostic], None)
        return 1
    if not to_stdout and len(files) > 1 and (out.parent / part_dir(out.name)).exists() and not force:
        print(f"error: {out.parent / part_dir(out.name)} exists; give --force to replace it", file=sys.stderr)
        return 2
    if to_stdout:
        sys.stdout.write(next(iter(files.values())))
        stream = sys.stderr
    else:
        if why := not_replaceable(out):
            print(f"error: {out} {why}; give the spec's file name", file=sys.stderr)
            return 2
        try:
            _write_all(out, files)
        except OSError as e:
            print(f"error: cannot write {out}: {e.strerror or e}", file=sys.stderr)
            return 1
        stream = sys.stdout
    stream.write(report.render_json() if fmt == "json" else report.render_human())
    if out is not None and str(out) != "-" and fmt != "json":
        stream.write(f"wrote {out}{'' if report.clean else ' (see the report above)'}\n")
    return 0 if report.clean else 1


def _wrong_shape(kind: str, files: list[Path], error: Exception) -> ImportFailure:
    """A value of the wrong type where the kind's format has another (`rules: 5`, `labels: [a]`, `panels: {}`):
    each importer checks what it reads by name; what slips through is still an error about the input."""
    from ..report import printable

    detail = "nested too deeply" if isinstance(error, RecursionError) else printable(str(error))[:200]
    return ImportFailure(
        "OBS821",
        f"the input is not shaped like {kind}'s format: a value has another type than expected ({detail})",
        ", ".join(str(f) for f in files[:3]) + (" ..." if len(files) > 3 else ""),
        hint=f"check the file against {kind}'s documentation; docs/import.md says what obsctl reads",
    )


def _write_all(out: Path, files: dict[str, str]) -> None:
    """The main spec and its parts (`<stem>.d/`): the parts folder is staged whole and swapped in, then the main
    spec replaced, so a reader sees the old spec or the new one (an old parts folder is replaced: --force)."""
    import shutil

    parts = {rel: text for rel, text in files.items() if rel != out.name}
    folder = out.parent / part_dir(out.name)
    if not parts:
        write_atomic(out, files[out.name])
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=out.parent))
    old = None
    try:
        for rel, text in parts.items():
            (stage / Path(rel).name).write_text(text, encoding="utf-8")
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=out.parent))
            os.replace(folder, old / folder.name)
        os.replace(stage, folder)
        try:
            write_atomic(out, files[out.name])
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            if old is not None:
                os.replace(old / folder.name, folder)
            raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


__all__ = ["KINDS", "ImportFailure", "ImportReport", "SpecDoc", "run"]
