"""The output directory (`--out`): where `obsctl build` writes and deletes, and nowhere else.

- Paths: every path written, replaced or deleted is relative, without `.`/`..`, and reached through real
  directories only. Directories are opened one component at a time with O_NOFOLLOW relative to `--out`, so a
  symlinked directory inside `--out` (or one swapped in while obsctl runs) is refused, never followed.
- Ownership: `<out>/.obsctl/<service>[-<env>].files` lists the files one spec (and environment) wrote. Other
  files are never touched; a path another manifest lists is an error, never overwritten or deleted, so
  services can share one deploy directory.
- All or nothing: the new files are staged in `<out>/.obsctl/txn/new/`, then a journal is written and synced
  (the commit point); files are then moved in, the replaced and deleted ones kept in `txn/old/` until the end.
  A failure while moving undoes every move; after a kill, the next build or `--check` into the same `--out`
  finishes a committed journal (or undoes it, when it cannot finish) and drops an uncommitted one.
- One build at a time: `flock` on `<out>/.obsctl/lock`, released by the kernel when the process ends.
- Only what changes: a file that already holds the bytes a build would write is left as it is.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .backends import Artifact
from .diagnostics import Diagnostic, Location

BOOKKEEPING = ".obsctl"
LOCK = "lock"
TXN = "txn"
JOURNAL = "journal"
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.@+=,-]*")  # one path component obsctl writes (no dot file)
_ALERTMANAGER = "alertmanager/alertmanager.yml"
_KILL_HOOK = "OBSCTL_TEST_KILL_AT_STEP"


class OutDirError(Exception):
    """The output directory cannot be written as asked: diagnostics, and what state `--out` is in."""

    def __init__(self, diagnostics: list[Diagnostic], outcome: str = "nothing in --out was changed") -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics
        self.outcome = outcome


def _error(code: str, message: str, hint: str = "", location: Location | None = None) -> Diagnostic:
    return Diagnostic(code, "error", message, location, "", hint)


def default_out(service: str, env: str | None) -> Path:
    return Path("build") / (f"{service}-{env}" if env else service)


def manifest_name(service: str, env: str | None) -> str:
    return f"{service}-{env}.files" if env else f"{service}.files"


def _owner_line(service: str, env: str | None) -> str:
    # Names like a-b + env c and a + env b-c share a file name: the first line says whose list it is.
    return f"# obsctl manifest of service {service}" + (f", environment {env}" if env else "")


def safe_path(path: str) -> bool:
    """A relative posix path of plain names: no '', '.', '..', absolute path, backslash or control character."""
    parts = path.split("/")
    return bool(path) and all(_NAME.fullmatch(p) and ".." not in p for p in parts) and parts[0] != BOOKKEEPING


def _step() -> None:
    """Called before every change obsctl makes in --out. Test hook: with OBSCTL_TEST_KILL_AT_STEP=k the process
    kills itself (SIGKILL, no clean-up) at its k-th change, so tests can stop a build at every point."""
    at = os.environ.get(_KILL_HOOK)
    if at:
        _step.count = getattr(_step, "count", 0) + 1
        if _step.count == int(at):
            os.kill(os.getpid(), signal.SIGKILL)


# --- reaching files through real directories only ---------------------------------------------------------


class _Symlink(Exception):
    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def _open_dir(base: int, parts: list[str], create: bool = False, shown: str = "") -> int | None:
    """A directory fd for base/parts, never following a symlink; None when missing and not `create`."""
    fd = os.dup(base)
    done: list[str] = []
    try:
        for name in parts:
            done.append(name)
            try:
                nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    os.close(fd)
                    return None
                _step()
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, dir_fd=fd)
                nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR) and stat.S_ISLNK(
                    os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
                ):
                    raise _Symlink("/".join(filter(None, [shown, *done]))) from None
                raise
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def _lstat(fd: int | None, name: str) -> os.stat_result | None:
    if fd is None:
        return None
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _split(path: str) -> tuple[list[str], str]:
    *parents, name = path.split("/")
    return parents, name


# --- the lock ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(root: int, out: Path, optional: bool = False) -> Iterator[None]:
    """Hold `<out>/.obsctl/lock` for the whole run; a second build fails at once. The file is removed at the end
    (a waiting process re-checks that the file it locked is still the one at that path)."""
    where = out / BOOKKEEPING / LOCK
    try:
        book = _open_dir(root, [BOOKKEEPING], create=True)
        fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644, dir_fd=book)
    except OSError as e:
        if optional and e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            yield  # --check of a read-only tree: nothing can change it, nothing to guard
            return
        raise
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutDirError(
                    [
                        _error(
                            "OBS905",
                            f"another obsctl build is using {out}: it holds the lock {where}",
                            "wait for it to finish, or build into another --out; the lock is released when that "
                            "process ends, even when it is killed",
                        )
                    ],
                    "nothing in --out was changed",
                ) from None
            now = _lstat(book, LOCK)
            if now is not None and (now.st_ino, now.st_dev) == (os.fstat(fd).st_ino, os.fstat(fd).st_dev):
                break
            os.close(fd)  # the holder removed the file while we waited for it: lock the new one
            fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644, dir_fd=book)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(LOCK, dir_fd=book)
        os.close(fd)
        os.close(book)


# --- manifests -----------------------------------------------------------------------------------------------


@dataclass
class _Manifests:
    mine: set[str] = field(default_factory=set)
    others: dict[str, str] = field(default_factory=dict)  # path -> the manifest that lists it


def _read_manifests(root: int, out: Path, service: str, env: str | None) -> _Manifests:
    found = _Manifests()
    try:
        book = _open_dir(root, [BOOKKEEPING])
    except _Symlink as e:
        raise _escape(out, e.where) from None
    if book is None:
        return found
    try:
        names = sorted(n for n in os.listdir(book) if n.endswith(".files"))
        problems = []
        for name in names:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=book)
            except OSError:
                continue  # not a regular file: obsctl did not write it
            with os.fdopen(fd, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            lines = text.split("\n")
            if (
                name == manifest_name(service, env)
                and lines[0].startswith("# obsctl manifest of ")
                and lines[0] != _owner_line(service, env)
            ):
                problems.append(
                    _error(
                        "OBS904",
                        f"{out / BOOKKEEPING / name} is the file list of another build "
                        f"({lines[0].removeprefix('# obsctl manifest of ')})",
                        "service and environment names run together into this file name: build one of them "
                        "into another --out",
                        Location(str(out / BOOKKEEPING / name), 1, 1),
                    )
                )
                continue
            for i, line in enumerate(lines, 1):
                if not line or line.startswith("#"):
                    continue
                if not safe_path(line):
                    problems.append(
                        _error(
                            "OBS903",
                            f"the file list names a path outside {out} or in its bookkeeping: {line!r}",
                            "obsctl writes only plain relative paths there: remove the line (or the file) and build "
                            "again",
                            Location(str(out / BOOKKEEPING / name), i, 1),
                        )
                    )
                elif name == manifest_name(service, env):
                    found.mine.add(line)
                else:
                    found.others.setdefault(line, name)
        if problems:
            raise OutDirError(problems)
        return found
    finally:
        os.close(book)


def _escape(out: Path, where: str) -> OutDirError:
    return OutDirError(
        [
            _error(
                "OBS903",
                f"{out / where} is a symbolic link: obsctl writes and deletes only through real directories "
                f"inside {out}",
                "replace the link with a directory (or build into another --out)",
            )
        ]
    )


# --- planning: everything is checked before anything is touched -----------------------------------------------


@dataclass
class Plan:
    puts: dict[str, bytes]  # path -> content, including this build's file list
    deletes: list[str]
    mkdirs: list[str]


def _plan(root: int | None, out: Path, artifacts: list[Artifact], service: str, env: str | None) -> Plan:
    bad = [a.path for a in artifacts if not safe_path(a.path)]
    if bad:
        raise OutDirError(
            [
                _error(
                    "OBS903",
                    f"an output path would leave {out}: {p!r}",
                    "this is a bug in obsctl or a --templates override",
                )
                for p in bad
            ]
        )
    lists = _read_manifests(root, out, service, env) if root is not None else _Manifests()
    problems = []
    for a in artifacts:
        if a.path in lists.others:
            owner = lists.others[a.path]
            hint = (
                "Alertmanager reads one configuration, so one --out holds one service's routing: build "
                "each service into its own --out, or give one spec the others' routing with `include:`"
                if a.path == _ALERTMANAGER
                else "two services or environments cannot share a path: build into another --out"
            )
            problems.append(
                _error(
                    "OBS904",
                    f"{out / a.path} belongs to another build in {out} "
                    f"(listed in {out / BOOKKEEPING / owner}); it is not overwritten",
                    hint,
                )
            )
    if problems:
        raise OutDirError(problems)
    wanted = {a.path for a in artifacts}
    tops = {p.split("/", 1)[0] for p in wanted}
    deletes = []
    for p in sorted(lists.mine):
        if p.split("/", 1)[0] in tops and p not in wanted and p not in lists.others:
            st = _stat_path(root, out, p)
            if st is not None and stat.S_ISREG(st.st_mode):
                deletes.append(p)
    listed = sorted({p for p in lists.mine if p.split("/", 1)[0] not in tops} | wanted)
    manifest = "".join(f"{line}\n" for line in [_owner_line(service, env), *listed])
    puts = {a.path: a.text.encode("utf-8") for a in artifacts}
    puts[f"{BOOKKEEPING}/{manifest_name(service, env)}"] = manifest.encode("utf-8")
    mkdirs: set[str] = set()
    same: list[str] = []  # regular files of the new size: compared below
    for p in puts:
        parents, _ = _split(p)
        for i in range(1, len(parents) + 1):
            d = "/".join(parents[:i])
            st = _stat_path(root, out, d)
            if st is None:
                mkdirs.add(d)
            elif not stat.S_ISDIR(st.st_mode):
                problems.append(
                    _error(
                        "OBS906",
                        f"{out / d} is a file where obsctl writes a directory",
                        "move it away, or build into another --out",
                    )
                )
        st = _stat_path(root, out, p)
        if st is not None and stat.S_ISDIR(st.st_mode):
            problems.append(
                _error(
                    "OBS906",
                    f"{out / p} is a directory where obsctl writes a file",
                    "move it away, or build into another --out",
                )
            )
        elif st is not None and stat.S_ISREG(st.st_mode) and st.st_size == len(puts[p]):
            same.append(p)
    if problems:
        raise OutDirError(list({d.message: d for d in problems}.values()))
    # A file that already holds its bytes is left alone: rebuilding a thousand monitors after one alert changed
    # stages, syncs and moves one file, and the others keep their modification times.
    for p in same:
        with contextlib.suppress(OSError):  # unreadable (mode 000, say): replaced, as before
            if _read(root, p) == (puts[p], ""):
                del puts[p]
    return Plan(puts, deletes, sorted(mkdirs, key=lambda d: (d.count("/"), d)))


def _stat_path(root: int | None, out: Path, path: str) -> os.stat_result | None:
    if root is None:
        return None
    parents, name = _split(path)
    try:
        fd = _open_dir(root, parents)
    except _Symlink as e:
        raise _escape(out, e.where) from None
    except NotADirectoryError:
        return None  # reported by the caller's check of the parent
    try:
        return _lstat(fd, name)
    finally:
        if fd is not None:
            os.close(fd)


# --- the transaction -----------------------------------------------------------------------------------------


class _Txn:
    """Moves between --out and `.obsctl/txn/{new,old}`, forward and back, each step safe to repeat."""

    def __init__(self, root: int, out: Path, journal: dict) -> None:
        self.root, self.out, self.journal = root, out, journal
        self.txn = _open_dir(root, [BOOKKEEPING, TXN], shown=BOOKKEEPING)
        self.synced: set[int] = set()
        self.fds: dict[tuple[str, str], int] = {}

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        os.close(self.txn)

    def _dir(self, where: str, parents: list[str], create: bool) -> int | None:
        key = (where, "/".join(parents))
        if key not in self.fds:
            base, shown = (self.root, "") if where == "out" else (self.txn, f"{BOOKKEEPING}/{TXN}/{where}")
            parts = parents if where == "out" else [where, *parents]
            try:
                fd = _open_dir(base, parts, create=create, shown=shown)
            except _Symlink as e:
                raise _escape(self.out, e.where) from None
            if fd is None:
                return None
            self.fds[key] = fd
        return self.fds[key]

    def _move(self, name: str, src: int, dst: int) -> None:
        _step()
        os.rename(name, name, src_dir_fd=src, dst_dir_fd=dst)

    def forward(self) -> None:
        for p in self.journal["puts"]:
            parents, name = _split(p)
            new = self._dir("new", parents, False)
            if new is None or _lstat(new, name) is None:
                continue  # already moved in
            dst = self._dir("out", parents, True)
            old = self._dir("old", parents, True)
            here = _lstat(dst, name)
            if here is not None and stat.S_ISDIR(here.st_mode):
                raise IsADirectoryError(errno.EISDIR, "a directory is in the way", str(self.out / p))
            if here is not None and _lstat(old, name) is None:
                self._move(name, dst, old)  # keep the old file until the end, to undo with
            self._move(name, new, dst)
        for p in self.journal["deletes"]:
            parents, name = _split(p)
            dst = self._dir("out", parents, False)
            here = _lstat(dst, name)
            if here is not None and stat.S_ISREG(here.st_mode):
                old = self._dir("old", parents, True)
                if _lstat(old, name) is None:
                    self._move(name, dst, old)
        for (where, _), fd in self.fds.items():
            if where == "out":  # the moves are on disk before the journal that could undo them goes
                os.fsync(fd)

    def backward(self) -> None:
        for p in reversed(self.journal["deletes"]):
            parents, name = _split(p)
            old = self._dir("old", parents, False)
            if old is not None and _lstat(old, name) is not None:
                self._move(name, old, self._dir("out", parents, True))
        for p in reversed(self.journal["puts"]):
            parents, name = _split(p)
            new = self._dir("new", parents, True)
            dst = self._dir("out", parents, False)
            if _lstat(new, name) is None and dst is not None and _lstat(dst, name) is not None:
                self._move(name, dst, new)  # ours: back to staging
            old = self._dir("old", parents, False)
            if old is not None and _lstat(old, name) is not None:
                self._move(name, old, self._dir("out", parents, True))
        for key in [k for k in self.fds if k[0] == "out"]:
            os.close(self.fds.pop(key))
        for d in reversed(self.journal["mkdirs"]):  # directories this build made, when empty again
            parents, name = _split(d)
            fd = _open_dir(self.root, parents)
            if fd is not None:
                with contextlib.suppress(OSError):
                    if _lstat(fd, name) is not None:
                        _step()
                        os.rmdir(name, dir_fd=fd)
                os.close(fd)


def _finish(root: int) -> None:
    """Drop the journal (the transaction is over), then the staging."""
    book = _open_dir(root, [BOOKKEEPING])
    if book is None:
        return
    try:
        txn = _open_dir(book, [TXN])
        if txn is not None:
            with contextlib.suppress(FileNotFoundError):
                _step()
                os.unlink(JOURNAL, dir_fd=txn)
            os.fsync(txn)
            os.close(txn)
            _step()
            shutil.rmtree(TXN, dir_fd=book)
    finally:
        os.close(book)


def _valid_journal(data: object) -> bool:
    return (
        isinstance(data, dict)
        and all(isinstance(data.get(k), list) for k in ("puts", "deletes", "mkdirs"))
        and all(
            isinstance(p, str) and (safe_path(p) or _is_manifest(p))
            for k in ("puts", "deletes", "mkdirs")
            for p in data[k]
        )
    )


def _is_manifest(p: str) -> bool:
    parts = p.split("/")
    return (
        len(parts) == 2
        and parts[0] == BOOKKEEPING
        and parts[1].endswith(".files")
        and _NAME.fullmatch(parts[1]) is not None
        and ".." not in parts[1]
    )


def recover(root: int, out: Path) -> str:
    """Finish (or undo) a build that was killed; returns what was done, '' when there was nothing to do."""
    did = ""
    for name in os.listdir(root):  # left by obsctl versions that staged beside the files
        if name.startswith(".obsctl-staging-") and stat.S_ISDIR(
            os.stat(name, dir_fd=root, follow_symlinks=False).st_mode
        ):
            _step()
            shutil.rmtree(name, dir_fd=root)
            did = did or "removed a staging folder left by an interrupted build"
    try:
        txn = _open_dir(root, [BOOKKEEPING, TXN])
    except _Symlink as e:
        raise _escape(out, e.where) from None
    if txn is None:
        return did
    try:
        with open(os.open(JOURNAL, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=txn), "rb") as f:
            journal = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        journal = None
    except (OSError, ValueError):
        journal = {}
    finally:
        os.close(txn)
    if journal is None:  # not committed: --out was not touched yet
        _finish(root)
        return "dropped the staging of an interrupted build; the files in --out are those of the build before"
    if not _valid_journal(journal):
        raise OutDirError(
            [
                _error(
                    "OBS903",
                    f"{out / BOOKKEEPING / TXN / JOURNAL} is not a journal obsctl wrote",
                    f"check {out} by hand, then remove {out / BOOKKEEPING / TXN}",
                )
            ],
            "nothing in --out was changed",
        )
    _apply(root, out, journal)
    return "finished a build that was interrupted after it was committed"


def _apply(root: int, out: Path, journal: dict) -> None:
    """Carry out a committed journal; on failure move every file back, so --out holds the build before."""
    t = _Txn(root, out, journal)
    failure: Exception | None = None
    try:
        try:
            t.forward()
        except (OSError, OutDirError) as e:
            failure = e
        if failure is not None:
            try:
                t.backward()
            except (OSError, OutDirError) as e:
                raise OutDirError(
                    [
                        _error(
                            "OBS906",
                            f"cannot write to {out}: {_reason(failure)}; moving the files back failed too: "
                            f"{_reason(e)}",
                            f"the journal is kept in {out / BOOKKEEPING / TXN}: the next build or --check "
                            f"into {out} finishes or undoes it",
                        )
                    ],
                    f"{out} holds a mix of old and new files until the next build into it",
                ) from None
    finally:
        t.close()
    with contextlib.suppress(OSError):  # the files are in place (or back); a journal left over is a no-op
        _finish(root)
    if isinstance(failure, OutDirError):
        failure.outcome = "every file moved was moved back: --out holds the build before"
        raise failure
    if failure is not None:
        raise OutDirError(
            [
                _error(
                    "OBS906",
                    f"cannot write to {out}: {_reason(failure)}",
                    "free the path (or space), or build into another --out",
                )
            ],
            "every file moved was moved back: --out holds the build before",
        )


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError):
        where = f" ({e.filename})" if e.filename else ""
        return f"{e.strerror or e}{where}"
    return str(e)


def _stage(root: int, plan: Plan) -> None:
    """Write the new files under .obsctl/txn/new and commit the journal that moves them in."""
    book = _open_dir(root, [BOOKKEEPING], create=True)
    try:
        if _lstat(book, TXN) is not None:
            _step()
            shutil.rmtree(TXN, dir_fd=book)
        _step()
        os.mkdir(TXN, dir_fd=book)
        txn = _open_dir(book, [TXN])
    finally:
        os.close(book)
    try:
        dirs: dict[str, int] = {}
        for path, data in plan.puts.items():
            parents, name = _split(path)
            key = "/".join(parents)
            if key not in dirs:
                dirs[key] = _open_dir(txn, ["new", *parents], create=True)
            _step()
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666, dir_fd=dirs[key])
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        for fd in dirs.values():
            os.fsync(fd)
            os.close(fd)
        body = json.dumps({"puts": list(plan.puts), "deletes": plan.deletes, "mkdirs": plan.mkdirs}).encode()
        _step()
        fd = os.open(JOURNAL + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=txn)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        _step()
        os.rename(JOURNAL + ".tmp", JOURNAL, src_dir_fd=txn, dst_dir_fd=txn)  # the commit point
        os.fsync(txn)
    finally:
        os.close(txn)


def _open_root(out: Path, create: bool) -> int | None:
    if create:
        out.mkdir(parents=True, exist_ok=True)
    try:
        return os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        if create:
            raise
        return None


def _cannot(out: Path, e: OSError, outcome: str = "nothing in --out was changed") -> OutDirError:
    return OutDirError(
        [
            _error(
                "OBS906",
                f"cannot write to {out}: {_reason(e)}",
                "free space, make --out writable, or build into another --out",
            )
        ],
        outcome,
    )


def _note(out: Path, did: str) -> None:
    if did:
        print(f"note: {out}: {did}", file=sys.stderr)


def write(out: Path, artifacts: list[Artifact], service: str, env: str | None) -> None:
    """Write `artifacts` into `out` all or nothing; delete what this spec wrote before and no longer builds."""
    try:
        root = _open_root(out, create=True)
    except OSError as e:
        raise _cannot(out, e) from None
    try:
        with _locked(root, out):
            _note(out, recover(root, out))
            plan = _plan(root, out, artifacts, service, env)
            try:
                _stage(root, plan)
            except _Symlink as e:
                raise _escape(out, e.where) from None
            except OSError as e:
                with contextlib.suppress(OSError):
                    _finish(root)
                raise _cannot(out, e) from None
            _apply(root, out, {"puts": list(plan.puts), "deletes": plan.deletes, "mkdirs": plan.mkdirs})
    except _Symlink as e:
        raise _escape(out, e.where) from None
    except OSError as e:
        raise _cannot(out, e) from None
    finally:
        os.close(root)


def compare(out: Path, artifacts: list[Artifact], service: str, env: str | None) -> list[str]:
    """Unified diffs between what the spec builds to and what is in `out` (after finishing an interrupted build)."""
    try:
        root = _open_root(out, create=False)
    except OSError as e:
        raise _cannot(out, e) from None
    try:
        if root is not None and _lstat(root, BOOKKEEPING) is not None:
            with _locked(root, out, optional=True):
                _note(out, recover(root, out))
                return _diffs(root, out, artifacts, service, env)
        return _diffs(root, out, artifacts, service, env)
    except _Symlink as e:
        raise _escape(out, e.where) from None
    except OSError as e:
        raise _cannot(out, e) from None
    finally:
        if root is not None:
            os.close(root)


def _diffs(
    root: int | None, out: Path, artifacts: list[Artifact], service: str, env: str | None
) -> list[str]:
    plan = _plan(root, out, artifacts, service, env)
    diffs = []
    for a in artifacts:
        dest = out / a.path
        current, why = _read(root, a.path)
        if why:
            diffs.append(f"{dest}: {why}; the spec builds a different file\n")
            continue
        if current == a.text.encode("utf-8"):
            continue
        try:
            old = current.decode("utf-8")
        except UnicodeDecodeError:
            diffs.append(f"{dest}: not UTF-8 text; the spec builds a different file\n")
            continue
        diffs.append(
            "".join(
                difflib.unified_diff(
                    old.splitlines(True),
                    a.text.splitlines(True),
                    f"{dest} (committed)",
                    f"{dest} (from the spec)",
                )
            )
        )
    diffs += [f"{out / p}: no longer produced by the spec\n" for p in plan.deletes]
    return diffs


def _read(root: int | None, path: str) -> tuple[bytes, str]:
    """A committed file's bytes (b'' when missing), or why it is not a regular file to compare."""
    parents, name = _split(path)
    fd = _open_dir(root, parents) if root is not None else None
    if fd is None:
        return b"", ""
    try:
        st = _lstat(fd, name)
        if st is None:
            return b"", ""
        if not stat.S_ISREG(st.st_mode):
            return b"", "not a regular file" + (" (a symbolic link)" if stat.S_ISLNK(st.st_mode) else "")
        with open(os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd), "rb") as f:
            return f.read(), ""
    finally:
        os.close(fd)


