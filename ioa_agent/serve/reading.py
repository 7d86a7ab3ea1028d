"""Reading a run for the page without getting in its writer's way.

Watching (the runs table, a run's page and status, its pending step, figures)
never takes the run's lock (lock.py) and never opens its databases for writing:
`watch` opens the run with its store (`store.db`) and checkpoints (`graph.db`)
read-only (SQLite `mode=ro`; WAL lets a reader see the last commit while a writer
goes on), so a `resume` or an answer is never refused as busy because someone is
watching. `writer` tells which process advances a run by reading the kernel's lock
table (`/proc/locks`), not by probing the lock; elsewhere it falls back to
lock.holder's brief shared probe. Nothing here writes to a run.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import sqlite_utils
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph.state import CompiledStateGraph

from ioa_agent.drive import Outcome, outcome_of, thread
from ioa_agent.lock import LOCK_FILE, holder
from ioa_agent.review_answers import Pending
from ioa_agent.run import Run, open_run
from ioa_agent.store import RunStore

PROC_LOCKS = Path("/proc/locks")


def connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection to `path`, or an empty in-memory one when it does not exist."""
    if not path.is_file():
        return sqlite3.connect(":memory:", check_same_thread=False)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


class ReadOnlyStore(RunStore):
    """The run store, opened read-only (writes fail with SQLite's readonly error)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = sqlite_utils.Database(connect_ro(self.path))
        if not self.path.is_file():  # not written yet: empty tables in memory
            self._create()


class WatchedRun(Run):
    """A run opened for reading: its store is read-only."""

    @cached_property
    def store(self) -> RunStore:
        return ReadOnlyStore(self.dir / "store.db")


def open_watched(path: Path) -> WatchedRun:
    """The run at `path` for reading (close it when done, or use it with `with`)."""
    base = open_run(path)
    return WatchedRun(base.dir, base.config)


@contextmanager
def checkpoints(run: Run) -> Iterator[CompiledStateGraph]:
    """The run's graph over its checkpoints opened read-only, closed afterwards."""
    from ioa_agent.graph import build_graph

    conn = connect_ro(run.dir / "graph.db")
    try:
        yield build_graph().compile(checkpointer=SqliteSaver(conn))
    finally:
        conn.close()


def snapshot(run: Run) -> Outcome:
    """The run's last checkpoint, read-only (drive.snapshot's answer)."""
    with checkpoints(run) as app:
        return outcome_of(app.get_state(thread(run)))


def pending(run: Run) -> Pending | None:
    """The step the run waits on (review_answers.pending's answer), read-only."""
    snap = snapshot(run)
    if snap.interrupt is None:
        return None
    return Pending(run.id, snap.checkpoint, snap.interrupt, snap.values)


def history(run: Run, limit: int = 12) -> list[dict[str, str]]:
    """The last steps of the run, newest first: the node each checkpoint led to, and when."""
    out = []
    with checkpoints(run) as app:
        for snap in app.get_state_history(thread(run), limit=limit):
            node = ",".join(snap.next) or "end"
            when = (snap.created_at or "")[11:19]
            if snap.interrupts:
                node += " (waiting for review)"
            out.append({"node": node, "when": when, "step": str(snap.metadata.get("step", ""))})
    return out


def _lock_table() -> list[list[str]] | None:
    try:
        text = PROC_LOCKS.read_text()
    except OSError:
        return None
    return [line.split() for line in text.splitlines() if "->" not in line]  # no waiters


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def writer(run_dir: Path) -> int | None:
    """The pid advancing the run (-1 when it has not written its pid yet), or None.

    Reads `/proc/locks` for an exclusive flock on the run's lock file (its device and
    inode; the inode alone when the pid in the file is alive, as overlay file systems
    report another device) and the pid the holder wrote there; takes no lock.
    """
    path = Path(run_dir) / LOCK_FILE
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    table = _lock_table()
    if table is None:
        return holder(run_dir)
    with open(path, "rb") as f:
        text = f.read(32).decode(errors="replace").strip()
    pid = int(text) if text.isdigit() else None
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for row in table:
        if len(row) < 6 or row[1] != "FLOCK" or row[3] != "WRITE":
            continue
        if row[5] == dev or (row[5].endswith(f":{st.st_ino}") and pid and _alive(pid)):
            return pid or -1
    return None
