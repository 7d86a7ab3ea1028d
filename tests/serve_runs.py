"""Real run directories for the web tests: a tiny run paused at review, finished, failed.

Built once per session with the tiny real student and the exact teacher, then
copied per test (a copy is a whole run directory: config, store, checkpoints);
`client` is the real app over a runs folder.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import tiny_config, write_config
from starlette.testclient import TestClient

from ioa_agent.cli import main
from ioa_agent.lock import holder
from ioa_agent.serve import workers
from ioa_agent.serve.app import create_app

LOCAL = "http://127.0.0.1:8765"


def client(root: Path, **kw: Any) -> TestClient:
    """The real app over `root` (no token unless given), redirects not followed."""
    return TestClient(create_app(root, **kw), base_url=LOCAL, follow_redirects=False)


def make_paused(root: Path, model: Path, name: str = "paused") -> Path:
    cfg = write_config(root / f"{name}.yaml", tiny_config(model, review="required", max_rounds=1))
    assert main(["run", "--config", str(cfg), "--runs", str(root), "--name", name]) == 0
    return root / name


def make_finished(root: Path, model: Path, name: str = "finished") -> Path:
    cfg = write_config(root / f"{name}.yaml", tiny_config(model, max_rounds=2))
    assert main(["run", "--config", str(cfg), "--runs", str(root), "--name", name]) == 0
    return root / name


def built_runs(model: Path, factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A paused and a finished run, built once a session (the test modules share them)."""
    root = factory.getbasetemp() / "serve-built"
    if not (root / ".built").is_file():
        shutil.rmtree(root, ignore_errors=True)  # a build that stopped half-way
        root.mkdir()
        make_paused(root, model)
        make_finished(root, model)
        (root / ".built").touch()
    return {"paused": root / "paused", "finished": root / "finished"}


def copy_run(src: Path, root: Path, name: str) -> Path:
    dst = root / name
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("run.lock", "report"))
    return dst


def fresh_runs(built: dict[str, Path], tmp_path: Path) -> Path:
    """A runs folder of its own holding copies of the built paused and finished runs."""
    root = tmp_path / "runs"
    root.mkdir()
    copy_run(built["paused"], root, "paused")
    copy_run(built["finished"], root, "finished")
    return root


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
