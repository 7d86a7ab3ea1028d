"""Faults a long run must survive, each through a real run (tiny student, exact teacher).

- Ctrl-C (SIGINT to the process group, as a terminal sends it) at a random moment of
  writing, training, assessing, or a review answer being carried out: exit code 130 and
  one line; `ioa resume` then ends identical to an uninterrupted run (events and gate
  decisions, data, items, teacher answers, per-probe scores), paying no call twice.
- A full disk (a small tmpfs in a private mount namespace, filled at a random point):
  one line naming the run folder; no temp file is left; once there is space again,
  `ioa resume` ends identical.
- Damaged files (a truncated store.db, a garbled graph.db, a cut adapter): one line
  naming the file and what to do, no file of the run changed, and the advice works.
- Bad input is tested in tests/test_bad_input.py.

`IOA_FAULT_TRIES` (default 1) sets how many random moments each Ctrl-C and full-disk
case tries: benchmarks/reliability.py runs more and writes docs/results/reliability.json
from what each test records (`record_property`: case, moment, outcome, lost).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import tiny_config, write_config
from run_checks import (
    ROOT,
    assert_no_repeated_teacher_calls,
    differences,
    fingerprint,
    first_differences,
    last_line,
    spawn,
)

from ioa_agent.cli import main
from ioa_agent.drive import snapshot
from ioa_agent.review_answers import pending
from ioa_agent.run import find_run, sha256_file

TRIES = int(os.environ.get("IOA_FAULT_TRIES", "1"))
Record = Callable[[str, Any], None]

# a timer started when the node is entered for the `occurrence`-th time sends SIGINT to
# the whole process group after `delay` seconds, wherever the run is by then
INTERRUPT = """
import functools, os, signal, threading
import {module} as target
_fn = target.{name}
_calls = [0]
@functools.wraps(_fn)
def _hooked(*args, **kwargs):
    _calls[0] += 1
    if _calls[0] == {occurrence}:
        timer = threading.Timer({delay}, os.killpg, (os.getpgrp(), signal.SIGINT))
        timer.daemon = True
        timer.start()
    return _fn(*args, **kwargs)
