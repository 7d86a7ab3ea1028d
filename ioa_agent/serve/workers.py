"""Background processes that advance runs for `ioa serve`: answer, resume, start.

Each is the `ioa` command line in a child process (`ioa review RUN --decision ...
--checkpoint ...`, `ioa resume RUN`, `ioa run --config ...`), so the page goes
through the same code as the terminal. For an existing run the server first takes
the run's lock (refused at once when another process advances it) and hands it to
the child, which adopts it: no second writer can start in between. The child runs
in its own session, so stopping the server does not stop a run, and its output is
appended to `<runs root>/.serve-logs/<run>.log` with a `--- start` and a `--- exit N`
line. The children do not inherit the page's token ($IOA_SERVE_TOKEN). Nothing here
renders pages or checks what a config may do (policy.py does, before `start`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import ioa_agent
from ioa_agent.lock import ENV_FD, acquire, set_holder
from ioa_agent.serve.security import TOKEN_ENV
from ioa_agent.serve.views import log_path

_children: dict[int, subprocess.Popen] = {}
_guard = threading.Lock()


def _env(lock_fd: int | None) -> dict[str, str]:
    env = dict(os.environ)
    pkg_root = str(Path(ioa_agent.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_root, env.get("PYTHONPATH")) if p)
    env.pop(ENV_FD, None)
    env.pop(TOKEN_ENV, None)
    if lock_fd is not None:
        env[ENV_FD] = str(lock_fd)
    return env


def _reap(proc: subprocess.Popen, log: Path) -> None:
    rc = proc.wait()
    with open(log, "a") as f:
        f.write(f"--- exit {rc}\n")
    with _guard:
        _children.pop(proc.pid, None)


def _spawn(root: Path, run_id: str, argv: list[str], lock_fd: int | None) -> subprocess.Popen:
    log = log_path(root, run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        out.write(f"--- start {time.strftime('%Y-%m-%d %H:%M:%S')} ioa {argv[0]}\n")
        out.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ioa_agent", *argv, "--runs", str(root)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(lock_fd),
            pass_fds=(lock_fd,) if lock_fd is not None else (),
            start_new_session=True,
        )
    with _guard:
        _children[proc.pid] = proc
    threading.Thread(target=_reap, args=(proc, log), daemon=True).start()
    return proc


def advance_in_background(
    root: Path, run_dir: Path, argv: list[str], check: Any = None
) -> subprocess.Popen:
    """Take the run's lock (RunBusy when held), run `check()` under it, then hand the
    lock to a child running `ioa <argv>`."""
    fd = acquire(run_dir)
    try:
        if check is not None:
            check()
        proc = _spawn(root, run_dir.name, argv, fd)
        set_holder(fd, proc.pid)
    finally:
        os.close(fd)  # the child holds the lock now (or nobody, when check failed)
    return proc


def answer(root: Path, run_dir: Path, checkpoint: str, decision: dict, check: Any) -> Any:
    argv = ["review", run_dir.name, "--checkpoint", checkpoint, "--decision", json.dumps(decision)]
    return advance_in_background(root, run_dir, argv, check)


def resume(root: Path, run_dir: Path) -> subprocess.Popen:
    return advance_in_background(root, run_dir, ["resume", run_dir.name])


def start(root: Path, config: Path, name: str) -> subprocess.Popen:
    """Start a new run `name` from `config`."""
    return _spawn(root, name, ["run", "--config", str(config), "--name", name], None)


def running() -> list[subprocess.Popen]:
    """The children this server started whose exit is not logged yet."""
    with _guard:
        return list(_children.values())


def wait_all(timeout: float = 300.0) -> None:
    """Wait until every child has exited and its exit is logged."""
    deadline = time.monotonic() + timeout
    while running():
        if time.monotonic() > deadline:
            raise TimeoutError("background runs still going")
        time.sleep(0.1)


def stop_all(timeout: float = 10.0) -> None:
    """Stop every child still running (tests and the benchmark use it)."""
    for proc in running():
        if proc.poll() is None:
            proc.terminate()
    for proc in running():
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    wait_all(timeout)
