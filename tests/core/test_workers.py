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


@pytest.mark.parametrize("jobs", ["1", "0", "two", "\u00b2", "9" * 5000, "+2", "-1", "65"])
def test_one_job_or_a_bad_value_runs_in_process(monkeypatch, capsys, jobs):
    """A bad OBSCTL_JOBS is a warning, never a traceback (`\u00b2`.isdigit() is true, and int() of 5,000 digits
    raises), and the default is used: one CPU here."""
    monkeypatch.setenv("OBSCTL_JOBS", jobs)
    monkeypatch.setattr(workers, "_usable_cpus", lambda: 1)
    out = workers.map_in_order(_square_with_pid, list(range(50)), min_items=10)
    assert {pid for _, pid in out} == {os.getpid()}
    if jobs != "1":
        assert "OBSCTL_JOBS" in capsys.readouterr().err


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


def test_off_linux_work_stays_in_process(monkeypatch):
    monkeypatch.setenv("OBSCTL_JOBS", "2")
    monkeypatch.setattr(workers.sys, "platform", "darwin")
    out = workers.map_in_order(_square_with_pid, list(range(50)), min_items=10)
    assert {pid for _, pid in out} == {os.getpid()}


def test_the_default_is_capped(monkeypatch):
    monkeypatch.delenv("OBSCTL_JOBS", raising=False)
    monkeypatch.setattr(workers, "_usable_cpus", lambda: 96)
    assert workers.jobs() == workers.MAX_DEFAULT_JOBS


def test_a_killed_worker_does_not_hang_the_build(monkeypatch):
    """A worker killed mid-work (the OOM killer, say) used to leave the parent waiting forever; the work is now
    done again in-process."""
    import signal

    monkeypatch.setenv("OBSCTL_JOBS", "2")
    parent = os.getpid()

    def dies_in_a_worker(x: int) -> int:
        if os.getpid() != parent and x == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return x + 1

    assert workers.map_in_order(dies_in_a_worker, list(range(40)), min_items=10) == list(range(1, 41))


class _NeedsArguments(Exception):
    def __init__(self, message: str, line: int) -> None:  # pickles, but does not unpickle
        super().__init__(message)
        self.line = line


def test_an_error_that_cannot_come_back_is_raised_in_process(monkeypatch):
    monkeypatch.setenv("OBSCTL_JOBS", "2")

    def fails(x: int) -> int:
        if x == 5:
            raise _NeedsArguments("five", 5)
        return x

    with pytest.raises(_NeedsArguments, match="five"):
        workers.map_in_order(fails, list(range(40)), min_items=10)


def test_workers_leave_ctrl_c_to_the_parent(monkeypatch):
    import signal

    monkeypatch.setenv("OBSCTL_JOBS", "2")
    seen = workers.map_in_order(lambda _: (os.getpid(), signal.getsignal(signal.SIGINT)), list(range(40)), 10)
    assert {h for pid, h in seen if pid != os.getpid()} == {signal.SIG_IGN}
