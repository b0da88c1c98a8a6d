"""`obsctl build` writes and deletes only inside --out, only its own files, all or nothing, one build at a time
(issue 17). Each test names the defect it holds down; each failed on the code before obsctl/outdir.py."""

from __future__ import annotations

import errno
import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from test_build_command import ASSET_WS, _copy_example
from typer.testing import CliRunner

from obsctl import outdir
from obsctl.cli import app

OBSCTL = [shutil.which("obsctl") or sys.executable, *([] if shutil.which("obsctl") else ["-m", "obsctl.cli"])]


def _build(*args: str) -> object:
    return CliRunner().invoke(app, ["build", *args])


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` but obsctl's bookkeeping, with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != ".obsctl"
    }


def _no_leftovers(out: Path) -> None:
    assert not list(out.glob(".obsctl-staging-*"))
    assert not (out / ".obsctl" / "txn").exists()
    assert not (out / ".obsctl" / "lock").exists()


def _changed_spec(spec: Path) -> Path:
    """The example with one threshold changed and one alert renamed (a file replaced, one removed, one added)."""
    new = spec.with_name("changed.yaml")
    text = spec.read_text().replace("when: api_error_rate_5m >= 0.05", "when: api_error_rate_5m >= 0.1")
    new.write_text(text.replace("  WorkerPersistentRefreshFailures:", "  WorkerRefreshFailures:"))
    return new


# --- paths stay inside --out -------------------------------------------------------------------------------


def test_a_manifest_line_with_dotdot_is_an_error_and_nothing_outside_is_deleted(tmp_path, monkeypatch):
    """Was: the line `alertmanager/../../victim.txt` made the next build delete a file outside --out."""
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    (tmp_path / "deploy").mkdir()
    assert _build(str(spec), "--out", "deploy/out", "-t", "alertmanager").exit_code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("not obsctl's")
    manifest = tmp_path / "deploy" / "out" / ".obsctl" / "asset-ws.files"
    before = manifest.read_text()
    manifest.write_text(before + "alertmanager/../../../victim.txt\n/etc/hostname\n")
    result = _build(str(spec), "--out", "deploy/out", "-t", "alertmanager")
    assert result.exit_code == 1
    assert "OBS903" in result.stderr and "alertmanager/../../../victim.txt" in result.stderr
    assert f"asset-ws.files:{before.count(chr(10)) + 1}:1" in result.stderr  # file and line of the bad entry
    assert "nothing in --out was changed" in result.stderr
    assert victim.read_text() == "not obsctl's"
    assert "Traceback" not in result.output


def test_a_symlinked_directory_inside_out_is_refused_not_followed(tmp_path, monkeypatch):
    """Was: `out/datadog -> elsewhere` made build write (and delete) monitors in `elsewhere`."""
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "datadog").symlink_to(elsewhere)
    result = _build(str(spec), "--out", "out", "-t", "datadog")
    assert result.exit_code == 1 and "OBS903" in result.stderr and "symbolic link" in result.stderr
    assert list(elsewhere.iterdir()) == []
    _no_leftovers(tmp_path / "out")


def test_environment_names_that_would_be_paths_are_refused(tmp_path, monkeypatch):
    """Was: `--env "x/../../../.."` (and such a key in `environments:`) wrote outside the output folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    spec = tmp_path / "a" / "spec.yaml"
    spec.write_text(ASSET_WS.read_text() + 'environments:\n  "x/../../../..":\n    labels: {tier: x}\n')
    result = _build(str(spec), "--env", "x/../../../..", "-t", "prometheus")
    assert result.exit_code == 2 and "not a valid environment name" in result.output
    result = CliRunner().invoke(app, ["validate", str(spec)])
    assert (
        result.exit_code == 1
        and "OBS104" in result.output
        and "not a valid environment name" in result.output
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "spec.yaml"]
    assert not (tmp_path.parent / "prometheus").exists()  # where build/asset-ws-x/../../../.. led


# --- services sharing one --out ----------------------------------------------------------------------------


def test_two_services_in_one_out_keep_their_own_datadog_files(tmp_path, monkeypatch):
    """Was: both services wrote datadog/monitors/<Alert>.json, and removing an alert from one deleted the other's."""
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text(spec.read_text().replace("service: asset-ws", "service: asset-worker"))
    assert _build(str(spec), "--out", "out", "-t", "datadog").exit_code == 0
    assert _build(str(other), "--out", "out", "-t", "datadog").exit_code == 0
    monitors = tmp_path / "out" / "datadog" / "monitors"
    assert (monitors / "asset-ws.WorkerPersistentRefreshFailures.json").is_file()
    assert (monitors / "asset-worker.WorkerPersistentRefreshFailures.json").is_file()
    spec.write_text(
        spec.read_text().replace("  WorkerPersistentRefreshFailures:", "  WorkerRefreshFailures:")
    )
    assert _build(str(spec), "--out", "out", "-t", "datadog").exit_code == 0
    assert not (monitors / "asset-ws.WorkerPersistentRefreshFailures.json").exists()
    assert (monitors / "asset-worker.WorkerPersistentRefreshFailures.json").is_file()
    assert _build(str(other), "--out", "out", "-t", "datadog", "--check").exit_code == 0


def test_a_second_service_cannot_overwrite_the_alertmanager_config(tmp_path, monkeypatch):
    """Was: the second service's alertmanager.yml silently replaced the first one's routing."""
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text(spec.read_text().replace("service: asset-ws", "service: asset-worker"))
    assert _build(str(spec), "--out", "out", "-t", "alertmanager").exit_code == 0
    before = _tree(tmp_path / "out")
    result = _build(str(other), "--out", "out", "-t", "alertmanager")
    assert result.exit_code == 1 and "OBS904" in result.stderr
    assert "alertmanager.yml" in result.stderr and "asset-ws.files" in result.stderr
    assert "own --out" in result.stderr and "include:" in result.stderr
    assert _tree(tmp_path / "out") == before
    assert not (tmp_path / "out" / ".obsctl" / "asset-worker.files").exists()


def test_names_that_run_together_into_one_file_list_are_an_error(tmp_path, monkeypatch):
    """Service `a-b` environment `c` and service `a` environment `b-c` share `.obsctl/a-b-c.files`: without the
    owner line the second build took the first one's files for its own and deleted them."""
    monkeypatch.chdir(tmp_path)
    base = "version: 1\nservice: {svc}\nenvironments:\n  {env}: {{}}\n"
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(
        base.format(svc="a-b", env="c")
        + ASSET_WS.read_text()
        .split("environments:")[0]
        .replace("service: asset-ws", "")
        .replace("version: 1\n", "")
    )
    second.write_text(first.read_text().replace("service: a-b", "service: a").replace("  c: {}", "  b-c: {}"))
    assert _build(str(first), "--env", "c", "--out", "out", "-t", "prometheus").exit_code == 0
    result = _build(str(second), "--env", "b-c", "--out", "out", "-t", "prometheus")
    assert (
        result.exit_code == 1 and "OBS904" in result.stderr and "service a-b, environment c" in result.stderr
    )
    assert (tmp_path / "out" / "prometheus" / "a-b.rules.yml").is_file()


# --- all or nothing ----------------------------------------------------------------------------------------


def test_a_failure_while_moving_files_in_restores_the_old_tree(tmp_path, monkeypatch):
    """Was: a destination that could not be replaced left a mix of old and new files and a staging folder,
    while the message said nothing was written."""
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    assert _build(str(spec), "--out", "out", "-t", "datadog").exit_code == 0
    old = _tree(tmp_path / "out")
    changed = _changed_spec(spec)
    moves = []
    real_step = outdir._step

    def in_the_way() -> None:  # a directory appears at the last destination once files are moving in
        real_step()
        moves.append(1)
        if len(moves) == 30:
            (tmp_path / "out" / "datadog" / "monitors" / "asset-ws.WorkerStalled.json").unlink()
            (tmp_path / "out" / "datadog" / "monitors" / "asset-ws.WorkerStalled.json").mkdir()

    monkeypatch.setattr(outdir, "_step", in_the_way)
    result = _build(str(changed), "--out", "out", "-t", "datadog")
    assert result.exit_code == 1 and "OBS906" in result.stderr
    assert (
        "moved back: --out holds the build before" in result.stderr
        and "nothing was written" not in result.stderr
    )
    old.pop("datadog/monitors/asset-ws.WorkerStalled.json")  # the test's own directory replaced it
    assert _tree(tmp_path / "out") == old
    _no_leftovers(tmp_path / "out")


def test_a_directory_in_the_way_is_found_before_anything_changes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    assert _build(str(spec), "--out", "out", "-t", "datadog").exit_code == 0
    (tmp_path / "out" / "datadog" / "monitors" / "asset-ws.WorkerStalled.json").unlink()
    (tmp_path / "out" / "datadog" / "monitors" / "asset-ws.WorkerStalled.json").mkdir()
    before = _tree(tmp_path / "out")
    result = _build(str(_changed_spec(spec)), "--out", "out", "-t", "datadog")
    assert result.exit_code == 1 and "is a directory where obsctl writes a file" in result.stderr
    assert "nothing in --out was changed" in result.stderr
    assert _tree(tmp_path / "out") == before
    _no_leftovers(tmp_path / "out")


def test_a_staging_folder_left_by_an_older_obsctl_is_removed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    (tmp_path / "out" / ".obsctl-staging-abc" / "prometheus").mkdir(parents=True)
    result = _build(str(spec), "--out", "out", "-t", "prometheus")
    assert result.exit_code == 0 and "removed a staging folder" in result.stderr
    _no_leftovers(tmp_path / "out")


def _old_and_new(tmp_path: Path) -> tuple[Path, dict[str, bytes], dict[str, bytes], int]:
    """The example built into old/, the changed spec built over a copy of it into new/, and how many changes to
    --out that second build makes."""
    spec = _copy_example(tmp_path)
    changed = _changed_spec(spec)
    assert _build(str(spec), "--out", "old", "-t", "datadog").exit_code == 0
    shutil.copytree(tmp_path / "old", tmp_path / "new")
    steps = []
    real_step = outdir._step
    outdir._step = lambda: (steps.append(1), real_step())
    try:
        assert _build(str(changed), "--out", "new", "-t", "datadog").exit_code == 0
    finally:
        outdir._step = real_step
    old, new = _tree(tmp_path / "old"), _tree(tmp_path / "new")
    assert old != new and len(steps) > 20
    return changed, old, new, len(steps)


def test_builds_killed_at_20_points_leave_the_old_or_the_new_tree(tmp_path, monkeypatch):
    """kill -9 at 20 seeded points of a build into an existing --out: what `build`/`--check` run first finishes or
    undoes it, and --out holds exactly the old or the new files, with no staging left. (Was: a mix, and a
    .obsctl-staging-* folder.) The writer is a forked child killed by the step hook, so the spec renders once."""
    from obsctl.build import render

    monkeypatch.chdir(tmp_path)
    changed, old, new, steps = _old_and_new(tmp_path)
    artifacts, _, _ = render(changed, ["datadog"], None, None, {"format": "rules"})
    seen = set()
    for i, k in enumerate(sorted(random.Random(17).sample(range(1, steps + 1), 20))):
        out = tmp_path / f"run{i}"
        shutil.copytree(tmp_path / "old", out)
        pid = os.fork()
        if pid == 0:  # the child writes, and kills itself (SIGKILL: no clean-up runs) at its k-th change
            try:
                os.environ[outdir._KILL_HOOK] = str(k)
                outdir.write(out, artifacts, "asset-ws", None)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (k, status)
        diffs = outdir.compare(out, artifacts, "asset-ws", None)  # what `build --check` does once rendered
        tree = _tree(out)
        assert tree in (old, new), f"step {k}: a mix of old and new files"
        assert (not diffs) == (tree == new)
        _no_leftovers(out)
        seen.add("new" if tree == new else "old")
        shutil.rmtree(out)
    assert seen == {"old", "new"}


def test_a_killed_obsctl_build_is_recovered_by_the_next_command(tmp_path, monkeypatch):
    """The same through the command line: killed while staging (old tree) and after the commit (new tree)."""
    monkeypatch.chdir(tmp_path)
    changed, old, new, steps = _old_and_new(tmp_path)
    for k, expected in ((2, old), (steps - 1, new)):
        out = tmp_path / f"at{k}"
        shutil.copytree(tmp_path / "old", out)
        env = {**os.environ, outdir._KILL_HOOK: str(k)}
        killed = subprocess.run(
            [*OBSCTL, "build", str(changed), "--out", str(out), "-t", "datadog"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert (out / ".obsctl" / "txn").is_dir()
        after = subprocess.run(
            [*OBSCTL, "build", str(changed), "--out", str(out), "-t", "datadog", "--check"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert after.returncode == (0 if expected is new else 1) and "Traceback" not in after.stderr
        assert "interrupted" in after.stderr
        assert _tree(out) == expected
        _no_leftovers(out)


# --- one build at a time -----------------------------------------------------------------------------------


def test_a_second_build_into_the_same_out_fails_at_once_naming_the_lock(tmp_path, monkeypatch):
    """Was: two concurrent builds into one --out interleaved their moves."""
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    (tmp_path / "out" / ".obsctl").mkdir(parents=True)
    with open(tmp_path / "out" / ".obsctl" / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = _build(str(spec), "--out", "out", "-t", "prometheus")
    assert result.exit_code == 1 and "OBS905" in result.stderr and "out/.obsctl/lock" in result.stderr
    assert not (tmp_path / "out" / "prometheus").exists()
    assert _build(str(spec), "--out", "out", "-t", "prometheus").exit_code == 0  # released with its holder


# --- errors, not tracebacks --------------------------------------------------------------------------------


def test_check_against_a_non_utf8_file_reports_it_as_differing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    assert _build(str(spec), "--out", "out", "-t", "prometheus").exit_code == 0
    (tmp_path / "out" / "prometheus" / "asset-ws.rules.yml").write_bytes(b"\xff\xfe not text\n")
    result = _build(str(spec), "--out", "out", "-t", "prometheus", "--check")
    assert result.exit_code == 1 and "asset-ws.rules.yml: not UTF-8 text" in result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_check_does_not_read_through_a_symlink(tmp_path, monkeypatch):
    """A committed file swapped for a link to a secret: --check says it differs, and prints none of the secret."""
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    assert _build(str(spec), "--out", "out", "-t", "prometheus").exit_code == 0
    secret = tmp_path / "secret"
    secret.write_text("hunter2\n")
    rules = tmp_path / "out" / "prometheus" / "asset-ws.rules.yml"
    rules.unlink()
    rules.symlink_to(secret)
    result = _build(str(spec), "--out", "out", "-t", "prometheus", "--check")
    assert result.exit_code == 1 and "symbolic link" in result.stdout and "hunter2" not in result.output


def test_a_full_disk_in_out_is_an_error_and_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    assert _build(str(spec), "--out", "out", "-t", "datadog").exit_code == 0
    before = _tree(tmp_path / "out")
    real_write = os.write
    monkeypatch.setattr(
        os, "write", lambda fd, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device"))
    )
    result = _build(str(_changed_spec(spec)), "--out", "out", "-t", "datadog")
    monkeypatch.setattr(os, "write", real_write)
    assert result.exit_code == 1 and "OBS906" in result.stderr and "No space left on device" in result.stderr
    assert "nothing in --out was changed" in result.stderr
    assert _tree(tmp_path / "out") == before
    _no_leftovers(tmp_path / "out")


def test_a_read_only_out_is_an_error(tmp_path, monkeypatch):
    """Read-only filesystems are simulated (the tests run as root, which file modes do not stop)."""
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    real_mkdir, real_open = os.mkdir, os.open

    def read_only_mkdir(path, *args, **kwargs):
        if Path(path).name == "fresh":
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", read_only_mkdir)
    result = _build(str(spec), "--out", "fresh", "-t", "prometheus")
    assert result.exit_code == 1 and "OBS906" in result.stderr
    assert "cannot write to fresh: Read-only file system" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert _build(str(spec), "--out", "out", "-t", "prometheus").exit_code == 0
    before = _tree(tmp_path / "out")

    def read_only_open(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_open)
    result = _build(str(_changed_spec(spec)), "--out", "out", "-t", "prometheus")
    assert result.exit_code == 1 and "cannot write to out: Read-only file system" in result.stderr
    assert "nothing in --out was changed" in result.stderr
    assert _tree(tmp_path / "out") == before


def test_a_full_tmpdir_is_an_error_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("obsctl.build._write_tree", full)
    result = _build(str(spec), "--out", "out", "-t", "prometheus")
    assert result.exit_code == 1 and "OBS906" in result.stderr and "TMPDIR" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "out").exists()


def test_a_rebuild_rewrites_only_the_files_that_change(tmp_path, monkeypatch):
    """Was: every build staged, synced and moved in every file, so a rebuild after one threshold changed replaced
    all of them (a thousand Datadog monitors for one alert). Files that keep their bytes now keep their inode."""
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    assert _build(str(spec), "--out", "out", "-t", "datadog").exit_code == 0
    out = tmp_path / "out"
    inodes = {p: (out / p).stat().st_ino for p in _tree(out)}
    spec.write_text(_changed_spec(spec).read_text())  # the same file: its name is in what build writes
    assert _build(str(spec), "--out", "out", "-t", "datadog").exit_code == 0
    assert _build(str(spec), "--out", "fresh", "-t", "datadog").exit_code == 0
    assert _tree(out) == _tree(tmp_path / "fresh")
    kept = {p for p in _tree(out) if inodes.get(p) == (out / p).stat().st_ino}
    replaced = {p for p in _tree(out) if p in inodes} - kept
    assert len(kept) > 5 and replaced, (kept, replaced)
    _no_leftovers(out)


def test_an_unreadable_file_with_the_same_size_is_replaced_not_an_error(tmp_path, monkeypatch):
    """A file the build would leave alone if it held the same bytes, but which cannot be read, is replaced as any
    other file is (the rename needs only the directory), not reported as an error."""
    if os.geteuid() == 0:
        monkeypatch.setattr(
            outdir, "_read", lambda root, path: (_ for _ in ()).throw(PermissionError(13, "denied"))
        )
    monkeypatch.chdir(tmp_path)
    spec = _copy_example(tmp_path)
    assert _build(str(spec), "--out", "out", "-t", "datadog").exit_code == 0
    target = next((tmp_path / "out" / "datadog" / "monitors").iterdir())
    before = target.read_bytes()
    target.chmod(0)
    try:
        result = _build(str(spec), "--out", "out", "-t", "datadog")
    finally:
        target.chmod(0o644)
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes() == before
