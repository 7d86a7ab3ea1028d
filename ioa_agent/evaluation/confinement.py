"""How a sandboxed process is confined: isolation modes, limits, user ids, environment.

`isolation()` finds, once per process, the strongest mode that works on this machine
("root-namespaces", "user-namespaces" or "rlimits-only"; `sandbox`'s docstring says
what each protects against) and the interpreter to use in it. `wrap` turns a command
into one that runs inside that mode's namespaces and user; `limit_setter` builds the
preexec function that applies `SandboxLimits` with `resource.setrlimit`; `UID_POOL`
hands out one unprivileged uid per concurrent run in the root mode.

Nothing here starts the program under test; `sandbox` does that.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT_NAMESPACES = "root-namespaces"
USER_NAMESPACES = "user-namespaces"
RLIMITS_ONLY = "rlimits-only"

UID_BASE = 2_000_000
UID_SLOTS = 64


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run limits. `max_processes` counts processes of the sandbox user."""

    cpu_seconds: int = 10
    wall_seconds: float = 15.0
    memory_bytes: int = 1 << 30
    file_size_bytes: int = 16 << 20
    max_processes: int = 32
    max_open_files: int = 256
    output_bytes: int = 64 << 10


@dataclass(frozen=True)
class Isolation:
    """How runs are isolated on this machine (`sandbox`'s docstring details each mode)."""

    mode: str
    network_isolated: bool
    pid_namespace: bool
    separate_user: bool
    python: str
    notes: list[str] = field(default_factory=list)


@functools.cache
def isolation() -> Isolation:
    """The strongest isolation mode that works here, found by running Python in it.

    In the root mode the interpreter must be readable by an unprivileged uid: the first
    of `sys.executable`, the base interpreter and the system `python3` that starts
    there is used (the sandboxed code needs only the standard library).
    """
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    notes: list[str] = []
    if os.geteuid() == 0 and unshare and setpriv:
        for python in _interpreters():
            if _probe(wrap([python, "-I", "-c", "pass"], ROOT_NAMESPACES, UID_BASE)):
                return Isolation(ROOT_NAMESPACES, True, True, True, python, notes)
            notes.append(f"{python} does not start as an unprivileged user")
        notes.append("root, but no interpreter ran inside unshare/setpriv")
    if unshare:
        probe = wrap([sys.executable, "-I", "-c", "pass"], USER_NAMESPACES, os.getuid())
        if _probe(probe):
            return Isolation(USER_NAMESPACES, True, True, False, sys.executable, notes)
        notes.append("unprivileged user namespaces are not available")
    else:
        notes.append("util-linux unshare is not installed")
    return Isolation(RLIMITS_ONLY, False, False, False, sys.executable, notes)


def _interpreters() -> list[str]:
    found: list[str] = []
    base = getattr(sys, "_base_executable", "")
    for candidate in [sys.executable, base, "/usr/bin/python3", "/usr/local/bin/python3"]:
        if candidate and os.path.exists(candidate) and candidate not in found:
            found.append(candidate)
    return found


def _probe(command: list[str]) -> bool:
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            env=minimal_env(Path(tempfile.gettempdir())),
            cwd="/",
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def wrap(command: list[str], mode: str, uid: int) -> list[str]:
    """`command` inside the namespaces and user of `mode`.

    In the namespace modes a shell is the PID namespace's init and `command` its child:
    the kernel ignores default-action signals such as SIGXCPU and SIGXFSZ sent to an
    init, and the shell reports a child killed by signal N as exit status 128 + N.
    """
    namespaces = ["--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    # `; exit $?` keeps the shell from exec-ing the command in its place.
    command = ["/bin/sh", "-c", '"$@"; exit $?', "sandbox-init", *command]
    if mode == ROOT_NAMESPACES:
        drop = [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--no-new-privs",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ]
        return ["unshare", *namespaces, "--", *drop, *command]
    if mode == USER_NAMESPACES:
        return ["unshare", "--user", "--map-root-user", *namespaces, "--", *command]
    return command


def minimal_env(workdir: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
    }


def _tasks_of(uid: int) -> int:
    """Processes and threads whose real uid is `uid` (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1 0").split()[0]) == uid:
            count += int(fields.get("Threads", "1").strip())
    return count


def process_limit(limits: SandboxLimits, mode: str) -> int:
    """RLIMIT_NPROC for a run: the limit itself for a uid of its own, else on top of
    what the caller's uid already runs (the limit counts every process of a uid)."""
    if mode == ROOT_NAMESPACES:
        return limits.max_processes
    return limits.max_processes + _tasks_of(os.getuid())


def _within_hard(which: int, wanted: tuple[int, int]) -> tuple[int, int]:
    """`wanted`, lowered to the current hard limit (only root may raise a hard limit)."""
    hard = resource.getrlimit(which)[1]
    if hard == resource.RLIM_INFINITY:
        return wanted
    return min(wanted[0], hard), min(wanted[1], hard)


def limit_setter(limits: SandboxLimits, nproc: int) -> Callable[[], None]:
    """The preexec function: set every limit in the child before it execs."""
    settings = [
        (resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1)),
        (resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes)),
        (resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes)),
        (resource.RLIMIT_NPROC, (nproc, nproc)),
        (resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    settings = [(which, _within_hard(which, value)) for which, value in settings]

    def preexec() -> None:
        for which, value in settings:
            resource.setrlimit(which, value)

    return preexec


class UidPool:
    """Distinct unprivileged uids for concurrent runs, so process limits do not mix.

    The range depends on this process's pid, so two evaluations running at once
    (almost always) use different uids.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free = list(range(UID_SLOTS))
        self._base = UID_BASE + 1 + (os.getpid() % 100_000) * UID_SLOTS

    @property
    def uids(self) -> range:
        """Every uid this pool can hand out."""
        return range(self._base, self._base + UID_SLOTS)

    @contextlib.contextmanager
    def slot(self) -> Iterator[int]:
        """A uid no other run of this process is using, for the duration of a run."""
        with self._lock:
            if not self._free:
                raise RuntimeError(f"more than {UID_SLOTS} concurrent sandbox runs")
            offset = self._free.pop(0)
        try:
            yield self._base + offset
        finally:
            with self._lock:
                self._free.append(offset)


UID_POOL = UidPool()
