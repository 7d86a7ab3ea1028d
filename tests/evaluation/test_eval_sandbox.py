"""Hostile programs are contained by the sandbox and reported as failures within limits.

Every hostile program runs only through `run_python`, and only after
`limits_in_force` has checked, with a harmless program, that the limits are set inside
the sandbox.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ioa_agent.evaluation import sandbox
from ioa_agent.evaluation.confinement import UID_POOL
from ioa_agent.evaluation.sandbox import SandboxLimits, isolation, run_many, run_python

HOSTILE = SandboxLimits(cpu_seconds=2, wall_seconds=5.0, memory_bytes=512 << 20, max_processes=16)
SLACK = 3.0  # seconds allowed beyond the wall limit for start-up and clean-up


@pytest.fixture(scope="module")
def limits_in_force() -> None:
    probe = (
        "import resource as r\n"
        "for name in ('RLIMIT_CPU', 'RLIMIT_AS', 'RLIMIT_FSIZE', 'RLIMIT_NPROC'):\n"
        "    print(name, r.getrlimit(getattr(r, name))[0])\n"
    )
    result = run_python(probe, HOSTILE)
    assert result.passed, result.stderr
    seen = dict(line.split() for line in result.stdout.split("\n") if line)
    assert int(seen["RLIMIT_CPU"]) == HOSTILE.cpu_seconds
    assert int(seen["RLIMIT_AS"]) == HOSTILE.memory_bytes
    assert int(seen["RLIMIT_FSIZE"]) == HOSTILE.file_size_bytes
    if isolation().separate_user:
        assert int(seen["RLIMIT_NPROC"]) == HOSTILE.max_processes
    else:  # on top of the caller's own processes
        assert int(seen["RLIMIT_NPROC"]) >= HOSTILE.max_processes


def _sandbox_processes() -> list[int]:
    """Live processes owned by this test process's sandbox uids."""
    uids = UID_POOL.uids
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) in uids:
                found.append(int(entry.name))
    return found


def _hostile(program: str) -> sandbox.SandboxResult:
    start = time.monotonic()
    result = run_python(program, HOSTILE)
    elapsed = time.monotonic() - start
    print(f"\n  {result.reason or 'passed'} after {elapsed:.2f}s ({result.mode})")
    assert not result.passed
    assert elapsed < HOSTILE.wall_seconds + SLACK
    if isolation().separate_user:
        assert _sandbox_processes() == []
    return result


if os.environ.get("IOA_REQUIRE_SANDBOX") and not (
    isolation().separate_user and isolation().network_isolated
):  # CI must run the isolation tests, not skip them
    raise RuntimeError(
        f"IOA_REQUIRE_SANDBOX is set but the sandbox runs as {isolation().mode}: "
        f"{'; '.join(isolation().notes)}"
    )

needs_separate_user = pytest.mark.skipif(
    not isolation().separate_user,
    reason=f"sandbox runs with the caller's uid here ({isolation().mode}): no file protection",
)
needs_netns = pytest.mark.skipif(
    not isolation().network_isolated,
    reason=f"no network namespace here ({isolation().mode}, {isolation().notes})",
)


def test_a_normal_program_passes_and_sees_a_fresh_minimal_world() -> None:
    result = run_python(
        "import os\nprint(sorted(os.environ))\nprint(os.listdir('.'))\nassert 1 + 1 == 2"
    )
    assert result.passed, result.stderr
    env_line, files_line = result.stdout.splitlines()
    # PWD is set by the namespace modes' init shell (the temporary directory).
    assert env_line.replace("'PWD', ", "") == "['HOME', 'LANG', 'PATH', 'TMPDIR']"
    assert files_line in ("['.stderr', '.stdout']", "['.stdout', '.stderr']")
    assert result.reason == ""


def test_infinite_loop_hits_the_cpu_limit(limits_in_force: None) -> None:
    result = _hostile("while True:\n    pass")
    assert "SIGXCPU" in result.reason or "SIGKILL" in result.reason


def test_sleeping_forever_hits_the_wall_limit(limits_in_force: None) -> None:
    result = _hostile("import time\ntime.sleep(3600)")
    assert result.timed_out and result.reason.startswith("timed out")


def test_fork_bomb_is_capped_and_leaves_nothing_behind(limits_in_force: None) -> None:
    result = _hostile("import os\nwhile True:\n    os.fork()")
    assert "Resource temporarily unavailable" in result.stderr or result.timed_out


def test_escaped_daemon_is_killed_with_the_run(limits_in_force: None) -> None:
    program = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    time.sleep(3600)\n"
        "time.sleep(3600)\n"
    )
    _hostile(program)


