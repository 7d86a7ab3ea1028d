"""Run untrusted Python (model-written code and its tests) in a separate, limited process.

Each call to `run_python` starts one fresh process for one program and returns what
happened: exit status, the first bytes of stdout, the last bytes of stderr, wall time,
and whether the program reached its end (a per-run random marker printed after the
program's last statement). `run_many` runs a list of programs on a small thread pool,
each still in its own process.

What every run gets (all isolation modes):
- resource limits set with `resource.setrlimit` in the child before exec: CPU seconds
  (SIGXCPU, then SIGKILL one second later), address space (allocations beyond it fail
  with MemoryError), size of any file written (writes beyond it fail with EFBIG, as
  Python ignores SIGXFSZ; stdout and stderr are files, so this also caps printing),
  number of processes (counted for the sandbox's own uid in the root mode, on top of
  what the caller's uid already runs otherwise) so fork bombs get EAGAIN, open files,
  no core dumps;
- a wall-clock limit: on expiry the whole process group is SIGKILLed, and in the
  namespace modes the sandbox's PID-namespace init too, which makes the kernel kill
  every process left in the namespace, including ones that called `setsid()`;
- a fresh temporary working directory (also HOME and TMPDIR), removed afterwards;
- a minimal environment (PATH, LANG, HOME, TMPDIR, and PWD where a shell starts the
  program): nothing of the caller's environment, so no API keys or tokens; the
  interpreter runs with `-I -B` (ignores PYTHON* variables and the user site
  directory, writes no bytecode);
- the program arrives on stdin through a pipe, so it is not a file the code can read back.

Isolation modes, detected once per process by trying them (`isolation()`):
- "root-namespaces" (running as root with util-linux `unshare` and `setpriv`): new
  network namespace (only a loopback device that is down: no network at all, not even
  to services on the host's 127.0.0.1), new PID namespace with its own /proc (the
  caller's processes and their /proc/PID/environ are invisible), and the program runs
  as a distinct unprivileged uid/gid (one per concurrent slot, no supplementary groups,
  no capabilities, no_new_privs so setuid binaries do not elevate). It can therefore not
  write, delete or read files that are not world-accessible. The interpreter is the
  first of the caller's and the system's `python3` that this uid can execute (code
  under test needs only the standard library).
- "user-namespaces" (not root, unprivileged user namespaces allowed): the same network
  and PID namespaces, but the code runs with the caller's own file permissions, and the
  process limit counts all of the caller's processes (and does not bind root).
- "rlimits-only" (neither available): limits, minimal environment and temporary
  directory only. The code has network access and the caller's file permissions, and a
  process that calls `setsid()` escapes the process-group kill and can outlive the run
  (until its CPU limit ends it, or indefinitely if it sleeps).

What it does NOT protect against, in any mode: reading world-readable files (the
repository, /etc, the data sets); writing into world-writable directories such as
/tmp and /dev/shm (each file capped by the file-size limit, the total is not); using
the whole CPU time and memory granted (several concurrent runs multiply them); kernel
exploits (this is not a VM or seccomp jail); and code written to fool the checker from
inside its own process (for example by finding the end marker through introspection).
Memory is limited as address space, not resident memory, and there is no cgroup.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ioa_agent.evaluation.confinement import (
    RLIMITS_ONLY,
    ROOT_NAMESPACES,
    UID_POOL,
    USER_NAMESPACES,
    Isolation,
    SandboxLimits,
    isolation,
    limit_setter,
    minimal_env,
    process_limit,
    wrap,
)

__all__ = [
    "RLIMITS_ONLY",
    "ROOT_NAMESPACES",
    "USER_NAMESPACES",
    "Isolation",
    "SandboxLimits",
    "SandboxResult",
    "isolation",
    "run_many",
    "run_python",
]

_MARKER_PREFIX = "__ioa_sandbox_done_"
_TAIL_BYTES = 4096


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of one sandboxed run.

    `passed` means the program exited with status 0 after reaching its last statement;
    a program that exits early (even with status 0, e.g. `os._exit(0)`) has not passed.
    """

    returncode: int | None  # negative: killed by that signal; None: timed out
    stdout: str
    stderr: str
    wall_seconds: float
    timed_out: bool
    completed: bool
    mode: str

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and self.completed and not self.timed_out

    @property
    def reason(self) -> str:
        """One line saying why the run did not pass ("" when it passed)."""
        if self.passed:
            return ""
        if self.timed_out:
            return "timed out (wall-clock limit)"
        if self.returncode is not None and self.returncode < 0:
            name = _signal_name(-self.returncode)
            hints = {
                "SIGXCPU": " (CPU-time limit)",
                "SIGXFSZ": " (file-size/output limit)",
                "SIGKILL": " (killed: CPU or memory limit)",
            }
            return f"killed by {name}{hints.get(name, '')}"
        last = _last_line(self.stderr)
        if self.returncode == 0:
            return "exited before the end of the program" + (f": {last}" if last else "")
        return last or f"exit status {self.returncode}"


