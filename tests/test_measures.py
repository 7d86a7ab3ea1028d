"""Pure measurements: the rendering rule, paired change with McNemar, format leak."""

from __future__ import annotations

import math

import pytest

from ioa_agent.adapter.renderings import ifd, pick, summarize
from ioa_agent.pedagogy.measures import format_leak, mcnemar_p, paired_change, skeleton


def score(s_aq: float, s_a: float) -> dict:
    return {"s_aq": s_aq, "s_a": s_a, "ifd": ifd(s_aq, s_a), "n": 8}


def test_pick_lowest_answer_loss_among_ifd_below_one() -> None:
    scores = {
        "teacher": score(2.41, 2.94),  # IFD 0.82
        "direct": score(0.86, 2.05),  # IFD 0.42, lowest s(A|Q)
        "breakdown": score(1.20, 1.50),
    }
    assert pick(scores) == "direct"
    # the lowest s(A|Q) is dropped when the question does not help (IFD >= 1)
    scores["reason"] = score(0.50, 0.40)
    assert pick(scores) == "direct"
    # every rendering with IFD >= 1: the lowest s(A|Q) of all
    only_bad = {"a": score(0.9, 0.8), "b": score(0.7, 0.6)}
    assert pick(only_bad) == "b"
    # ties go to the candidate order
    tie = {"x": score(1.0, 2.0), "y": score(1.0, 2.0)}
    assert pick(tie, order=["y", "x"]) == "y"
    with pytest.raises(ValueError):
        pick({})


def test_candidate_rule_ranks_by_the_answers_own_tokens() -> None:
    scores = {
        "direct": {**score(0.10, 1.5), "s_ans": 1.9},  # format known, answer not
        "breakdown": {**score(0.40, 1.2), "s_ans": 0.6},
        "teacher": score(0.30, 1.0),  # no answer score: left out by the candidate rule
    }
    assert pick(scores) == "direct"
    assert pick(scores, key="s_ans") == "breakdown"
    scores["breakdown"]["ifd"] = 1.2  # the IFD filter still applies
    assert pick(scores, key="s_ans") == "direct"
    with pytest.raises(ValueError, match="no rendering with s_ans"):
        pick({"teacher": score(0.3, 1.0)}, key="s_ans")
    got = summarize([(1.0, 2.0), (3.0, 2.0)], [(0.5, 0.5), None])
    assert got["s_ans"] == 0.5 and got["learnability"] == 0.25


def test_summarize_means_and_ifd() -> None:
    got = summarize([(1.0, 2.0), (3.0, 2.0)])
    assert got == {"s_aq": 2.0, "s_a": 2.0, "ifd": 1.0, "n": 2}
    assert math.isinf(ifd(1.0, 0.0))


def test_mcnemar_exact_by_hand() -> None:
    # 8 discordant pairs, all one way: p = 2 * (1/2)^8
    assert mcnemar_p(8, 0) == pytest.approx(2 / 256)
    # 10 gained, 2 lost: p = 2 * (C(12,0)+C(12,1)+C(12,2)) / 2^12 = 2 * 79 / 4096
    assert mcnemar_p(10, 2) == pytest.approx(158 / 4096)
    assert mcnemar_p(3, 3) == 1.0
    assert mcnemar_p(0, 0) == 1.0


def test_paired_change_interval_by_hand() -> None:
    # 20 probes: 4 right before and after, 10 gained, 2 lost, 4 wrong both times
    before = [1] * 4 + [0] * 10 + [1] * 2 + [0] * 4
    after = [1] * 4 + [1] * 10 + [0] * 2 + [0] * 4
    c = paired_change(before, after)
    assert (c["gained"], c["lost"], c["n"]) == (10, 2, 20)
    assert c["before"] == pytest.approx(0.3)
    assert c["after"] == pytest.approx(0.7)
    assert c["diff"] == pytest.approx(0.4)
    # Agresti-Min: g=10.5, l=2.5, m=22; d=8/22; se=sqrt(13 - 64/22)/22
    d, se = 8 / 22, math.sqrt(13 - 64 / 22) / 22
    assert c["lo"] == pytest.approx(d - 1.959963984540054 * se)
    assert c["hi"] == pytest.approx(d + 1.959963984540054 * se)
    assert c["lo"] > 0  # a change of 0.4 on 20 paired probes is detectable
    assert c["p"] == pytest.approx(158 / 4096)
    # no change at all: the interval straddles 0
    same = paired_change([1, 0, 1, 0], [1, 0, 1, 0])
    assert same["diff"] == 0 and same["lo"] < 0 < same["hi"] and same["p"] == 1.0
    with pytest.raises(ValueError):
        paired_change([1], [1, 0])


def test_format_leak_on_hand_written_outputs() -> None:
    taught = [
        "Step 1: Add columns from the right. Step 2: 4+9=13, carry 1. Step 3: 2+5+1=8. "
        "So 83.\nThe answer is 83.",
        "Step 1: Add columns from the right. Step 2: 7+4=11.\nThe answer is 11.",
    ]
    outputs = [
        # division written in the taught column template: leak
        "Step 1: Add columns from the right. Step 2: 8+6=14. Step 3: 1+2=3. So 34.\n"
        "The answer is 34.",
        # the student's own equation: no leak
        "81 - 6 = 75",
        # a different sentence altogether: no leak
        "To find the remainder, divide 14 by 3 to get 4 with 2 left over.",
        "",
    ]
    assert format_leak(outputs, taught) == pytest.approx(1 / 4)
    assert format_leak([], taught) == 0.0
    assert skeleton("Step 2: 4+9=13") == ("step", "0", ":", "0", "+", "0", "=", "0")


def test_seed_bootstrap_widens_with_run_to_run_variance() -> None:
    from ioa_agent.pedagogy.measures import paired_change, seed_bootstrap

    same = [([0] * 32, [1] * 16 + [0] * 16)] * 3  # +0.5 in every run
    spread = [([0] * 32, [1] * 32), ([0] * 32, [1] * 16 + [0] * 16), ([0] * 32, [0] * 32)]
    tight, wide = seed_bootstrap(same), seed_bootstrap(spread)
    assert tight["diff"] == wide["diff"] == 0.5 and tight["seeds"] == 3 and tight["n"] == 96
    # pooling 96 pairs as if one run hides the spread between runs
    pooled = paired_change([0] * 96, [1] * 48 + [0] * 48)
    assert wide["hi"] - wide["lo"] > 2 * (tight["hi"] - tight["lo"])
    assert wide["hi"] - wide["lo"] > pooled["hi"] - pooled["lo"]
    assert wide["lo"] < 0.2 and wide["hi"] > 0.8
    assert seed_bootstrap([([1, 0], [1, 0])])["lo"] == 0.0


def test_a_corrected_seed_interval_is_wider() -> None:
    from ioa_agent.pedagogy.measures import seed_bootstrap

    runs = [([0] * 20 + [1] * 10, [1] * 18 + [0] * 12), ([0] * 30, [1] * 6 + [0] * 24)]
    plain, corrected = seed_bootstrap(runs), seed_bootstrap(runs, level=1 - 0.05 / 4)
    assert corrected["diff"] == plain["diff"]
    assert corrected["lo"] < plain["lo"] and corrected["hi"] > plain["hi"]
