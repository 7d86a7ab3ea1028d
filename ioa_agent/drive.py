"""Running a run's graph: compile with its SQLite checkpointer, stream, resume.

One LangGraph thread per run (thread id = run id), checkpoints in the run's
`graph.db` (WAL, synchronous durability: a checkpoint is on disk before the next
node starts). `advance` drives the graph until it ends or pauses for review,
reporting each node's update to a callback, while holding the run's lock (lock.py:
one writer per run). A review answer names the checkpoint it answers; a stale one
is refused. It does not parse arguments or print (the cli package does).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from ioa_agent.config import Config
from ioa_agent.graph import build_graph
from ioa_agent.lock import StaleAnswer, run_lock
from ioa_agent.run import (
    DiskFull,
    Run,
    check_adapter,
    check_databases,
    create_run,
    disk_full,
    open_run,
)
from ioa_agent.state import Context, check_shape


@dataclass
class Outcome:
    """Where a run stands after `advance`: done, or paused at review."""

    done: bool
    next: tuple[str, ...]
    interrupt: Any | None
    values: dict[str, Any]
    checkpoint: str = ""


@contextmanager
def compiled(run: Run) -> Iterator[CompiledStateGraph]:
    """The graph compiled with the run's checkpointer, closed afterwards."""
    conn = sqlite3.connect(run.dir / "graph.db", check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    try:
        yield build_graph().compile(checkpointer=SqliteSaver(conn))
    finally:
        conn.close()


def thread(run: Run) -> dict[str, Any]:
    return {"configurable": {"thread_id": run.id}, "recursion_limit": 10_000}


def snapshot(run: Run) -> Outcome:
    """The run's last checkpoint, without running anything."""
    with compiled(run) as app:
        return outcome_of(app.get_state(thread(run)))


def outcome_of(snap: Any) -> Outcome:
    """An Outcome from a LangGraph state snapshot."""
    interrupts = [i.value for i in snap.interrupts]
    started = bool(snap.values) or bool(snap.next)
    return Outcome(
        done=started and not snap.next,
        next=tuple(snap.next),
        interrupt=interrupts[0] if interrupts else None,
        values=dict(snap.values),
        checkpoint=str((snap.config or {}).get("configurable", {}).get("checkpoint_id") or ""),
    )


def advance(
    run: Run,
    resume: Any | None = None,
    on_update: Callable[[str, dict[str, Any]], None] | None = None,
    checkpoint: str | None = None,
) -> Outcome:
    """Run from the start, from the last checkpoint, or with a review answer.

    Holds the run's lock throughout (RunBusy when another process holds it). Checks
    the run's databases and finished adapters first (DamagedFile), and a
    write that runs out of space ends it as DiskFull, keeping what was written. With
    `checkpoint`, the answer is for that checkpoint's pending step: StaleAnswer when
    the run has moved on or nothing is pending.
    """
    ctx = Context(run_dir=str(run.dir))
    with run_lock(run.dir):
        check_databases(run)
        with compiled(run) as app:
            cfg = thread(run)
            snap = app.get_state(cfg)
            check_shape(run.id, snap.values)
            for folder in sorted(run.dir.glob("rounds/*/adapter")):
                check_adapter(folder, run.id)
            if resume is not None and (
                not snap.interrupts
                or (checkpoint and snap.config["configurable"].get("checkpoint_id") != checkpoint)
            ):
                raise StaleAnswer(f"run {run.id}: that step was already answered (`ioa status`)")
            if resume is not None:
                inp: Any = Command(resume=resume)
            elif snap.next or snap.values:
                inp = None
            else:
                inp = {}
            try:
                for chunk in app.stream(
                    inp, cfg, context=ctx, durability="sync", stream_mode="updates"
                ):
                    for node, update in chunk.items():
                        if node != "__interrupt__" and on_update is not None:
                            on_update(node, update or {})
            except Exception as exc:
                if disk_full(exc):
                    raise DiskFull(
                        f"no space left on the disk holding {run.dir}: free space, then "
                        f"`ioa resume {run.id}` continues; what was written so far is kept"
                    ) from exc
                raise
    return snapshot(run)


def run_to_end(config: Config, root: Path, name: str) -> float:
    """Run `name` under `root` to its end (create it, or resume it) and return its wall
    seconds, kept in `wall_seconds.json`; a finished run is not run again. A run that
    pauses for review is an error: experiments run without a person."""
    folder = root / name
    timing = folder / "wall_seconds.json"
    if timing.is_file() and snapshot(open_run(folder)).done:
        return float(json.loads(timing.read_text())["seconds"])
    run = open_run(folder) if folder.exists() else create_run(config, root, name)
    start = time.monotonic()
    with run:
        out = advance(run)
    took = time.monotonic() - start
    if not out.done:
        raise RuntimeError(f"{name} stopped at {out.next} (a review?): see `ioa status {name}`")
    timing.write_text(json.dumps({"seconds": took}))
    return took
