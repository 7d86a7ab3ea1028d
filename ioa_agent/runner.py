"""Running a run's graph: compile with its SQLite checkpointer, stream, resume.

One LangGraph thread per run (thread id = run id), checkpoints in the run's
`graph.db` (WAL, synchronous durability: a checkpoint is on disk before the next
node starts). `advance` drives the graph until it ends or pauses for review,
reporting each node's update to a callback. It does not parse arguments or print
(cli.py does).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from ioa_agent.graph import build_graph
from ioa_agent.run import Run
from ioa_agent.state import Context


@dataclass
class Outcome:
    """Where a run stands after `advance`: done, or paused at review."""

    done: bool
    next: tuple[str, ...]
    interrupt: Any | None
    values: dict[str, Any]


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
        snap = app.get_state(thread(run))
    interrupts = [i.value for i in snap.interrupts]
    started = bool(snap.values) or bool(snap.next)
    return Outcome(
        done=started and not snap.next,
        next=tuple(snap.next),
        interrupt=interrupts[0] if interrupts else None,
        values=dict(snap.values),
    )


def advance(
    run: Run,
    resume: Any | None = None,
    on_update: Callable[[str, dict[str, Any]], None] | None = None,
) -> Outcome:
    """Run from the start, from the last checkpoint, or with a review answer."""
    ctx = Context(run_dir=str(run.dir))
    with compiled(run) as app:
        cfg = thread(run)
        snap = app.get_state(cfg)
        if resume is not None:
            inp: Any = Command(resume=resume)
        elif snap.next or snap.values:
            inp = None
        else:
            inp = {}
        for chunk in app.stream(inp, cfg, context=ctx, durability="sync", stream_mode="updates"):
            for node, update in chunk.items():
                if node != "__interrupt__" and on_update is not None:
                    on_update(node, update or {})
    return snapshot(run)
