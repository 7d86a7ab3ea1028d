"""One writer per run: a second advancing process is refused naming the holder; a
holder killed with SIGKILL never blocks; a stale review answer is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tiny_config, write_config

from ioa_agent.cli import main
from ioa_agent.drive import snapshot
from ioa_agent.lock import RunBusy, holder, run_lock
from ioa_agent.run import find_run

HOLD = """
import sys, time
from pathlib import Path
from ioa_agent.lock import run_lock
with run_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def hold(run_dir: Path) -> subprocess.Popen:
    """Another process holding the run's lock (as a running `ioa resume` would)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_lock_names_holder_and_is_released_by_sigkill(tmp_path: Path) -> None:
    assert holder(tmp_path) is None
    proc = hold(tmp_path)
    try:
        assert holder(tmp_path) == proc.pid
        with pytest.raises(RunBusy, match=f"process {proc.pid}"), run_lock(tmp_path):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert holder(tmp_path) is None
    with run_lock(tmp_path):
        assert holder(tmp_path) == os.getpid()
    assert holder(tmp_path) is None


def test_second_writer_refused_then_proceeds_after_kill_9(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path / "cfg.yaml", tiny_config(tiny_model, review="required"))
    assert main(["run", "--config", str(cfg), "--runs", str(tmp_path), "--name", "w"]) == 0
    run = find_run(tmp_path, "w")
    before = snapshot(run)
    assert before.interrupt is not None
    capsys.readouterr()

    proc = hold(run.dir)
    try:
        for cmd in (["resume", "w"], ["review", "w", "--approve"]):
            assert main([*cmd, "--runs", str(tmp_path)]) == 2
            err = capsys.readouterr().err
            assert f"process {proc.pid}" in err and err.count("\n") == 1
        assert snapshot(run).checkpoint == before.checkpoint  # nothing advanced
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    # an answer naming another checkpoint is refused; the right one goes through
    assert main(["review", "w", "--runs", str(tmp_path), "--approve", "--checkpoint", "x"]) == 2
    assert "already answered" in capsys.readouterr().err
    t0 = time.monotonic()
    cp = before.checkpoint
    assert main(["review", "w", "--runs", str(tmp_path), "--approve", "--checkpoint", cp]) == 0
    assert time.monotonic() - t0 < 300
    after = snapshot(run)
    assert after.checkpoint != before.checkpoint
    assert (run.dir / "rounds" / "0001" / "train.jsonl").is_file()  # it was taught
    # the same answer again is stale
    assert main(["review", "w", "--runs", str(tmp_path), "--approve", "--checkpoint", cp]) == 2
    err = capsys.readouterr().err
    assert "already answered" in err or "not waiting" in err
