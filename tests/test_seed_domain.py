"""Seed-data domains on real benchmark rows: parsing, held-out probes, scorers, dataset ids.

Real rows come from the small slices in tests/fixtures/ (see its README); the full-set
check reads ../shared/data beside the repository when it is there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, SHARED_DATA, write_config

from ioa_agent.config import ConfigError
from ioa_agent.config_file import load_config
from ioa_agent.domains.scorers import Scorer, extract_code
from ioa_agent.domains.seed import (
    SeedDataError,
    build_seed_domain,
    load_seed,
    load_seed_file,
    seed_items,
    split_answer,
    split_probes,
)
from ioa_agent.items import Item, ModuleSpec
from ioa_agent.run import create_run
from ioa_agent.teacher.cached import CachedTeacher

GSM8K = FIXTURES / "gsm8k" / "train.jsonl"  # the first 40 rows of GSM8K's train split
MBPP = FIXTURES / "mbpp" / "mbpp.jsonl"  # the first 20 rows of MBPP
FULL_GSM8K = SHARED_DATA / "gsm8k" / "train.jsonl"


@pytest.mark.skipif(not FULL_GSM8K.is_file(), reason=f"full GSM8K absent at {FULL_GSM8K}")
def test_every_gsm8k_train_answer_splits_into_a_number() -> None:
    items = load_seed_file(FULL_GSM8K, "math")
    assert len(items) == 7473
    assert all(it.answer and "####" not in it.answer for it in items)
    assert sum(it.answer.lstrip("-").replace(".", "").isdigit() for it in items) == len(items)


def test_gsm8k_answers_split_into_rationale_and_final_answer() -> None:
    items = load_seed_file(GSM8K, "math")
    assert len(items) == 40
    first = items[0]
    assert first.prompt.startswith("Natalia sold clips to 48 of her friends")
    assert first.answer == "72"
    assert first.rationale.startswith("Natalia sold 48/2 = 24 clips in May.")
    assert "<<" not in first.rationale and "####" not in first.rationale
    assert all(it.answer and "####" not in it.answer for it in items)
    assert sum(it.answer.lstrip("-").replace(".", "").isdigit() for it in items) == len(items)
    assert split_answer("so \\boxed{\\frac{1}{2}} is it") == (
        "so \\boxed{\\frac{1}{2}} is it",
        "\\frac{1}{2}",
    )


def test_mbpp_rows_become_code_items_with_tests() -> None:
    items = load_seed_file(MBPP, "code", limit=20)
    assert len(items) == 20
    assert items[0].prompt.startswith("Write a function to find the minimum cost path")
    assert len(items[0].tests) == 3 and items[0].tests[0].startswith("assert min_cost(")
    assert "\r" not in items[0].answer
    assert items[0].completion().startswith("```python\nR = 3")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2.*not valid JSON|:2: not valid JSON"),
        ('{"answer": "3"}', ":2: needs a non-empty string `prompt`"),
        ('{"prompt": "q", "answer": ""}', ":2: needs a non-empty string `answer`"),
        ('{"prompt": "q", "answer": "1", "module": "Bad Module"}', ":2: `module` must look like"),
        ('{"prompt": "q", "answer": "1", "level": "hard"}', ":2: `level` must be a positive"),
    ],
)
def test_bad_seed_lines_name_the_line_and_the_fix(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "seed.jsonl"
    path.write_text('{"prompt": "What is 1+1?", "answer": "2"}\n' + line + "\n")
    with pytest.raises(SeedDataError, match=message):
        load_seed_file(path, "math")


def test_probes_are_held_out_per_module_spread_over_levels() -> None:
    items = [
        Item(module=f"m/{k}", level=1 + i % 3, prompt=f"q {k} {i}", answer=str(i))
        for k in ("a", "b")
        for i in range(30)
    ]
    probes, pool = split_probes(items, 6, seed=1)
    assert len(probes) == 12 and len(pool) == 48
    assert not {p.id for p in probes} & {p.id for p in pool}
    for k in ("a", "b"):
        mine = [p for p in probes if p.module == f"m/{k}"]
        assert sorted(p.level for p in mine) == [1, 1, 2, 2, 3, 3]
    assert split_probes(items, 6, seed=1)[0] == probes
    assert split_probes(items, 6, seed=2)[0] != probes


def test_math_and_code_scorers_judge_real_answers() -> None:
    items = load_seed_file(GSM8K, "math", limit=3)
    math = Scorer("math")
    outputs = [
        f"Steps...\nThe answer is {items[0].answer}.",
        f"#### {items[1].answer}",
        "The answer is 123456.",
    ]
    assert [ok for _, ok in math.check_outputs(items, outputs)] == [True, True, False]
    assert math.check([items[0]], ["\\frac{144}{2}"]) == [True]  # 72 by math-verify

    code_items = load_seed_file(MBPP, "code", limit=3)
    code = Scorer("code")
    good = [f"Here:\n```python\n{it.answer}\n```" for it in code_items]
    bad = [f"```python\n{it.answer.replace('return', 'return 1 +', 1)}\n```" for it in code_items]
    assert [ok for _, ok in code.check_outputs(code_items, good)] == [True, True, True]
    assert [ok for _, ok in code.check_outputs(code_items, bad)] == [False, False, False]
    assert extract_code("no fence") == "no fence"


def test_open_scorer_uses_rouge_or_the_judge() -> None:
    item = Item(
        module="o/x",
        level=1,
        prompt="Why is the sky blue?",
        answer="Rayleigh scattering of sunlight",
    )
    rouge = Scorer("open", rouge_threshold=0.5)
    assert rouge.check([item, item], ["Rayleigh scattering of sunlight.", "no idea"]) == [
        True,
        False,
    ]
    judged = Scorer("open", judge=lambda triples: [t[2] == "yes" for t in triples])
    assert judged.check([item, item], ["yes", "Rayleigh scattering of sunlight"]) == [True, False]


def llm_config(tmp_path: Path, seed_file: Path, **seed: object) -> Path:
    cfg = {
        "domain": "grade-school math word problems",
        "teacher": {"kind": "llm", "model": "m", "base_url": "http://127.0.0.1:9/v1"},
        "seed_data": {"path": str(seed_file), "probes_per_module": 2, **seed},
    }
    return write_config(tmp_path / "cfg.yaml", cfg)


def test_seed_path_is_resolved_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "s.jsonl").write_text('{"prompt": "q", "answer": "1"}\n')
    cfg = write_config(
        tmp_path / "cfg.yaml",
        {"teacher": {"kind": "llm", "model": "m"}, "seed_data": {"path": "data/s.jsonl"}},
    )
    assert load_config(cfg).seed_data.path == str(tmp_path / "data" / "s.jsonl")
    cfg.write_text(cfg.read_text().replace("data/s.jsonl", "data/none.jsonl"))
    with pytest.raises(ConfigError, match="seed_data.path.*does not exist"):
        load_config(cfg)


def test_tagged_seed_data_builds_modules_probes_and_pool_without_the_teacher(
    tmp_path: Path,
) -> None:
    rows = [json.loads(line) for line in GSM8K.read_text().splitlines()[:40]]
    seed = tmp_path / "tagged.jsonl"
    seed.write_text(
        "".join(
            json.dumps({**r, "module": f"gsm/{'short' if len(r['question']) < 200 else 'long'}"})
            + "\n"
            for r in rows
        )
    )
    run = create_run(load_config(llm_config(tmp_path, seed)), tmp_path / "runs")
    build_seed_domain(run)
    mods = run.store.modules()
    assert [m.id for m in mods] == ["gsm/long", "gsm/short"]
    probes, pool = run.store.items("probe"), run.store.items("seed")
    assert len(probes) == 4 and len(pool) == 36
    assert not {p.prompt for p in probes} & {p.prompt for p in pool}
    assert run.store.teacher_usage()["calls"] == 0
    drawn = seed_items(run, mods[0], 1, 3, seed=5)
    assert len(drawn) == 3 and all(d.module == "gsm/long" for d in drawn)
    assert not {d.id for d in drawn} & {p.id for p in probes}
    build_seed_domain(run)  # a second visit changes nothing
    assert len(run.store.items("probe")) == 4


class Classifier:
    """A narrow fake of the teacher seam for decomposition and classification."""

    model_id = "fake/classifier"

    def decompose(self, domain: str, examples: list[str] | None = None) -> list[ModuleSpec]:
        return [
            ModuleSpec(id="gsm/money", description="money", levels=1),
            ModuleSpec(id="gsm/other", description="anything else", levels=1),
            ModuleSpec(id="gsm/unused", description="nothing maps here", levels=1),
        ]

    def classify(self, prompt: str, modules: list[ModuleSpec], levels: int) -> tuple[str, int]:
        return ("gsm/money" if "$" in prompt else "gsm/other"), 1 + len(prompt) % levels


def test_untagged_seed_data_is_classified_by_the_teacher(tmp_path: Path) -> None:
    run = create_run(load_config(llm_config(tmp_path, GSM8K, limit=30, levels=2)), tmp_path / "r")
    run.__dict__["teacher"] = CachedTeacher(Classifier(), run.store)
    build_seed_domain(run)
    mods = run.store.modules()
    assert [(m.id, m.levels) for m in mods] == [("gsm/money", 2), ("gsm/other", 2)]
    items = run.store.items("probe") + run.store.items("seed")
    assert len(items) == 30
    assert all((it.module == "gsm/money") == ("$" in it.prompt) for it in items)
    assert {it.level for it in items} == {1, 2}
    assert run.store.teacher_usage()["calls"] == 31  # one decomposition, 30 classifications


def hub_stand_in(root: Path, rows: list[dict]) -> None:
    """`openai/gsm8k` (config main, split train) as a local dataset repository."""
    from datasets import Dataset

    repo = root / "openai" / "gsm8k"
    (repo / "main").mkdir(parents=True)
    Dataset.from_list(rows).to_parquet(str(repo / "main" / "train-00000-of-00001.parquet"))
    card = "configs:\n- config_name: main\n  data_files:\n  - split: train\n    path: main/train-*"
    (repo / "README.md").write_text(f"---\n{card}\n---\n")


@pytest.fixture()
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # `datasets` reads ./openai/gsm8k before asking the hub
    return work


def test_seed_data_by_dataset_id(offline_hub: Path) -> None:
    rows = [json.loads(line) for line in GSM8K.read_text().splitlines()]
    tagged = [{**r, "module": f"gsm/l{1 + i % 2}"} for i, r in enumerate(rows)]
    hub_stand_in(offline_hub, tagged)
    path = "hf://openai/gsm8k:main/train"
    from_file = [
        it.model_copy(update={"module": r["module"]})
        for it, r in zip(load_seed_file(GSM8K, "math"), tagged, strict=True)
    ]
    assert load_seed(path, "math") == from_file
    assert [it.prompt for it in load_seed(path, "math", limit=5)] == [
        r["question"] for r in rows[:5]
    ]
    cfg = write_config(
        offline_hub / "cfg.yaml",
        {
            "domain": "grade-school math word problems",
            "teacher": {"kind": "llm", "model": "m", "base_url": "http://127.0.0.1:9/v1"},
            "seed_data": {"path": path, "probes_per_module": 2, "limit": 30},
        },
    )
    config = load_config(cfg)
    assert config.seed_data.path == path  # a dataset id is not a file path
    run = create_run(config, offline_hub / "runs")
    build_seed_domain(run)
    assert [m.id for m in run.store.modules()] == ["gsm/l1", "gsm/l2"]
    assert len(run.store.items("probe")) == 4 and len(run.store.items("seed")) == 26
    sources = {r["teacher"] for r in run.store.db["items"].rows}
    assert sources == {f"seed:{path}"}
    assert run.store.teacher_usage()["calls"] == 0


def test_bad_or_unreachable_dataset_ids_say_what_to_fix(offline_hub: Path) -> None:
    cfg = write_config(
        offline_hub / "cfg.yaml",
        {"teacher": {"kind": "llm", "model": "m"}, "seed_data": {"path": "hf://gsm8k/train"}},
    )
    with pytest.raises(ConfigError, match="hf://OWNER/NAME"):
        load_config(cfg)
    with pytest.raises(SeedDataError) as caught:
        load_seed("hf://nobody/nothing:main/train", "math")
    message = str(caught.value)
    assert "\n" not in message and "go online" in message and "local JSONL" in message


def test_tagged_items_keep_their_module_when_others_are_untagged(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in GSM8K.read_text().splitlines()[:30]]
    for i in (0, 1, 2, 3):  # tagged into a module the teacher does not propose
        rows[i]["module"], rows[i]["level"] = "gsm/tagged", 3
    rows[4]["module"] = "gsm/other"  # tagged into one it does propose, no level
    seed = tmp_path / "mixed.jsonl"
    seed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = create_run(load_config(llm_config(tmp_path, seed, levels=2)), tmp_path / "r")
    run.__dict__["teacher"] = CachedTeacher(Classifier(), run.store)
    build_seed_domain(run)
    mods = {m.id: m.levels for m in run.store.modules()}
    assert mods == {"gsm/money": 2, "gsm/other": 2, "gsm/tagged": 3}
    items = {it.prompt: it for it in run.store.items("probe") + run.store.items("seed")}
    assert len(items) == 30
    for i, row in enumerate(rows):
        it = items[row["question"].strip()]
        if i < 4:
            assert (it.module, it.level) == ("gsm/tagged", 3)
        elif i == 4:
            assert (it.module, it.level) == ("gsm/other", 1)
        else:
            assert it.module == ("gsm/money" if "$" in it.prompt else "gsm/other")
    assert run.store.teacher_usage()["calls"] == 1 + 25  # only the untagged are classified
