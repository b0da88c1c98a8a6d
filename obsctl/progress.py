"""Progress for long work (building many specs, running many tests, building a diff's two sides): rich's spinner
and bar on stderr when it is a terminal, nothing otherwise (CI logs and redirected output stay clean)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def _live() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def status(message: str) -> Iterator[None]:
    """A transient spinner with `message` while the block runs."""
    if not _live():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate `items` with a transient progress bar."""
    if not _live():
        yield from items
        return
    from rich.console import Console
    from rich.progress import track as rich_track

    yield from rich_track(
        items, description=description, total=total, transient=True, console=Console(stderr=True)
    )
