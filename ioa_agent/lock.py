"""One writer per run: an OS file lock in the run directory.

`run_lock` holds an exclusive `flock` on `<run>/run.lock` for as long as a process
advances the run's graph, and writes its pid there so a refused process can name
the holder (StaleAnswer is the other refusal: an answer for a step already
answered). The kernel drops the lock when the holder exits, however it exits
(`kill -9` included), so a stale lock never blocks. `holder` tells, without
blocking, which process (if any) holds it. `acquire` and `ENV_FD` let a parent
(`ioa serve`) take the lock and hand it to the child that advances the run: the
child inherits the open file and adopts it, so nobody slips in between. This module
does not run the graph.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "run.lock"
ENV_FD = "IOA_RUN_LOCK_FD"
"""Names the inherited descriptor of a lock a parent took for this process."""

_held: set[str] = set()  # the runs this process holds (run_lock is re-entrant)


class RunBusy(RuntimeError):
    """Another process is advancing the run; the message names its pid."""


class StaleAnswer(RuntimeError):
    """A review answer for a step that is no longer pending (already answered)."""


def _read_pid(fd: int) -> int | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 32).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def holder(run_dir: Path) -> int | None:
    """The pid holding the run's lock, or None when no process advances the run."""
    path = Path(run_dir) / LOCK_FILE
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _take(fd: int, run_dir: Path) -> None:
    for _ in range(5):  # a reader's brief shared probe (`holder`) is not a writer
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(0.02)
    pid = _read_pid(fd)
    os.close(fd)
    who = f"process {pid}" if pid else "another process"
    raise RunBusy(
        f"run {run_dir.name} is being advanced by {who}: wait for it to pause or end, "
        "or stop that process"
    ) from None


def set_holder(fd: int, pid: int) -> None:
    """Write `pid` as the lock's holder (the child a parent handed the lock to)."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{pid}\n".encode(), 0)


def acquire(run_dir: Path) -> int:
    """Take the run's lock at once (RunBusy otherwise); closing the fd releases it."""
    run_dir = Path(run_dir)
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    _take(fd, run_dir)
    set_holder(fd, os.getpid())
    return fd


def _adopt(run_dir: Path) -> int | None:
    """The lock a parent took and handed down through ENV_FD, when it is this run's."""
    raw = os.environ.pop(ENV_FD, None)
    if raw is None or not raw.isdigit():
        return None
    fd = int(raw)
    try:
        if os.fstat(fd).st_ino != os.stat(run_dir / LOCK_FILE).st_ino:
            return None
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours already: granted at once
    except OSError:
        return None
    set_holder(fd, os.getpid())
    return fd


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run's lock; raise RunBusy at once when another process holds it."""
    run_dir = Path(run_dir)
    key = str(run_dir.resolve())
    if key in _held:  # this process holds it already
        yield
        return
    fd = _adopt(run_dir)
    if fd is None:
        fd = acquire(run_dir)
    _held.add(key)
    try:
        yield
    finally:
        _held.discard(key)
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