def run_python(
    program: str,
    limits: SandboxLimits | None = None,
    *,
    python: str | None = None,
    mode: str | None = None,
) -> SandboxResult:
    """Run `program` (Python source) once in a fresh sandboxed process.

    `mode` forces an isolation mode (default: the strongest available); `python` is
    the interpreter (default: the one `isolation()` found to work).
    """
    limits = limits or SandboxLimits()
    mode = mode or isolation().mode
    python = python or (isolation().python if mode == isolation().mode else sys.executable)
    marker = _MARKER_PREFIX + secrets.token_hex(16)
    source = f"{program}\n\nprint({marker!r}, flush=True)\n"
    with UID_POOL.slot() as uid:
        workdir = Path(tempfile.mkdtemp(prefix="ioa-sandbox-"))
        try:
            return _run_in(workdir, source, marker, limits, mode, python, uid)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def run_many(
    programs: Sequence[str],
    limits: SandboxLimits | Sequence[SandboxLimits] | None = None,
    *,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    mode: str | None = None,
) -> list[SandboxResult]:
    """`run_python` for each program, `workers` at a time; results in input order.

    `limits` is one set for all programs or one per program. `progress`, when given, is
    called with 1 after each finished run.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if limits is None or isinstance(limits, SandboxLimits):
        per_program = [limits or SandboxLimits()] * len(programs)
    else:
        per_program = list(limits)
        if len(per_program) != len(programs):
            raise ValueError(f"{len(per_program)} limits for {len(programs)} programs")
    mode = mode or isolation().mode

    def one(index: int) -> SandboxResult:
        result = run_python(programs[index], per_program[index], mode=mode)
        if progress is not None:
            progress(1)
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(len(programs))))


def _run_in(
    workdir: Path,
    source: str,
    marker: str,
    limits: SandboxLimits,
    mode: str,
    python: str,
    uid: int,
) -> SandboxResult:
    if mode == ROOT_NAMESPACES:
        os.chown(workdir, uid, uid)
    workdir.chmod(0o700)
    out_path, err_path = workdir / ".stdout", workdir / ".stderr"
    command = wrap([python, "-I", "-B", "-"], mode, uid)
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            cwd=workdir,
            env=minimal_env(workdir),
            preexec_fn=limit_setter(limits, process_limit(limits, mode)),
            start_new_session=True,
            close_fds=True,
        )
    writer = threading.Thread(target=_feed, args=(proc, source.encode("utf-8")), daemon=True)
    writer.start()
    timed_out = not _wait_unreaped(proc.pid, limits.wall_seconds)
    _kill_tree(proc, timed_out, mode)
    writer.join(timeout=5)
    wall = time.monotonic() - start
    stdout, tail = _read_head(out_path, limits.output_bytes), _read_tail(out_path, _TAIL_BYTES)
    completed = marker in tail.splitlines()
    stdout = stdout.replace(marker + "\n", "").replace(marker, "")
    returncode = proc.returncode
    if mode != RLIMITS_ONLY and returncode is not None and returncode > 128:
        returncode = 128 - returncode  # the init shell's "killed by signal N"
    return SandboxResult(
        returncode=None if timed_out else returncode,
        stdout=stdout,
        stderr=_read_tail(err_path, limits.output_bytes),
        wall_seconds=wall,
        timed_out=timed_out,
        completed=completed,
        mode=mode,
    )


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    """Write the program to the child's stdin and close it (the child may die first)."""
    assert proc.stdin is not None
    with contextlib.suppress(OSError):
        proc.stdin.write(data)
    with contextlib.suppress(OSError):
        proc.stdin.close()


def _wait_unreaped(pid: int, timeout: float) -> bool:
    """Wait until `pid` exits, without reaping it; False if `timeout` passed first.

    Leaving the zombie unreaped keeps its pid, which is also its process-group id,
    from being reused before the group is killed.
    """
    deadline = time.monotonic() + timeout
    flags = os.WEXITED | os.WNOWAIT
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = -1
    try:
        while True:
            if os.waitid(os.P_PID, pid, flags | os.WNOHANG) is not None:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if pidfd >= 0:
                select.select([pidfd], [], [], left)
            else:
                time.sleep(min(0.01, left))
    finally:
        if pidfd >= 0:
            os.close(pidfd)


def _kill_tree(proc: subprocess.Popen[bytes], timed_out: bool, mode: str) -> None:
    """SIGKILL what is left of a run, then reap its first process.

    On timeout in the namespace modes, the PID namespace's init (the first process's
    only child) is SIGKILLed first: the kernel then kills everything in the namespace,
    even processes that left the process group, and `unshare` reaps the init and exits
    (killing both at once would leave the init a zombie of whoever adopts it). The
    process group is killed in every case; its leader is still an unreaped zombie or
    alive, so its id cannot have been reused.
    """
    if timed_out and mode != RLIMITS_ONLY:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        try:
            pids = [int(p) for p in children.read_text().split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            _kill(lambda pid=pid: os.kill(pid, signal.SIGKILL))
        _wait_unreaped(proc.pid, 5.0)
    _kill(lambda: os.killpg(proc.pid, signal.SIGKILL))
    proc.wait()


def _kill(action: Callable[[], None]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        action()


def _read_head(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _read_tail(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
