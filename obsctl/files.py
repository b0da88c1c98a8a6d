"""Writing one file the user named (a starter spec, the schema, an imported spec): whole or not at all, and an
error that says why instead of a traceback when the place cannot hold it."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """`text` at `path`, appearing whole or not at all (a temporary file beside it, then renamed). Raises OSError."""
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


def not_replaceable(path: Path) -> str:
    """Why `path` must not be replaced by a written file ('' when it may): replacing a folder fails, and replacing
    a device (/dev/full), FIFO or link would swap it for a plain file."""
    if path.is_dir():
        return "is a folder"
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return "is not a regular file"
    return ""


def write_or_say_why(path: Path, text: str) -> bool:
    """write_atomic, or an `error:` line naming the path and the reason (a folder, a device, a missing or
    read-only parent, a full disk); False then."""
    from .report import shown_path

    if why := not_replaceable(path):
        print(f"error: {shown_path(path)} {why}; give a file name", file=sys.stderr)
        return False
    try:
        write_atomic(path, text)
    except OSError as e:
        print(f"error: cannot write {shown_path(path)}: {e.strerror or e}", file=sys.stderr)
        return False
    return True
