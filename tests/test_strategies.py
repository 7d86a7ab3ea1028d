"""Strategies: the pure choices (pedagogy.strategies) and whole tiny runs of each.

The unit tests pin what each baseline and ablation changes; the run tests drive the
real graph (real SQLite, the exact teacher, a tiny real student) under a teacher-token
budget and check that each strategy does what it claims in the store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import tiny_config, write_config

from ioa_agent.cli import main
from ioa_agent.config import ConfigError, parse_config
from ioa_agent.pedagogy.strategies import (
    METHODS,
    budget_left,
    choose_targets,
    decide_ungated,
    flat_plan,
    from_failures,
    is_flat,
    plan_chunks,
    plan_passes,
    rewrites,
    round_allowance,
    sample_ids,
    seeds_per_entry,
    uses_identifier,
    uses_organizer,
)
from ioa_agent.run import Run, create_run, find_run

MODULES = ["a/x", "a/y", "b/z", "c/w"]


def test_each_ablation_removes_exactly_one_component() -> None:
    parts = {m: (uses_identifier(m), uses_organizer(m), rewrites(m)) for m in METHODS}
    assert parts["ioa"] == (True, True, True)
    assert parts["no_identifier"] == (False, True, True)
    assert parts["no_organizer"] == (True, False, True)
    assert parts["no_adapter"] == (True, True, False)
    assert parts["uniform"] == (False, False, False)
    assert parts["targeted"] == (False, False, False)
    # and the choice of targets follows it: only methods that use the Identifier keep
    # its (deliberately odd) pick of one module
    for method in METHODS:
        kept = [choose_targets(method, ["c/w"], MODULES, seed) for seed in range(10)]
        assert all(k == ["c/w"] for k in kept) == uses_identifier(method), method


def test_choose_targets() -> None:
    assert choose_targets("ioa", ["b/z", "a/x"], MODULES, 1) == ["a/x", "b/z"]
    assert choose_targets("uniform", ["a/x"], MODULES, 1) == sorted(MODULES)
    assert choose_targets("targeted", [], MODULES, 1) == sorted(MODULES)
    drawn = {tuple(choose_targets("no_identifier", ["a/x", "a/y"], MODULES, s)) for s in range(40)}
    assert all(len(t) == 2 and set(t) <= set(MODULES) for t in drawn)
    assert len(drawn) > 3  # uniform draws, not the identified pair every time
    assert choose_targets("no_identifier", [], MODULES, 3) != []  # at least one


def test_flat_plan_covers_every_module_and_level_once() -> None:
    skills = ["b/z@1", "a/x@1", "a/x@2", "b/z@2", "a/x@3"]
    plan = flat_plan(skills, seed=5)
    assert sorted(plan) == [
        ("a/x", 1, "standard"),
        ("a/x", 2, "standard"),
        ("a/x", 3, "standard"),
        ("b/z", 1, "standard"),
        ("b/z", 2, "standard"),
    ]
    assert plan == flat_plan(sorted(skills), seed=5)
    assert {tuple(flat_plan(skills, seed=s)) for s in range(10)} != {tuple(plan)}


def test_seeds_and_rounds() -> None:
    assert seeds_per_entry("ioa", 24, 4, flat=False) == 24
    assert seeds_per_entry("uniform", 24, 4, flat=True) == 6
    assert seeds_per_entry("uniform", 1, 4, flat=True) == 1
    assert is_flat("uniform") and is_flat("targeted") and is_flat("no_organizer")
    assert not is_flat("ioa") and not is_flat("no_adapter")
    assert not from_failures("targeted", 1) and from_failures("targeted", 2)
    assert not from_failures("uniform", 2)


def test_budget_shares() -> None:
    assert round_allowance(None, 10, 3) is None
    assert round_allowance(900, 0, 3) == 300
    assert round_allowance(900, 600, 1) == 300
    assert round_allowance(900, 1000, 2) == 0
    assert budget_left(None, 10**9) and budget_left(10, 9) and not budget_left(10, 10)
    assert decide_ungated(True, True) == "adapt"
    assert decide_ungated(False, True) == "end" and decide_ungated(True, False) == "end"


def test_sample_ids() -> None:
    ids = [f"i{k}" for k in range(10)] + ["i1"]
    got = sample_ids(ids, 4, seed=2)
    assert len(got) == 4 and got == sorted(got) and set(got) <= set(ids)
    assert sample_ids(ids, 50, seed=2) == sorted(set(ids))
    assert sample_ids(ids, 4, seed=2) == got


def test_config_strategy_field() -> None:
    assert parse_config({}).strategy == "ioa"
    assert parse_config({"strategy": "targeted"}).strategy == "targeted"
    with pytest.raises(ConfigError, match="strategy"):
        parse_config({"strategy": "random"})


# whole runs ---------------------------------------------------------------------
BUDGET = 90_000


@pytest.fixture(scope="module")
def runs(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("strategies")
    for method in ("ioa", "uniform", "targeted", "no_adapter"):
        cfg = tiny_config(
            tiny_model,
            strategy=method,
            max_rounds=2,
            max_cycles=2,
            teacher={"budget_tokens": BUDGET},
            adapter={"seeds_per_module": 2, "j": 3},
        )
        path = write_config(root / f"{method}.yaml", cfg)
        assert main(["run", "--config", str(path), "--runs", str(root), "--name", method]) == 0
    return root


def _spent(run_dir: Path) -> int:
    use = find_run(run_dir.parent, run_dir.name).store.teacher_usage()
    return use["tokens_in"] + use["tokens_out"]


@pytest.mark.slow
def test_every_strategy_stays_within_budget_and_records_it(runs: Path) -> None:
    for method in ("ioa", "uniform", "targeted", "no_adapter"):
        run = find_run(runs, method)
        spent = _spent(runs / method)
        assert 0 < spent <= BUDGET + 2_000, (method, spent)  # one call may cross the line
        gates = run.store.events("gate")
        assert gates and gates[-1]["payload"]["teacher_tokens"] == spent
        assert all(g["payload"]["strategy"] == method for g in gates)
        assert run.store.assessed_rounds() == [0, 1, 2]


@pytest.mark.slow
def test_uniform_teaches_every_module_without_rewrite(runs: Path) -> None:
    run = find_run(runs, "uniform")
    modules = {m.id for m in run.store.modules()}
    taught = {i.module for i in run.store.items("train")}
    assert len(taught) >= len(modules) // 2  # spread, not one stage
    assert all(i.strategy == "" for i in run.store.items("train"))
    rewrites_made = run.store.db.execute(
        "select count(*) from teacher_calls where task = 'rewrite'"
    ).fetchone()[0]
    assert rewrites_made == 0
    plan = [e for e in run.store.events() if e["node"] == "organize"][0]["payload"]
    every_skill = sorted(
        f"{m.id}@{lv}" for m in run.store.modules() for lv in range(1, m.levels + 1)
    )
    assert plan["stages"] == [{"skills": every_skill, "bridge": False}]  # one unordered stage


@pytest.mark.slow
def test_ioa_rewrites_and_no_adapter_does_not(runs: Path) -> None:
    ioa = find_run(runs, "ioa").store.items("train")
    raw = find_run(runs, "no_adapter").store.items("train")
    assert ioa and raw
    assert all("step_format" in i.strategy for i in ioa)
    assert all(i.strategy == "" for i in raw)


@pytest.mark.slow
def test_targeted_synthesizes_from_training_failures_not_probes(runs: Path) -> None:
    run = find_run(runs, "targeted")
    failures = run.store.events("failures")
    assert [f["payload"]["round"] for f in failures] == [1]
    failed = set(failures[0]["payload"]["failed"])
    probes = {p.id for p in run.store.items("probe")}
    first = {i.id for i in run.store.items("train", before_round=2)}
    assert failures[0]["payload"]["scored"] > 0
    assert failed <= first and not failed & probes
    second = [json.loads(line) for line in (runs / "targeted/rounds/0002/train.jsonl").open()]
    new_ids = {row["id"] for row in second if not row["replay"]}
    parents = {i.parent for i in run.store.items("train") if i.id in new_ids}
    assert parents and parents <= failed


def unbudgeted_round(tiny_model: Path, tmp_path: Path, adapter: dict) -> tuple[Run, int, int]:
    """A one-round run without a budget: the run, and the teacher tokens its diagnosis
    and its round (writing, rendering, self-replay) cost."""
    free = tiny_config(tiny_model, max_rounds=1, adapter=adapter)
    path = write_config(tmp_path / "free.yaml", free)
    assert main(["run", "--config", str(path), "--runs", str(tmp_path), "--name", "free"]) == 0
    run = find_run(tmp_path, "free")
    by_node = {
        r["node"]: r["tokens_in"] + r["tokens_out"] for r in run.store.teacher_usage_by_node()
    }
    return run, by_node["diagnose"], by_node["adapt"]


def test_a_big_plan_entry_keeps_within_its_round_share(tiny_model: Path, tmp_path: Path) -> None:
    """One stage entry of many seeds (the demo's 24 x J 10) is written a teacher batch
    at a time, so round 1 stops near its share and round 2 still has tokens to teach."""
    big = {"seeds_per_module": 24, "j": 10}
    _, diagnosis, one_pass = unbudgeted_round(tiny_model, tmp_path, big)  # a whole entry
    budget = diagnosis + int(0.9 * one_pass)
    cfg = tiny_config(
        tiny_model,
        max_rounds=2,
        teacher={"budget_tokens": budget, "max_concurrency": 4},
        adapter=big,
        organizer={"max_remedial": 1, "on_escalation": "move_on"},
    )
    path = write_config(tmp_path / "budget.yaml", cfg)
    assert main(["run", "--config", str(path), "--runs", str(tmp_path), "--name", "b"]) == 0
    run = find_run(tmp_path, "b")
    made = {e["payload"]["round"]: e["payload"] for e in run.store.events("data")}
    assert made[1]["kept"] > 0 and made[2]["kept"] > 0, made
    share = (budget - diagnosis) // 2
    assert made[1]["teacher_tokens"] - diagnosis <= share + one_pass // 6 + 2_000, made


def test_a_budgeted_run_renders_in_every_round(tiny_model: Path, tmp_path: Path) -> None:
    """The round's reserve covers rendering and self-replay, so no round is left to
    train on the teacher's text because an earlier one spent the tokens; a writing
    step cut short for budget leaves a `budget` event."""
    big = {"seeds_per_module": 24, "j": 10}
    run, diagnosis, one_round = unbudgeted_round(tiny_model, tmp_path, big)
    data = run.store.events("data")[0]["payload"]
    assert data["tokens"]["rendering"] > 0 and data["rendered"] > 0, data
    budget = diagnosis + int(1.5 * one_round)  # three rounds of half a round's tokens each
    cfg = tiny_config(
        tiny_model,
        max_rounds=3,
        teacher={"budget_tokens": budget, "max_concurrency": 4},
        adapter=big,
        organizer={"max_remedial": 2, "on_escalation": "move_on"},
    )
    path = write_config(tmp_path / "budget.yaml", cfg)
    assert main(["run", "--config", str(path), "--runs", str(tmp_path), "--name", "b"]) == 0
    run = find_run(tmp_path, "b")
    made = {e["payload"]["round"]: e["payload"] for e in run.store.events("data")}
    assert sorted(made) == [1, 2, 3]
    for rnd, d in made.items():
        assert d["kept"] > 0 and d["rendered"] > 0 and d["renderings"], (rnd, d)
    skipped = [e["payload"] for e in run.store.events("budget")]
    steps = {e["step"] for e in skipped}
    assert "writing" in steps and "rendering" not in steps, skipped
    assert run.teacher.spent_tokens() <= budget + one_round // 10


def test_self_replay_asks_what_the_round_share_pays_for(tiny_model: Path, tmp_path: Path) -> None:
    """The teacher writes self-replay's questions too: with a budget a round asks only
    as many as the rest of its share pays for, at the tokens per item its `write_items`
    calls have cost (one call of 96 questions once took a run 15% past its budget)."""
    from ioa_agent.adapter.budget import replay_questions, share_end
    from ioa_agent.nodes.diagnose import ensure_probes

    cfg = parse_config(tiny_config(tiny_model, max_rounds=4, teacher={"budget_tokens": 10**6}))
    run = create_run(cfg, tmp_path)
    assert run.store.tokens_per_written_item() is None
    ensure_probes(run)  # the built-in teacher writes the probes: two per skill, a call each
    per = run.store.tokens_per_written_item()
    spent = run.teacher.spent_tokens()
    sql = "select sum(tokens_in + tokens_out) from teacher_calls where task = 'write_items'"
    written = run.store.db.execute(sql).fetchone()[0]
    assert per == pytest.approx(written / len(run.store.items("probe")))
    assert share_end(run, 1) == spent + (10**6 - spent) // 4
    assert share_end(run, 4) == 10**6
    want = cfg.adapter.self_replay_questions
    assert replay_questions(run, 1, None) == want
    assert replay_questions(run, 1, spent + 10**6) == want
    assert not run.store.events("budget")
    assert replay_questions(run, 1, spent + int(10.5 * per)) == 10
    assert replay_questions(run, 2, spent - 5) == 0
    cut = {e["key"]: e["payload"] for e in run.store.events("budget")}
    assert cut["budget:1:self_replay"]["detail"] == f"asks 10 of {want} questions"
    assert cut["budget:2:self_replay"]["detail"] == f"asks 0 of {want} questions"


def test_plan_chunks_take_the_entries_in_turn() -> None:
    """A batch of each entry in turn: a cut after any batch leaves every entry with
    its batches up to the same point (or one fewer)."""
    got = list(plan_chunks(["a", "b", "c"], [24, 20, 6], 8, None))
    assert got == [
        (0, "a", 0), (0, "b", 0), (0, "c", 0),
        (0, "a", 8), (0, "b", 8),
        (0, "a", 16), (0, "b", 16),
    ]  # fmt: skip
    # entries of one batch each come in plan_passes' order, pass after pass
    one = list(plan_chunks(["x", "y"], [6, 6], 8, 1000))
    assert [(r, e) for r, e, _ in one] == list(plan_passes(["x", "y"], 1000))
    assert {f for _, _, f in one} == {0}
    with pytest.raises(ValueError, match="one size per entry"):
        list(plan_chunks(["a"], [1, 2], 8, None))


def test_a_cut_short_round_writes_every_skill_of_its_stage(
    tiny_model: Path, tmp_path: Path
) -> None:
    """A stage of three skills whose round's share pays for about a third of its seeds:
    the teacher's batches take the skills in turn, so each skill gets items (written
    skill after skill, the first took the whole share and the other two none)."""
    from ioa_agent.adapter.writing import synthesize
    from ioa_agent.nodes.diagnose import ensure_probes

    stage = ["arithmetic/addition@2", "arithmetic/multiplication@1", "arithmetic/subtraction@1"]
    state = {
        "diagnosis": {"gaps": {}},
        "curriculum": {"cycle": 1, "stages": [{"skills": stage, "bridge": False}], "stage": 0},
        "level_ratios": {},
        "remedial": 0,
    }
    big = {"seeds_per_module": 24, "j": 3, "renderings": []}  # no rendering to reserve for

    def written(name: str, budget: int | None) -> tuple[dict[str, int], int, int]:
        teacher = {"budget_tokens": budget, "max_concurrency": 4}
        cfg = tiny_config(tiny_model, max_rounds=1, adapter=big, teacher=teacher)
        run = create_run(parse_config(cfg), tmp_path, name)
        ensure_probes(run)
        start = run.teacher.spent_tokens()
        counts: dict[str, int] = {}
        for item, _ in synthesize(run, state, 1):  # type: ignore[arg-type]
            key = f"{item.module}@{item.level}"
            counts[key] = counts.get(key, 0) + 1
        return counts, start, run.teacher.spent_tokens() - start

    whole, probes, cost = written("whole", None)
    assert sorted(whole) == stage and all(n == 24 * 3 for n in whole.values()), whole
    cut, start, spent = written("cut", probes + cost // 3)
    assert start == probes
    assert sorted(cut) == stage, cut  # every skill of the stage was written
    assert max(cut.values()) <= 2 * min(cut.values()), cut
    assert sum(cut.values()) < sum(whole.values()) / 2, cut
    assert spent <= cost // 3 + cost // 10, (spent, cost)
