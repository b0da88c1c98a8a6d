"""obsctl.workers: work spread over forked workers comes back complete and in order, and runs in-process where a
fork would not pay or is not safe."""

from __future__ import annotations

import os
import threading

import pytest

from obsctl import workers


def _square_with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_results_come_back_in_input_order_from_other_processes(monkeypatch):
    monkeypatch.setenv("OBSCTL_JOBS", "2")
    out = workers.map_in_order(_square_with_pid, list(range(100)), min_items=10)
    assert [v for v, _ in out] == [x * x for x in range(100)]
    assert {pid for _, pid in out} - {os.getpid()}, "nothing ran in a worker"


def test_functions_and_items_need_not_pickle(monkeypatch):
    """Workers inherit `fn` and `items` by the fork: a closure over an unpicklable object works."""
    monkeypatch.setenv("OBSCTL_JOBS", "2")
    lock = threading.Lock()  # cannot be pickled
    out = workers.map_in_order(lambda x: (x, lock is not None), list(range(40)), min_items=10)
    assert out == [(x, True) for x in range(40)]


@pytest.mark.parametrize("jobs", ["1", "0", "two"])
def test_one_job_or_a_bad_value_runs_in_process(monkeypatch, jobs):
    monkeypatch.setenv("OBSCTL_JOBS", jobs)
    if jobs != "1":
        monkeypatch.setattr(workers.os, "sched_getaffinity", lambda _: {0}, raising=False)
    out = workers.map_in_order(_square_with_pid, list(range(50)), min_items=10)
    assert {pid for _, pid in out} == {os.getpid()}


def test_few_items_run_in_process(monkeypatch):
    monkeypatch.setenv("OBSCTL_JOBS", "4")
    out = workers.map_in_order(_square_with_pid, list(range(9)), min_items=10)
    assert {pid for _, pid in out} == {os.getpid()}


def test_no_fork_while_another_thread_runs(monkeypatch):
    """A forked child holds only the forking thread: a lock another thread held would never be released."""
    monkeypatch.setenv("OBSCTL_JOBS", "2")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        out = workers.map_in_order(_square_with_pid, list(range(50)), min_items=10)
    finally:
        stop.set()
        other.join()
    assert {pid for _, pid in out} == {os.getpid()}


def _fails_at_7(x: int) -> int:
    if x == 7:
        raise KeyError("seven")
    return x


def test_an_error_in_a_worker_reaches_the_caller(monkeypatch):
    monkeypatch.setenv("OBSCTL_JOBS", "2")
    with pytest.raises(KeyError, match="seven"):
        workers.map_in_order(_fails_at_7, list(range(40)), min_items=10)
