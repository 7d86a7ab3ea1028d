"""Adapter rules: strategy choice, similarity and the item filter."""

from __future__ import annotations

import random

import pytest

from ioa_agent.adapter.filters import (
    choose_strategies,
    drop_stated,
    filter_items,
    ngrams,
    normalized_question,
    similarity,
    tokens,
)
from ioa_agent.items import Item


@pytest.mark.parametrize(
    ("gap", "variant", "expected"),
    [
        (0.3, "standard", ["step_format"]),
        (0.59, "bridging", ["step_format"]),
        (0.6, "standard", ["decomposition", "step_format"]),
        (0.85, "standard", ["concretization", "decomposition", "step_format"]),
        (0.1, "remedial", ["cognitive_load", "step_format", "simplification"]),
        (
            0.9,
            "remedial",
            ["concretization", "decomposition", "cognitive_load", "step_format", "simplification"],
        ),
    ],
)
def test_choose_strategies(gap, variant, expected):
    assert choose_strategies(gap, variant) == expected


def test_choose_strategies_rejects_unknown_variant():
    with pytest.raises(ValueError):
        choose_strategies(0.5, "harder")


def test_tokens_split_punctuation_and_keep_numbers():
    assert tokens("What is 3.5+4, Bob?") == ("what", "is", "3.5", "+", "4", ",", "bob", "?")
    assert tokens("x2 = 1,000") == ("x", "2", "=", "1,000")


def test_similarity_hand_computed():
    # tokens: what is 3 + 4 ?  -> trigrams (what is 3) (is 3 +) (3 + 4) (+ 4 ?)
    # vs      what is 3 + 5 ?  -> shares (what is 3) (is 3 +): 2 / (4 + 4 - 2) = 1/3
    assert similarity("What is 3 + 4?", "What is 3 + 5?") == pytest.approx(1 / 3)
    # case and spacing around punctuation do not matter
    assert similarity("Hello, world!", "hello ,world !") == 1.0
    # shorter than n: the whole token tuple is the one gram
    assert ngrams("hi there") == frozenset({("hi", "there")})
    assert similarity("Hi there", "hi there") == 1.0
    assert similarity("hi", "hello") == 0.0
    # n = 1 is plain word-set Jaccard: {a, b, c} vs {b, c, d} -> 2 / 4
    assert similarity("a b c", "b c d", n=1) == pytest.approx(0.5)
    assert similarity("", "") == 1.0
    assert similarity("", "x") == 0.0


def _item(prompt: str, answer: str = "7") -> Item:
    return Item(module="arith/add", level=1, prompt=prompt, answer=answer)


def _match(teacher: str | None, gold: str) -> bool:
    return teacher is not None and teacher.strip() == gold.strip()


def test_filter_items_each_reason():
    probes = ["A farmer has 12 cows and buys 30 more. How many cows now?", "Compute 9 * 9."]
    c1 = _item("Tom has 3 apples and gets 4 more. How many apples?")
    c2 = _item("Ann has 5 pears and gets 2 more. How many pears?")
    c3 = _item("tom has 3 apples and gets 4 more . how many apples ?")  # dup of c1
    c4 = _item("A farmer has 12 cows and buys 30 more. How many cows now?", "42")  # a probe
    c5 = _item("Sue has 6 figs and gets 1 more. How many figs?")
    c6 = _item("Ann has 5 pears and gets 2 more. How many pears?")  # dup of c2 (rejected)
    candidates = [(c1, "7"), (c2, "8"), (c3, "7"), (c4, "42"), (c5, None), (c6, "7")]
    kept, rejected = filter_items(candidates, probes, _match)
    # c6 duplicates c2 only, and c2 was never kept, so c6 stays
    assert kept == [c1, c6]
    assert rejected == [
        (c2, "unverified"),
        (c3, "duplicate"),
        (c4, "probe_leak"),
        (c5, "unverified"),
    ]


def test_filter_items_thresholds_at_the_boundary():
    # probe: 7 tokens -> 5 trigrams; candidate: its first 6 tokens -> 4 of those trigrams
    # similarity 4 / 5 = 0.8 -> leaks at leak_threshold 0.8, not at 0.81
    probe = "a b c d e f g"
    item = _item("a b c d e f")
    assert similarity(item.prompt, probe) == pytest.approx(0.8)
    assert filter_items([(item, "7")], [probe], _match)[1] == [(item, "probe_leak")]
    assert filter_items([(item, "7")], [probe], _match, leak_threshold=0.81)[0] == [item]
    # the same 0.8 is not a duplicate at dup_threshold 0.9, but is at 0.8
    first, second = _item("a b c d e f g"), _item("a b c d e f")
    pair = [(first, "7"), (second, "7")]
    assert filter_items(pair, [], _match)[0] == [first, second]
    assert filter_items(pair, [], _match, dup_threshold=0.8)[1] == [(second, "duplicate")]


def test_filter_items_equal_normalised_text_always_leaks():
    item = _item("Compute 9*9.")
    # a threshold above 1 disables the similarity check; equal text still leaks
    _, rejected = filter_items([(item, "7")], ["compute 9 * 9 ."], _match, leak_threshold=1.1)
    assert rejected == [(item, "probe_leak")]


