"""Real run directories for the web tests: a tiny run paused at review, finished, failed.

Built once per session with the tiny real student and the exact teacher, then
copied per test (a copy is a whole run directory: config, store, checkpoints).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from conftest import tiny_config, write_config

from ioa_agent.cli import main
from ioa_agent.lock import holder
from ioa_agent.serve import workers


def make_paused(root: Path, model: Path, name: str = "paused") -> Path:
    cfg = write_config(root / f"{name}.yaml", tiny_config(model, review="required", max_rounds=1))
    assert main(["run", "--config", str(cfg), "--runs", str(root), "--name", name]) == 0
    return root / name


def make_finished(root: Path, model: Path, name: str = "finished") -> Path:
    cfg = write_config(root / f"{name}.yaml", tiny_config(model, max_rounds=2))
    assert main(["run", "--config", str(cfg), "--runs", str(root), "--name", name]) == 0
    return root / name


def copy_run(src: Path, root: Path, name: str) -> Path:
    dst = root / name
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("run.lock", "report"))
    return dst


def poison_samples(run_dir: Path, text: str) -> None:
    """Make every probe prompt hold `text` (as an LLM teacher's item could)."""
    with sqlite3.connect(run_dir / "store.db") as db:
        db.execute("update items set prompt = ? || prompt where role = 'probe'", [text])


def wait_free(run_dir: Path, timeout: float = 300) -> None:
    """Wait until no process advances the run."""
    deadline = time.monotonic() + timeout
    time.sleep(0.3)
    while holder(run_dir) is not None:
        assert time.monotonic() < deadline, f"run {run_dir.name} still held"
        time.sleep(0.2)
    workers.wait_all(timeout)
