"""Loaders for benchmarks whose data the user supplies as local files.

Expected formats (one JSON object per line unless said otherwise):

- Dolly (MiniLLM's evaluation set, or databricks-dolly-15k): `instruction`, optional
  `input` or `context`, and the reference as `output` or `response` (or a list
  `references`); optional `id` (default: the 0-based line number).
- Vicuna: the same format as Dolly. Without a file, the FastChat copy in the data folder
  (`--data-dir` or `$IOA_DATA_DIR`) is used:
  `vicuna/question.jsonl` with `vicuna/reference_answer_gpt-4.jsonl`; only the
  questions that have a reference answer there (10 of 80) can be ROUGE-scored, so only
  those are loaded. Ids are `question_id`.
- LiveCodeBench (code_generation_lite layout): `question_id`, `question_content`,
  optional `starter_code`, `public_test_cases` and `private_test_cases` (a JSON list,
  a JSON string of one, or LiveCodeBench's base64+zlib+pickle packing of that string,
  unpacked by an unpickler that refuses every object but plain strings), and `metadata`
  (JSON with `func_name` for functional tests). Tests are `{input, output, testtype}`.
- GPQA (gated: never bundled): the official CSV (e.g. `gpqa_diamond.csv`) or JSONL with
  `Question`, `Correct Answer`, `Incorrect Answer 1..3` and optional `Record ID`. The four
  choices are shuffled once per question by a fixed seed, so every run sees the same
  order.

Nothing here downloads data.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import pickle
import random
import zlib
from pathlib import Path
from typing import Any

from ioa_agent.evaluation.loaders import DataNotFoundError, data_file, read_jsonl
from ioa_agent.evaluation.records import Problem

GPQA_CHOICE_SEED = 0
LETTERS = "ABCD"


def _require(path: Path | None, bench: str, flag: str) -> Path:
    if path is None:
        raise DataNotFoundError(f"{bench} needs a local data file: pass {flag} FILE")
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataNotFoundError(f"{bench} file {path} does not exist: check {flag}")
    return path


def _instruction_problems(rows: list[dict[str, Any]], bench: str, path: Path) -> list[Problem]:
    problems = []
    for index, row in enumerate(rows):
        instruction = row.get("instruction") or row.get("prompt")
        if not instruction:
            raise ValueError(f"{path}: line {index + 1} has no 'instruction'")
        context = row.get("input") or row.get("context") or ""
        refs = row.get("references") or row.get("output") or row.get("response")
        if isinstance(refs, str):
            refs = [refs]
        if not refs:
            raise ValueError(f"{path}: line {index + 1} has no 'output'/'response' reference")
        question = instruction if not context else f"{instruction}\n\n{context}"
        problems.append(
            Problem(
                bench=bench,
                id=str(row.get("id", index)),
                question=question,
                gold=refs[0],
                references=tuple(str(r) for r in refs),
            )
        )
    return problems


def load_dolly(path: Path | None) -> list[Problem]:
    """Dolly evaluation items from a local JSONL (format in the module docstring)."""
    path = _require(path, "Dolly", "--dolly-file")
    return _instruction_problems(read_jsonl(path), "dolly", path)


def load_vicuna(path: Path | None = None, data_dir: Path | None = None) -> list[Problem]:
    """Vicuna items: a local JSONL, else the data folder's questions that have references."""
    if path is not None:
        path = _require(path, "Vicuna", "--vicuna-file")
        return _instruction_problems(read_jsonl(path), "vicuna", path)
    questions = read_jsonl(data_file(data_dir, "vicuna/question.jsonl", "Vicuna"))
    answers = read_jsonl(
        data_file(data_dir, "vicuna/reference_answer_gpt-4.jsonl", "Vicuna references")
    )
    references = {
        row["question_id"]: [choice["turns"][0] for choice in row["choices"]] for row in answers
    }
    return [
        Problem(
            bench="vicuna",
            id=str(row["question_id"]),
            question=row["turns"][0],
            gold=references[row["question_id"]][0],
            references=tuple(references[row["question_id"]]),
            extra={"category": row.get("category", "")},
        )
        for row in questions
        if row["question_id"] in references
    ]


class _StringsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from test data")


def _lcb_tests(value: Any) -> list[dict[str, Any]]:
    if not value:
        return []
    if isinstance(value, list):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        packed = zlib.decompress(base64.b64decode(value.encode("utf-8")))
        return json.loads(_StringsOnly(io.BytesIO(packed)).load())


def load_lcb(path: Path | None) -> list[Problem]:
    """LiveCodeBench problems from a local JSONL; all public and private tests."""
    path = _require(path, "LiveCodeBench", "--lcb-file")
    problems = []
    for row in read_jsonl(path):
        metadata = row.get("metadata") or {}
        if isinstance(metadata, str):
            metadata = json.loads(metadata) if metadata.strip() else {}
        tests = _lcb_tests(row.get("public_test_cases")) + _lcb_tests(row.get("private_test_cases"))
        problems.append(
            Problem(
                bench="lcb",
                id=str(row["question_id"]),
                question=row["question_content"],
                extra={
                    "starter_code": row.get("starter_code") or "",
                    "tests": tests,
                    "func_name": metadata.get("func_name"),
                    "difficulty": row.get("difficulty", ""),
                },
            )
        )
    return problems


def _gpqa_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    return read_jsonl(path)


def load_gpqa(path: Path | None, seed: int = GPQA_CHOICE_SEED) -> list[Problem]:
    """GPQA questions with their choices in one fixed order per question (by `seed`)."""
    path = _require(path, "GPQA", "--gpqa-file")
    problems = []
    for index, row in enumerate(_gpqa_rows(path)):
        try:
            correct = row["Correct Answer"].strip()
            wrong = [row[f"Incorrect Answer {i}"].strip() for i in (1, 2, 3)]
            question = row["Question"].strip()
        except KeyError as exc:
            raise ValueError(f"{path}: record {index + 1} lacks the GPQA column {exc}") from exc
        problem_id = str(row.get("Record ID") or index)
        choices = [correct, *wrong]
        random.Random(f"gpqa:{seed}:{problem_id}").shuffle(choices)
        problems.append(
            Problem(
                bench="gpqa",
                id=problem_id,
                question=question,
                gold=LETTERS[choices.index(correct)],
                extra={"choices": choices},
            )
        )
    return problems