def test_allocating_50_gb_fails_with_memory_error(limits_in_force: None) -> None:
    result = _hostile("data = bytearray(50 * 2**30)\nprint(len(data))")
    assert "MemoryError" in result.reason


def test_printing_1_gb_is_cut_off(limits_in_force: None) -> None:
    result = _hostile("import sys\nfor _ in range(1024):\n    sys.stdout.write('x' * 2**20)\n")
    assert "File too large" in result.reason or "SIGXFSZ" in result.reason
    assert len(result.stdout) <= HOSTILE.output_bytes


@needs_separate_user
def test_writing_outside_the_temp_dir_is_refused(limits_in_force: None, tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    result = _hostile(f"open({str(target)!r}, 'w').write('pwned')")
    assert "PermissionError" in result.reason
    assert not target.exists()


@needs_separate_user
def test_deleting_files_is_refused(limits_in_force: None, tmp_path: Path) -> None:
    victim = tmp_path / "keep.txt"
    victim.write_text("precious")
    result = _hostile(f"import os\nos.remove({str(victim)!r})")
    assert "PermissionError" in result.reason
    assert victim.read_text() == "precious"
    # A directory the sandbox user may enter and read, but not modify.
    shared = Path(tempfile.mkdtemp(prefix="ioa-test-readable-"))
    try:
        shared.chmod(0o755)
        readable = shared / "data.txt"
        readable.write_text("shared")
        readable.chmod(0o644)
        result = _hostile(
            f"import os\nprint(open({str(readable)!r}).read())\nos.remove({str(readable)!r})"
        )
        assert "PermissionError" in result.reason and result.stdout.strip() == "shared"
        assert readable.read_text() == "shared"
    finally:
        shutil.rmtree(shared)


@needs_netns
def test_opening_a_socket_reaches_nothing(limits_in_force: None) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    program = (
        "import socket\n"
        f"s = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "s.sendall(b'leak')\n"
        "socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
    )
    try:
        result = _hostile(program)
        # A connection would wait in the listen backlog even though nobody accepted it.
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()
    assert "Network is unreachable" in result.reason or "OSError" in result.reason


def test_environment_secrets_are_not_inherited(
    limits_in_force: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("IOA_TEST_SECRET", secret)
    program = (
        "import os\n"
        "print(os.environ.get('IOA_TEST_SECRET'))\n"
        f"try:\n    print(open('/proc/{os.getpid()}/environ').read())\n"
        "except OSError as e:\n    print(e)\n"
        "assert os.environ['IOA_TEST_SECRET']\n"
    )
    result = _hostile(program)
    assert "KeyError" in result.reason
    assert secret not in result.stdout and secret not in result.stderr


def test_os_exit_before_the_tests_is_a_failure(limits_in_force: None) -> None:
    result = _hostile("import os\nos._exit(0)\nassert False")
    assert result.returncode == 0 and not result.completed
    assert result.reason.startswith("exited before the end")


def test_hostile_samples_do_not_stall_a_pool(limits_in_force: None) -> None:
    programs = ["while True:\n    pass", "x = 1", "import time\ntime.sleep(3600)", "y = 2"]
    start = time.monotonic()
    results = run_many(programs, HOSTILE, workers=2)
    elapsed = time.monotonic() - start
    assert [r.passed for r in results] == [False, True, False, True]
    assert elapsed < 2 * (HOSTILE.wall_seconds + SLACK)


def _available_modes() -> list[str]:
    modes = [sandbox.RLIMITS_ONLY]
    if isolation().mode in (sandbox.ROOT_NAMESPACES, sandbox.USER_NAMESPACES):
        modes.append(sandbox.USER_NAMESPACES)
    if isolation().mode == sandbox.ROOT_NAMESPACES:
        modes.append(sandbox.ROOT_NAMESPACES)
    return modes


@pytest.mark.parametrize("mode", _available_modes())
def test_every_isolation_mode_runs_and_times_out_cleanly(mode: str) -> None:
    """Only harmless programs here: the weaker modes do not cap a root user's processes."""
    limits = SandboxLimits(cpu_seconds=2, wall_seconds=2.0)
    python = isolation().python if mode == sandbox.ROOT_NAMESPACES else sys.executable
    ok = run_python("print(6 * 7)", limits, mode=mode, python=python)
    assert ok.passed and ok.stdout.strip() == "42", ok.stderr
    failed = run_python("raise ValueError('nope')", limits, mode=mode, python=python)
    assert not failed.passed and failed.reason == "ValueError: nope"
    start = time.monotonic()
    slow = run_python("import time\ntime.sleep(60)", limits, mode=mode, python=python)
    assert slow.timed_out and time.monotonic() - start < limits.wall_seconds + SLACK
