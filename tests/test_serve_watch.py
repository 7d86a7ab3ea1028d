"""Watching never blocks steering: the page reads runs without their lock.

The runs table, a run's page, its status, its pending step and its figures take no
flock and open the store and checkpoints read-only (serve/reading.py), so a resume
from the page, and the writer's own lock, go through while the status is polled;
the writer's pid is read from the kernel's lock table; figures are cached under the
runs folder and redrawn (the old drawing removed) when the run changes.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_runs import built_runs, client, fresh_runs, wait_free

from ioa_agent.drive import snapshot
from ioa_agent.lock import acquire, run_lock
from ioa_agent.run import find_run
from ioa_agent.serve import reading, views, workers


@pytest.fixture
def runs(
    tiny_model: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> Iterator[Path]:
    yield fresh_runs(built_runs(tiny_model, tmp_path_factory), tmp_path)
    workers.stop_all()


def test_watching_takes_no_lock_and_never_blocks_resume(
    runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's reads take no flock and open the databases read-only; a resume from
    the page goes through while the status is polled, and so does the writer's lock."""
    c = client(runs)
    run = find_run(runs, "paused")
    calls: list[int] = []
    real_flock = fcntl.flock

    def spy(fd: int, op: int) -> None:
        calls.append(op)
        real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", spy)
    pages = ("/", "/runs-table", "/runs/paused", "/runs/paused/status", "/runs/paused/review")
    for path in (*pages, "/runs/finished/status", "/runs/finished/fig/dag.png"):
        assert c.get(path).status_code == 200, path
    monkeypatch.undo()
    assert calls == []  # not even lock.holder's brief shared probe
    with views.opened(run.dir) as watched:
        assert watched.store.modules()  # it reads
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            watched.store.log_event("k", "serve", "note", {})
        assert reading.snapshot(watched).checkpoint == snapshot(run).checkpoint

    stop, polled, bad = threading.Event(), [0], []

    def poll() -> None:
        watcher = client(runs)
        while not stop.is_set():
            r = watcher.get("/runs/paused/status")
            polled[0] += 1
            if r.status_code != 200:
                bad.append(r.status_code)

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        while polled[0] < 4:
            time.sleep(0.02)
        for _ in range(50):  # the writer's lock, taken at once every time
            os.close(acquire(run.dir))
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/start").text).group(1)
        r = c.post("/runs/paused/resume", data={"csrf": csrf})
        assert r.status_code == 303, r.text
        seen = polled[0]
        wait_free(run.dir)
        assert polled[0] > seen  # polled while the resumed run ran
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert bad == []
    log = (runs / ".serve-logs" / "paused.log").read_text()
    assert log.count("--- exit 0") == 1 and "busy" not in log
    assert snapshot(run).interrupt is not None  # resumed, and paused at review again


def test_writer_read_from_the_lock_table(runs: Path) -> None:
    run = find_run(runs, "paused")
    assert reading.writer(run.dir) is None
    with run_lock(run.dir):
        assert reading.writer(run.dir) == os.getpid()
    assert reading.writer(run.dir) is None
    fd = os.open(run.dir / "run.lock", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # a reader's probe (`ioa status`) is not a writer
        assert reading.writer(run.dir) is None
    finally:
        os.close(fd)


def test_figures_cached_under_the_runs_folder(runs: Path) -> None:
    c = client(runs)
    first = c.get("/runs/finished/fig/trajectories.png")
    assert first.status_code == 200 and first.content[:4] == b"\x89PNG"
    folder = runs / views.FIGURE_DIR / "finished"
    (drawn,) = folder.glob("trajectories-*.png")
    assert drawn.read_bytes() == first.content
    when = drawn.stat().st_mtime_ns
    assert c.get("/runs/finished/fig/trajectories.png").content == first.content
    assert drawn.stat().st_mtime_ns == when  # served from the cache, not redrawn
    store = find_run(runs, "finished").store
    store.log_event("note:1", "serve", "note", {"x": 1})  # the run changed
    store.close()
    assert c.get("/runs/finished/fig/trajectories.png").status_code == 200
    (again,) = folder.glob("trajectories-*.png")  # redrawn, the old one removed
    assert again != drawn and not drawn.exists()
    assert c.get("/runs/finished/report").status_code == 200
    assert (folder / "report" / "report.html").is_file()
    assert "finished" not in [p.name for p in runs.glob("*") if p.name.startswith(".")]
    assert [r["id"] for r in views.list_runs(runs)].count("finished") == 1
