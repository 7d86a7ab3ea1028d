"""A clone with nothing beside it: the data-dependent quick tests pass there.

The repository's files as a commit would hold them (tracked, plus untracked files git
does not ignore) are copied into an empty temp folder, so no `../shared` is beside
them and no `$IOA_DATA_DIR` is set; the test modules that read benchmark or seed rows
then run there, offline, in a child pytest. They must pass on the fixtures alone, with
only the full-set sweeps skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_MODULES = [
    "tests/test_seed_domain.py",
    "tests/evaluation/test_eval_loaders.py",
    "tests/evaluation/test_eval_hub.py",
    "tests/evaluation/test_eval_cli.py",
    "tests/evaluation/test_eval_math_scoring.py",
]


def repository_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


@pytest.mark.timeout(900)
def test_data_dependent_tests_pass_in_a_clone_with_nothing_beside_it(tmp_path: Path) -> None:
    clone = tmp_path / "alone" / "ioa-agent"
    for name in repository_files():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, clone / name)
    assert not (clone.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("IOA_DATA_DIR", "PYTHONPATH")}
    env.update(
        PYTHONPATH=str(clone),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_DATASETS_CACHE=str(tmp_path / "datasets-cache"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *DATA_MODULES],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=880,
    )
    tail = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    assert " passed" in done.stdout and " failed" not in done.stdout, tail
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("absent" in line for line in skipped), tail  # only the full-set sweeps