def read_tree(out: Path, service: str | None = None, env: str | None = None) -> dict[str, str]:
    """The text files of an earlier build in `out`, read the way obsctl writes: the ones its file list names for the
    service (and environment) when there is one, else every file outside the bookkeeping; never through a
    symbolic link and never outside `out` (a file-list line that leaves it is OBS903). Raises OutDirError."""
    try:
        root = _open_root(out, create=False)
    except OSError as e:
        raise _cannot(out, e, "nothing was read") from None
    if root is None:
        raise OutDirError(
            [_error("OBS906", f"{out} is not a directory", "give the folder an earlier build wrote")],
            "nothing was read",
        )
    try:
        listed = _read_manifests(root, out, service, env).mine if service else set()
        paths = sorted(listed) if listed else _walk(root)
        files = {}
        for p in paths:
            data, why = _read(root, p)
            if why:
                continue  # a link or a device where a file was: not obsctl's output
            files[p] = data.decode("utf-8", "replace")
        return files
    except _Symlink as e:
        raise _escape(out, e.where) from None
    except OSError as e:
        raise _cannot(out, e, "nothing was read") from None
    finally:
        os.close(root)


def _walk(root: int) -> list[str]:
    """Every regular file below `root` (a directory descriptor), not following links, bookkeeping left out."""
    out: list[str] = []
    todo: list[tuple[int, str]] = [(os.dup(root), "")]
    while todo:
        fd, prefix = todo.pop()
        try:
            for name in sorted(os.listdir(fd)):
                st = _lstat(fd, name)
                rel = f"{prefix}{name}"
                if st is None or (not prefix and name == BOOKKEEPING) or name.startswith(".obsctl-"):
                    continue
                if stat.S_ISDIR(st.st_mode):
                    todo.append(
                        (os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd), rel + "/")
                    )
                elif stat.S_ISREG(st.st_mode) and safe_path(rel):
                    out.append(rel)
        finally:
            os.close(fd)
    return sorted(out)
