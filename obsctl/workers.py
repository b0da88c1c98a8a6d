"""Independent CPU-bound work on several cores: forked workers that inherit the parent's memory (the plan, parsed
trees, caches), with results in input order, so the output is the same whichever way it ran.

Used where items are many and independent (test generation: one alert's scenarios read nothing another alert's
write). `OBSCTL_JOBS=N` sets the number of workers (`1`: everything in-process); by default, the CPUs this process
may use (its affinity mask and cgroup quota), at most MAX_DEFAULT_JOBS: each worker adds its own working set.

Work stays in-process where a fork is unsafe: off Linux (macOS system libraries do not survive a fork), and while
another thread runs (a terminal's progress spinner), since a forked child holds only the forking thread and could
wait forever on a lock another thread held. A worker that dies (killed, out of memory) or whose error cannot come
back is not waited for: the work is done again in-process, where the error is a plain one."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_DEFAULT_JOBS = 4
CHUNKS_PER_WORKER = 4  # items differ in cost: smaller chunks keep every worker busy until the end
_work: tuple[Callable, Sequence] | None = None  # what the forked workers run, inherited at fork
_warned: list[str] = []


def jobs() -> int:
    """How many workers to use: OBSCTL_JOBS when it is a whole number from 1 to 64, else the usable CPUs."""
    wanted = os.environ.get("OBSCTL_JOBS", "").strip()
    if re.fullmatch(r"[0-9]{1,3}", wanted, flags=re.ASCII) and 1 <= int(wanted) <= 64:
        return int(wanted)
    if wanted and wanted not in _warned:
        _warned.append(wanted)
        print(
            f"warning: OBSCTL_JOBS={wanted[:20]!r} is not a whole number from 1 to 64; ignored",
            file=sys.stderr,
        )
    return min(_usable_cpus(), MAX_DEFAULT_JOBS)


def _usable_cpus() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:  # a container's CPU quota (cgroup v2 `cpu.max`: "<quota> <period>" or "max <period>")
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return cpus


def workers_for(count: int, min_items: int) -> int:
    """How many workers `map_in_order` starts for `count` items (1: it runs them in-process)."""
    if count < min_items or threading.active_count() > 1 or not sys.platform.startswith("linux"):
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
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    size = -(-len(items) // (n * CHUNKS_PER_WORKER))
    bounds = [(lo, min(lo + size, len(items))) for lo in range(0, len(items), size)]
    _work = (fn, items)
    try:
        with ProcessPoolExecutor(
            n, mp_context=multiprocessing.get_context("fork"), initializer=_quiet
        ) as pool:
            parts = list(pool.map(_run_chunk, bounds))
    except BrokenProcessPool:
        return [fn(x) for x in items]
    finally:
        _work = None
    return [r for part in parts for r in part]


def _quiet() -> None:
    """In each worker: Ctrl-C is the parent's to handle (it stops the pool), and a worker whose parent is gone
    ends at its next write instead of printing a BrokenPipeError."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def _run_chunk(bounds: tuple[int, int]) -> list:
    assert _work is not None  # set by map_in_order before the fork
    fn, items = _work
    return [fn(items[i]) for i in range(*bounds)]
