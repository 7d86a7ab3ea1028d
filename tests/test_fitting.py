"""Fitting material to the student: renderings, s(A|Q)/IFD on a real model, self-replay.

s(A|Q) is measured with a tiny real Llama before and after LoRA training on a set of
answers; self-replay runs against a real run store and the exact teacher, with the
student's answers given (the one seam faked: which answers the student writes).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import tiny_config

os.environ["HF_HUB_OFFLINE"] = "1"

from ioa_agent.answers import answers_match, extract_answer  # noqa: E402
from ioa_agent.config import parse_config  # noqa: E402
from ioa_agent.domains import arithmetic  # noqa: E402
from ioa_agent.items import RENDERINGS, SELF  # noqa: E402
from ioa_agent.run import create_run  # noqa: E402

TRAINED = [(a, b) for a in range(2, 10) for b in range(1, 5)]


def test_every_rendering_reaches_the_answer() -> None:
    """Each short rendering of every module and level ends in the item's own answer."""
    for module in arithmetic.MODULE_IDS:
        for level in range(1, arithmetic.LEVELS + 1):
            for item in arithmetic.write_items(module, level, 25, seed=level):
                rendered = arithmetic.render_item(item)
                assert set(rendered) == set(RENDERINGS)
                for name, text in rendered.items():
                    assert answers_match(extract_answer(text), item.answer), (name, item, text)
    direct = arithmetic.render_item(arithmetic.write_items(arithmetic.MODULE_IDS[0], 2, 1, 0)[0])
    assert direct["direct"].count("=") == 1 and " + " in direct["direct"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from ioa_agent.student.models import make_tiny_model
    from ioa_agent.student.train import TrainJob
    from ioa_agent.student.train_runner import run_training

    root = tmp_path_factory.mktemp("score")
    rows = [
        {"prompt": f"What is {a} + {b}?", "completion": f"{a} + {b} = {a + b}"} for a, b in TRAINED
    ]
    texts = [f"{r['prompt']}\n{r['completion']}" for r in rows] * 4
    model = make_tiny_model(root / "tiny", texts, seed=0)
    data = root / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    job = TrainJob(
        base_model=str(model),
        data_path=str(data),
        output_dir=str(root / "adapter"),
        learning_rate=5e-3,
        lr_scheduler="constant",
        warmup_ratio=0.0,
        lora_dropout=0.0,
        max_steps=12,
        batch_size=8,
        max_length=64,
    )
    run_training(job, log_path=root / "train.log")
    return {"model": model, "adapter": Path(job.output_dir), "rows": rows}


def test_trained_text_scores_lower_than_untrained_text(trained: dict[str, Any]) -> None:
    from ioa_agent.adapter.renderings import summarize
    from ioa_agent.adapter.score import answer_losses

    seen = [(r["prompt"], r["completion"]) for r in trained["rows"][:16]]
    unseen = [(q, f"The sum of these is {i}, I think.") for i, (q, _) in enumerate(seen)]
    after_seen = summarize(answer_losses(trained["model"], seen, trained["adapter"]))
    after_unseen = summarize(answer_losses(trained["model"], unseen, trained["adapter"]))
    before_seen = summarize(answer_losses(trained["model"], seen))
    # the answers it was trained on: lower loss than text it was not, and lower than before
    assert after_seen["s_aq"] < after_unseen["s_aq"] - 0.5
    assert after_seen["s_aq"] < before_seen["s_aq"] - 0.5
    # the question helps predict the trained answer (its numbers are in the question)
    assert after_seen["ifd"] < 1.0
    assert after_seen["n"] == 16
    # order and batching do not change a score
    again = answer_losses(trained["model"], seen[::-1], trained["adapter"], batch_size=3)
    first = answer_losses(trained["model"], seen, trained["adapter"])
    flat = [x for pair in first for x in pair]
    assert [x for pair in again[::-1] for x in pair] == pytest.approx(flat, abs=1e-4)


def test_answer_tokens_score_the_answer_not_the_format(trained: dict[str, Any]) -> None:
    """s(ans|Q) is the mean loss over exactly the tokens where the completion states the
    answer, p their joint probability; the format's tokens do not count."""
    from ioa_agent.adapter.score import _answer_ids, answer_scores, answer_span, token_losses
    from ioa_agent.student.generate import load_model

    text = "3 + 4 = 7; carry 0; so 17.\nThe answer is 17."
    assert answer_span(text, "17") == (text.index("so 17") + 3, text.index("so 17") + 5)
    assert answer_span("2 + 5 = 7", "7") == (8, 9)
    assert answer_span("17 - 10 = 7", "7") == (10, 11)  # not the 7 inside 17
    assert answer_span("The answer is 12.", "12") == (14, 16)  # only in the closing line
    assert answer_span("no number here", "7") is None

    model_dir, adapter = trained["model"], trained["adapter"]
    pairs = [(r["prompt"], r["completion"] + ".\nThe answer is ") for r in trained["rows"][:6]]
    golds = [r["completion"].rsplit("= ", 1)[1] for r in trained["rows"][:6]]
    pairs = [(q, c + g + ".") for (q, c), g in zip(pairs, golds, strict=True)]
    got = answer_scores(model_dir, pairs, adapter, golds=golds)

    model, tokenizer = load_model(model_dir, adapter)
    for (q, c), g, (s_aq, _, answer) in zip(pairs, golds, got, strict=True):
        prefix, ids = _answer_ids(tokenizer, q, c)
        nll = token_losses(model, tokenizer, [(prefix, ids)])[0]
        start, end = answer_span(c, g)
        # the tokens of the answer in the working, decoded back
        text_ids = tokenizer(c, add_special_tokens=False, return_offsets_mapping=True)
        at = [i for i, (a, b) in enumerate(text_ids["offset_mapping"]) if a < end and b > start]
        assert tokenizer.decode([ids[i] for i in at]).strip() == g
        assert answer is not None
        assert answer[0] == pytest.approx(sum(nll[i] for i in at) / len(at), abs=1e-5)
        assert answer[1] == pytest.approx(math.exp(-sum(nll[i] for i in at)), rel=1e-4)
        assert s_aq == pytest.approx(sum(nll) / len(nll), abs=1e-5)
        assert len(at) < len(nll)  # the format's tokens are left out
    plain = answer_scores(model_dir, pairs, adapter)
    assert [x for _, _, x in plain] == [None] * len(pairs)


def test_self_replay_keeps_verified_answers_outside_the_stage(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ioa_agent.probe_scores as assessment
    from ioa_agent.adapter.self_replay import own_answers
    from ioa_agent.nodes.diagnose import ensure_probes

    config = parse_config(tiny_config(tiny_model, adapter={"self_replay": 0.5}))
    run = create_run(config, tmp_path)
    ensure_probes(run)
    probes = {p.prompt for p in run.store.items("probe")}
    asked: list[tuple[int, list[str]]] = []

    def answers(run: Any, rnd: int, prompts: list[str], progress: Any) -> list[str]:
        asked.append((rnd, prompts))
        # right on every other question (the solver's answer), wrong on the rest
        return [
            f"{arithmetic.solve(p).answer}" if i % 2 == 0 else "I do not know, maybe 0.5."
            for i, p in enumerate(prompts)
        ]

    monkeypatch.setattr(assessment, "student_outputs", answers)
    stage = ["arithmetic/addition"]
    outside = [m.id for m in run.store.modules() if m.id not in stage]
    own, leaked = own_answers(run, 2, outside, n_new=20, end=None)
    assert asked and asked[0][0] == 1  # the round's starting student
    assert len(own) == 20  # share 0.5 of new + self rows
    assert all(it.rendering == SELF for it in own)
    assert all(it.module in outside for it in own)
    assert not any(it.prompt in probes for it in own)
    assert all(answers_match(extract_answer(it.rationale), it.answer) for it in own)
    assert all(it.completion() == it.rationale for it in own)
    # with nothing outside the stage, or no share, nothing is asked
    assert own_answers(run, 2, [], n_new=20, end=None) == ([], 0)


def test_self_replay_drops_an_answer_that_works_out_a_probe(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ioa_agent.probe_scores as assessment
    from ioa_agent.adapter.self_replay import own_answers
    from ioa_agent.nodes.diagnose import ensure_probes

    over = {"adapter": {"self_replay": 0.5}, "assess": {"max_new_tokens": 64}}
    run = create_run(parse_config(tiny_config(tiny_model, **over)), tmp_path)
    ensure_probes(run)
    probe = next(p for p in run.store.items("probe") if p.module == "arithmetic/multiplication")
    a, b = (int(n) for n in arithmetic.parse(probe.prompt)[1].values())
    step = f"{b} * {a} = {a * b}"  # the probe's fact, its operands the other way round

    def answers(run: Any, rnd: int, prompts: list[str], progress: Any) -> list[str]:
        right = [arithmetic.solve(p).answer for p in prompts]
        return [f"{step}; so {r}." if i % 2 == 0 else f"So {r}." for i, r in enumerate(right)]

    monkeypatch.setattr(assessment, "student_outputs", answers)
    outside = [m.id for m in run.store.modules() if m.id != "arithmetic/addition"]
    own, dropped = own_answers(run, 2, outside, n_new=1000, end=None)
    asked = run.config.adapter.self_replay_questions
    assert own and all(step not in it.rationale for it in own)
    assert len(own) == asked // 2 and dropped >= asked - asked // 2


def test_self_replay_asks_where_the_student_was_right(tiny_model: Path, tmp_path: Path) -> None:
    from ioa_agent.adapter.self_replay import questions
    from ioa_agent.nodes.diagnose import ensure_probes

    run = create_run(parse_config(tiny_config(tiny_model)), tmp_path)
    probes = ensure_probes(run)
    right = ("arithmetic/multiplication", 1)
    run.store.save_assessment(
        1,
        [
            {
                "item_id": p.id,
                "module": p.module,
                "level": p.level,
                "output": "",
                "extracted": "",
                "correct": int((p.module, p.level) == right),
            }
            for p in probes
        ],
    )
    outside = [m.id for m in run.store.modules() if m.id != "arithmetic/addition"]
    asked, _ = questions(run, outside, 12, rnd=2)
    assert len(asked) == 12
    assert {(q.module, q.level) for q in asked} == {right}
    assert not {q.prompt for q in asked} & {p.prompt for p in probes}


def test_a_candidate_longer_than_the_assessment_cap_is_named_once(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ioa_agent.adapter.fitting import MARGIN, check_answer_room

    run = create_run(parse_config(tiny_config(tiny_model, assess={"max_new_tokens": 40})), tmp_path)
    item = arithmetic.write_items("arithmetic/addition", 1, 1, seed=0)[0]
    short = item.model_copy(update={"rationale": f"{item.answer}.", "rendering": "direct"})
    long_ = item.model_copy(update={"rationale": "step by step " * 20 + item.answer})
    samples = {("arithmetic/addition", 1, "direct"): [short]}
    assert check_answer_room(run, 1, samples) <= 40 - MARGIN
    assert run.store.events("answer_room") == []  # fits: nothing said
    samples[("arithmetic/addition", 1, "teacher")] = [long_]
    longest = check_answer_room(run, 1, samples)
    assert longest > 40
    (event,) = run.store.events("answer_room")
    assert event["payload"] == {"round": 1, "longest": longest, "cap": 40, "rendering": "teacher"}
    out = capsys.readouterr().out
    assert "`teacher` rendering of arithmetic/addition@1" in out and str(longest + MARGIN) in out
    check_answer_room(run, 2, samples)  # once a run
    assert len(run.store.events("answer_room")) == 1 and "rendering" not in capsys.readouterr().out
