"""Independent CPU-bound work on every core: forked workers that inherit the parent's memory (the plan, parsed
trees, caches), with results in input order, so the output is the same whichever way it ran.

Used where items are many and independent (test generation: one alert's scenarios read nothing another alert's
write). `OBSCTL_JOBS=1` runs everything in-process; `OBSCTL_JOBS=N` caps the workers (default: the CPUs this
process may run on). Falls back to in-process work where forking is unsafe or unavailable: on platforms without
`fork`, and while another thread runs (a terminal's progress spinner), since a forked child holds only the
forking thread and could wait forever on a lock another thread held."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHUNKS_PER_WORKER = 4  # items differ in cost: smaller chunks keep every worker busy until the end
_work: tuple[Callable, Sequence] | None = None  # what the forked workers run, inherited at fork


def jobs() -> int:
    """How many workers to use: OBSCTL_JOBS when it is a positive whole number, else the usable CPUs."""
    wanted = os.environ.get("OBSCTL_JOBS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return min(int(wanted), 64)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers_for(count: int, min_items: int) -> int:
    """How many workers `map_in_order` starts for `count` items (1: it runs them in-process)."""
    if count < min_items or threading.active_count() > 1 or not hasattr(os, "fork"):
        return 1
    return min(jobs(), max(1, count // max(1, min_items // 2)))


def map_in_order(fn: Callable[[T], R], items: Sequence[T], min_items: int) -> list[R]:
    """`[fn(x) for x in items]`, spread over forked workers when there are at least `min_items` items (below
    that, starting the workers costs more than it saves). `fn` and `items` reach the workers by the fork, not
    pickled: only chunk bounds are sent, and the results come back pickled."""
    global _work
    n = workers_for(len(items), min_items)
    if n < 2:
        return [fn(x) for x in items]
    import multiprocessing

    size = -(-len(items) // (n * CHUNKS_PER_WORKER))
    bounds = [(lo, min(lo + size, len(items))) for lo in range(0, len(items), size)]
    _work = (fn, items)
    try:
        with multiprocessing.get_context("fork").Pool(n) as pool:
            parts = pool.map(_run_chunk, bounds, chunksize=1)
    finally:
        _work = None
    return [r for part in parts for r in part]


def _run_chunk(bounds: tuple[int, int]) -> list:
    assert _work is not None  # set by map_in_order before the fork
    fn, items = _work
    return [fn(items[i]) for i in range(*bounds)]