def _brute_force(candidates, probes, dup_t, leak_t):
    kept, rejected = [], []
    for item, answer in candidates:
        if not _match(answer, item.answer):
            rejected.append((item, "unverified"))
        elif any(similarity(item.prompt, k.prompt) >= dup_t for k in kept):
            rejected.append((item, "duplicate"))
        elif any(
            normalized_question(item.prompt) == normalized_question(p)
            or similarity(item.prompt, p) >= leak_t
            for p in probes
        ):
            rejected.append((item, "probe_leak"))
        else:
            kept.append(item)
    return kept, rejected


@pytest.mark.parametrize("thresholds", [(0.9, 0.8), (0.5, 0.3), (0.34, 0.67), (0.2, 0.25)])
def test_filter_items_agrees_with_brute_force(thresholds):
    rng = random.Random(0)
    words = ["a", "b", "c", "1", "+"]

    def text() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))

    probes = [text() for _ in range(40)]
    candidates = [(_item(text()), rng.choice(["7", "7", "8"])) for _ in range(150)]
    dup_t, leak_t = thresholds
    got = filter_items(candidates, probes, _match, dup_threshold=dup_t, leak_threshold=leak_t)
    assert got == _brute_force(candidates, probes, dup_t, leak_t)
    assert {"unverified", "duplicate", "probe_leak"} <= {reason for _, reason in got[1]}


def test_filter_items_agrees_with_brute_force_on_templated_problems():
    """Long prompts that share a template (its speed: benchmarks, not a test)."""
    rng = random.Random(1)
    preamble = "Read the problem carefully and give the final answer as a number."

    def problem() -> str:
        a, b, c = rng.randint(1, 9), rng.randint(1, 9), rng.randint(1, 9)
        name = rng.choice(["Ann", "Bob", "Cy", "Di", "Ed"])
        return f"{preamble} {name} has {a} coins, finds {b} and spends {c}. How many are left?"

    probes = [problem() for _ in range(60)]
    candidates = [(_item(problem()), "7") for _ in range(300)]
    got = filter_items(candidates, probes, _match)
    assert got == _brute_force(candidates, probes, 0.9, 0.8)
    kept, rejected = got
    assert kept and {"duplicate", "probe_leak"} <= {reason for _, reason in rejected}


def test_the_arithmetic_content_key_catches_a_probe_in_other_words():
    from ioa_agent.domains.scorers import Scorer

    key = Scorer("arithmetic").content_key
    probe, same, other = "What is 11 + 7?", "Compute 11 + 7.", "Compute 11 + 8."
    assert similarity(same, probe) < 0.8  # the n-gram filter alone lets it through
    item, twin = _item(same), _item(other)
    kept, rejected = filter_items([(item, "7"), (twin, "7")], [probe], _match, key=key)
    assert rejected == [(item, "probe_leak")] and kept == [twin]
    # seed data: the question with numbers and spaces written one way
    assert Scorer("math").content_key("Add 1,000 and 2.50 ?") == "add 1000 and 2.5"


def test_arithmetic_training_items_never_take_a_probes_operands():
    from ioa_agent.domains import arithmetic, arithmetic_holdout

    for module in arithmetic.MODULE_IDS:
        probes = arithmetic.write_items(module, 1, 16, seed=0, probes=True)
        keys = {arithmetic.content_key(p.prompt) for p in probes}
        assert all(arithmetic_holdout.held_out(k) for k in keys)
        train = arithmetic.write_items(module, 1, 60, seed=1)
        train += arithmetic.synthesize(train[0], 1, 60, seed=2)
        train += [arithmetic.rewrite(t, ["cognitive_load"], "standard") for t in train[:30]]
        train_keys = {arithmetic.content_key(t.prompt) for t in train if t.answer}
        assert not keys & train_keys, module


def test_a_worked_step_that_is_a_probe_states_it():
    from ioa_agent.domains import arithmetic
    from ioa_agent.domains.scorers import Scorer

    stated = arithmetic.stated_keys
    assert stated("3 × 4 = 12; 20 - 12 = 8.") == {"mul:a=3,b=4", "sub:a=20,b=12"}
    assert stated("8 + 7 + 1 = 16") == {"add:a=7,b=8", "add:a=1,b=7"}
    assert stated("Ben pays 4 * 3 = 12") == stated("What is 3 × 4?") == {"mul:a=3,b=4"}
    assert stated("1/2 + 3/4 = 5/4; $2.50 × 3; a 3-digit number") == set()
    assert stated("Find the remainder of 4 ÷ 3.") == {"div:a=4,b=3", "rem:a=4,b=3"}
    probe_keys = {Scorer("arithmetic").content_key("What is 4 × 3?")}
    money = _item("Ivy buys 3 kites at $4 each and pays $20. How much change?")
    money = money.model_copy(update={"rationale": "3 × 4 = 12; 20 - 12 = 8.", "answer": "8"})
    direct = money.model_copy(update={"rationale": "20 - 3 × 5 = 5.", "answer": "5"})
    kept, dropped = drop_stated([money, direct], probe_keys, Scorer("arithmetic").stated_keys)
    assert kept == [direct] and dropped == 1
    # other domains match probes by their question only
    assert drop_stated([money], probe_keys, Scorer("math").stated_keys) == ([money], 0)