target.{name} = _hooked
"""
# where each case aims: (module, function, occurrences to pick from, longest delay in s)
AIMS = {
    "writing": ("ioa_agent.graph", "adapt", (1, 2), 1.0),
    "training": ("ioa_agent.graph", "train", (1, 2), 4.0),
    "assessing": ("ioa_agent.graph", "assess", (1,), 0.3),
    "answering a review": ("ioa_agent.review_answers", "answer", (1,), 3.0),
}
MESSAGE = "ioa: interrupted; `ioa resume` continues from the last checkpoint"


def files_of(run_dir: Path) -> dict[str, str]:
    """Every file of a run with its hash (the lock file's content is the holder)."""
    return {
        str(p.relative_to(run_dir)): sha256_file(p)
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name != "run.lock"
    }


def drive(root: Path, name: str) -> None:
    """Resume `name` to its end, approving every step it pauses for."""
    for _ in range(20):
        run = find_run(root, name)
        if snapshot(run).done:
            return
        args = ["review", name, "--approve"] if pending(run) else ["resume", name]
        assert main([*args, "--runs", str(root)]) == 0
    raise AssertionError(f"{name} did not finish")


@pytest.fixture(scope="module")
def reviewed(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run whose every step a person approved."""
    root = tmp_path_factory.mktemp("reviewed")
    cfg = write_config(root / "cfg.yaml", tiny_config(tiny_model, review="required"))
    assert main(["run", "--config", str(cfg), "--runs", str(root), "--name", "ref"]) == 0
    drive(root, "ref")
    return root / "ref"


# Ctrl-C ---------------------------------------------------------------------------
@pytest.mark.parametrize("aim,attempt", [(a, i) for a in AIMS for i in range(TRIES)])
def test_ctrl_c_at_a_random_moment_then_resume_is_identical(
    aim: str,
    attempt: int,
    reference: Path,
    reviewed: Path,
    tiny_model: Path,
    tmp_path: Path,
    record_property: Record,
) -> None:
    rng = random.Random(f"{aim}-{attempt}")
    module, name, occurrences, longest = AIMS[aim]
    occurrence, delay = rng.choice(occurrences), round(rng.uniform(0.0, longest), 2)
    prelude = INTERRUPT.format(module=module, name=name, occurrence=occurrence, delay=delay)
    record_property("case", f"Ctrl-C while {aim}")
    record_property("moment", f"{name} #{occurrence} + {delay} s")
    review = aim == "answering a review"
    yardstick = reviewed if review else reference
    over = {"review": "required"} if review else {}
    cfg = write_config(tmp_path / "cfg.yaml", tiny_config(tiny_model, **over))
    runs = ["--runs", str(tmp_path)]
    if review:  # paused at its first review: carrying out the approval is interrupted
        assert main(["run", "--config", str(cfg), *runs, "--name", "r"]) == 0
        assert pending(find_run(tmp_path, "r")) is not None
        args = ["review", "r", "--approve", *runs]
    else:
        args = ["run", "--config", str(cfg), *runs, "--name", "r"]
    proc = spawn(args, tmp_path / "out", prelude, stderr=tmp_path / "err")
    code = proc.wait(timeout=600)
    err = (tmp_path / "err").read_text()
    landed = snapshot(find_run(tmp_path, "r")).next
    record_property("landed", ",".join(landed) or "end")
    assert code == 130, err[-3000:]
    assert last_line(err) == MESSAGE and "Traceback" not in err, err[-3000:]

    drive(tmp_path, "r")
    ref, got = fingerprint(yardstick), fingerprint(tmp_path / "r")
    lost = differences(ref, got)
    usage = assert_no_repeated_teacher_calls(tmp_path / "r")
    record_property("lost", lost)
    record_property("repeated_calls", usage["calls"] - usage["distinct"])
    assert lost == [], first_differences(ref, got)
    assert usage["calls"] == find_run(yardstick.parent, "ref").store.teacher_usage()["calls"]


# a full disk ----------------------------------------------------------------------
FULL_DISK = """
set -u
mount -t tmpfs -o size={size}k tmpfs "$MNT"
{python} -c "$IOA" run --config "$CFG" --runs "$MNT" --name r >"$OUT/run.out" 2>"$OUT/run.err"
echo $? >"$OUT/run.rc"
{python} -c "from ioa_agent.drive import snapshot; from ioa_agent.run import find_run
print(','.join(snapshot(find_run('$MNT', 'r')).next))" >"$OUT/landed" 2>&1
find "$MNT" -name '.*.tmp' >"$OUT/tmp_files"
mount -o remount,size=262144k "$MNT"
{python} -c "$IOA" resume r --runs "$MNT" >"$OUT/resume.out" 2>"$OUT/resume.err"
echo $? >"$OUT/resume.rc"
cp -a "$MNT/r" "$OUT/r"
"""


def namespaces_work() -> bool:
    probe = ["unshare", "--user", "--map-root-user", "--mount", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.parametrize("attempt", range(TRIES))
def test_full_disk_stops_with_one_line_and_resumes_identical(
    attempt: int, reference: Path, tiny_model: Path, tmp_path: Path, record_property: Record
) -> None:
    if not namespaces_work():
        if os.environ.get("IOA_REQUIRE_SANDBOX") == "1":
            raise AssertionError("IOA_REQUIRE_SANDBOX=1 but `unshare --user --mount` fails")
        pytest.skip("needs user and mount namespaces (`unshare --user --mount`) for a tmpfs")
    # the run peaks at ~2.7 MB while diagnosing: a size in this range fills at a random
    # write before the first assessment (a disk that fills later is not tried)
    size = random.Random(f"disk-{attempt}").randint(1000, 2500)
    record_property("case", "full disk")
    record_property("moment", f"a {size} KiB tmpfs")
    (tmp_path / "mnt").mkdir()
    env = dict(os.environ)
    env.update(
        MNT=str(tmp_path / "mnt"),
        OUT=str(tmp_path),
        CFG=str(write_config(tmp_path / "cfg.yaml", tiny_config(tiny_model))),
        IOA="import sys; from ioa_agent.cli import main; sys.exit(main(sys.argv[1:]))",
    )
    script = FULL_DISK.format(size=size, python=sys.executable)
    shell = ["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", script]
    subprocess.run(shell, cwd=ROOT, env=env, check=True, timeout=900)
    err = (tmp_path / "run.err").read_text()
    record_property("landed", (tmp_path / "landed").read_text().strip() or "end")
    assert (tmp_path / "run.rc").read_text().strip() == "2", err[-3000:]
    line = last_line(err)
    assert line.startswith("ioa: error: no space left on the disk holding"), err[-3000:]
    assert str(tmp_path / "mnt" / "r") in line and "Traceback" not in err
    assert (tmp_path / "tmp_files").read_text() == ""  # no half-written file left
    resume_err = (tmp_path / "resume.err").read_text()
    assert (tmp_path / "resume.rc").read_text().strip() == "0", resume_err[-3000:]

    ref, got = fingerprint(reference), fingerprint(tmp_path / "r")
    lost = differences(ref, got)
    usage = assert_no_repeated_teacher_calls(tmp_path / "r")
    record_property("lost", lost)
    record_property("repeated_calls", usage["calls"] - usage["distinct"])
    assert lost == [], first_differences(ref, got)


# damaged files --------------------------------------------------------------------
@pytest.fixture(scope="module")
def halfway(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run stopped by Ctrl-C after round 1's training, before round 2's."""
    root = tmp_path_factory.mktemp("halfway")
    cfg = write_config(root / "cfg.yaml", tiny_config(tiny_model))
    prelude = INTERRUPT.format(module="ioa_agent.graph", name="train", occurrence=2, delay=0)
    args = ["run", "--config", str(cfg), "--runs", str(root), "--name", "h"]
    assert spawn(args, root / "out", prelude).wait(timeout=600) == 130
    assert snapshot(find_run(root, "h")).next == ("train",)
    return root / "h"


def copy_run(halfway: Path, dest: Path) -> Path:
    """A copy of the run whose training jobs point into the copy."""
    shutil.copytree(halfway, dest)
    for job in dest.glob("rounds/*/adapter.job.json"):
        job.write_text(job.read_text().replace(str(halfway), str(dest)))
    return dest


def damage(path: Path, how: str) -> None:
    if how == "truncate":
        os.truncate(path, path.stat().st_size // 2)
    else:
        with open(path, "r+b") as f:
            f.write(b"\x00garbled" * 64)


@pytest.mark.parametrize(
    "target,how",
    [
        ("store.db", "truncate"),
        ("graph.db", "garble"),
        ("rounds/0001/adapter/adapter_model.safetensors", "truncate"),
    ],
)
def test_a_damaged_file_is_named_and_nothing_else_changes(
    target: str,
    how: str,
    halfway: Path,
    reference: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    record_property: Record,
) -> None:
    record_property("case", f"damaged {Path(target).name} ({how}d)")
    record_property("moment", "resume after round 1's training")
    backup = copy_run(halfway, tmp_path / "backup")
    run_dir = copy_run(halfway, tmp_path / "h")
    damage(run_dir / target, how)
    before = files_of(run_dir)
    capsys.readouterr()
    assert main(["resume", "h", "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"ioa: error: {run_dir / target} is damaged")
    changed = [
        f for f in set(before) | set(files_of(run_dir)) if before.get(f) != files_of(run_dir).get(f)
    ]
    record_property("changed", changed)
    assert changed == []

    # the advice in the message works
    if target == "store.db":  # restore from a backup
        shutil.copy2(backup / "store.db", run_dir / "store.db")
    elif target == "graph.db":  # move it aside: the run replays from its store
        (run_dir / "graph.db").rename(run_dir / "graph.db.damaged")
    else:  # train the adapter again from its job
        folder = run_dir / "rounds" / "0001" / "adapter"
        assert f"python -m ioa_agent.student.train {folder}.job.json" in err
        shutil.rmtree(folder)
        job = [sys.executable, "-m", "ioa_agent.student.train", f"{folder}.job.json"]
        subprocess.run(job, cwd=ROOT, check=True, capture_output=True, timeout=600)
    assert main(["resume", "h", "--runs", str(tmp_path)]) == 0
    ref, got = fingerprint(reference), fingerprint(run_dir)
    lost = differences(ref, got)
    usage = assert_no_repeated_teacher_calls(run_dir)
    if target == "graph.db":  # the replay meters cached answers again: events may differ
        assert lost in ([], ["events"]), first_differences(ref, got)
        lost = []
    record_property("lost", lost)
    record_property("repeated_calls", usage["calls"] - usage["distinct"])
    assert lost == [], first_differences(ref, got)
