"""Organizer maths on hand-computed cases."""

from __future__ import annotations

import random

import pytest

from ioa_agent.organizer.curriculum import (
    apply_zpd,
    decide_after_assess,
    pick_replay,
    plan_round,
    replay_count,
    round_steps,
    topological_stages,
    weak,
    wilson,
    within_reach,
)

EDGES = {("a", "b"): 1.0, ("b", "c"): 0.5, ("x", "d"): 0.9, ("a", "d"): 0.4}


def test_topological_stages_layers():
    # a has no target prerequisite; b and d wait for a (x is no target, so it does not
    # block d); c waits for b
    assert topological_stages(["d", "c", "b", "a"], EDGES, set()) == [["a"], ["b", "d"], ["c"]]
    # edges may also be a plain list of pairs
    assert topological_stages(["a", "b"], [("a", "b")]) == [["a"], ["b"]]


def test_topological_stages_mastered_prerequisite_does_not_block():
    # a is a target but already mastered, so b and d need not wait for it
    assert topological_stages(["a", "b", "c", "d"], EDGES, {"a"}) == [["a", "b", "d"], ["c"]]
    assert topological_stages([], EDGES) == []


def test_topological_stages_cycle_raises():
    with pytest.raises(ValueError, match="cycle"):
        topological_stages(["a", "b"], [("a", "b"), ("b", "a")])


def test_zpd_split_and_bridge():
    p_s = {"a": 0.8, "b": 0.7, "c": 0.4, "d": 0.6}
    # [a] mean 0.8 -> the next stage needs >= 0.85*0.8 = 0.68
    # [b, c, d] mean (0.7+0.4+0.6)/3 = 0.567 < 0.68 -> split by P_S: [b, d] | [c]
    # [b, d] mean 0.65 < 0.68 -> split: [b] | [d]
    # [b] 0.7 >= 0.68 ok; [d] 0.6 >= 0.85*0.7 = 0.595 ok
    # [c] 0.4 < 0.85*0.6 = 0.51 and cannot split -> bridge
    assert apply_zpd([["a"], ["b", "c", "d"]], p_s) == [
        {"skills": ["a"], "bridge": False},
        {"skills": ["b"], "bridge": False},
        {"skills": ["d"], "bridge": False},
        {"skills": ["c"], "bridge": True},
    ]


def test_zpd_within_reach_is_unchanged():
    # [a] 0.5 -> needs >= 0.425; [b, c] mean (0.5 + 0.4)/2 = 0.45 ok; [d] 0.4 >= 0.3825 ok
    p_s = {"a": 0.5, "b": 0.5, "c": 0.4, "d": 0.4}
    assert apply_zpd([["a"], ["c", "b"], ["d"]], p_s) == [
        {"skills": ["a"], "bridge": False},
        {"skills": ["b", "c"], "bridge": False},
        {"skills": ["d"], "bridge": False},
    ]
    # a larger tau_zpd tolerates a larger drop: 0.2 >= (1 - 0.7)*0.5 = 0.15
    assert apply_zpd([["a"], ["z"]], {"a": 0.5, "z": 0.2}, tau_zpd=0.7)[1]["bridge"] is False
    assert apply_zpd([["a"], ["z"]], {"a": 0.5, "z": 0.2})[1]["bridge"] is True


def test_zpd_current_mean_zero_passes_anything():
    assert apply_zpd([["a"], ["b", "c"]], {"a": 0.0, "b": 0.0, "c": 0.0}) == [
        {"skills": ["a"], "bridge": False},
        {"skills": ["b", "c"], "bridge": False},
    ]
    assert apply_zpd([], {}) == []


def test_zpd_odd_split_puts_the_extra_module_in_the_easier_half():
    # [a] 1.0 -> needs >= 0.85; [p, q, r] mean 0.5 fails
    # ranked by P_S: p 0.9, q 0.9, r 0.0 (p before q by id) -> [p, q] | [r]
    # [p, q] 0.9 >= 0.85 ok; [r] 0 < 0.765 -> bridge
    got = apply_zpd([["a"], ["r", "q", "p"]], {"a": 1.0, "p": 0.9, "q": 0.9, "r": 0.0})
    assert got == [
        {"skills": ["a"], "bridge": False},
        {"skills": ["p", "q"], "bridge": False},
        {"skills": ["r"], "bridge": True},
    ]


def test_zpd_counts_only_a_drop_the_probes_establish() -> None:
    """On 8 probes a skill, 2/8 against 1/8 is one probe: with the counts the layer
    stays whole (measured: without them the untrained student's scores split every
    layer into one-skill stages). A drop from 16/16 to 0/16 is real and still bridges."""
    layer = [["a"], ["b", "c", "d"]]
    p_s = {"a": 0.25, "b": 0.25, "c": 0.125, "d": 0.0}
    assert len(apply_zpd(layer, p_s)) == 4  # the exact means: split to single skills
    eight = {k: 8 for k in "abcd"}
    assert apply_zpd(layer, p_s, probes=eight) == [
        {"skills": ["a"], "bridge": False},
        {"skills": ["b", "c", "d"], "bridge": False},
    ]
    sixteen = {"a": 16, "z": 16}
    assert apply_zpd([["a"], ["z"]], {"a": 1.0, "z": 0.0}, probes=sixteen)[1]["bridge"] is True
    # an established drop within tau_zpd's allowance still passes
    assert within_reach(["a"], ["z"], {"a": 1.0, "z": 0.9}, 0.15, {"a": 64, "z": 64})
    assert not within_reach(["a"], ["z"], {"a": 1.0, "z": 0.5}, 0.15, {"a": 64, "z": 64})


def test_wilson_interval() -> None:
    lo, hi = wilson(0.5, 100)
    assert lo == pytest.approx(0.404, abs=1e-3) and hi == pytest.approx(0.596, abs=1e-3)
    assert wilson(0.0, 8)[0] == 0.0 and wilson(0.0, 8)[1] == pytest.approx(0.324, abs=1e-3)
    assert wilson(0.3, 0) == (0.0, 1.0)


def test_weak_skills():
    ratios = {"a@1": 0.95, "b@1": 0.9, "c@1": 0.89}
    assert weak(["c@1", "b@1", "a@1", "zz@1"], ratios) == ["c@1", "zz@1"]  # missing: 0
    assert weak(["a@1", "b@1"], ratios) == []


BASE = dict(
    mastered=True,
    more_stages=True,
    remedial_used=0,
    max_remedial=5,
    gaps_remain=True,
    budget_left=True,
    cycles_left=True,
)


@pytest.mark.parametrize(
    ("changes", "route"),
    [
        ({"budget_left": False}, "end"),
        ({"budget_left": False, "mastered": False}, "end"),
        ({}, "organize"),
        ({"more_stages": False}, "diagnose"),
        ({"more_stages": False, "gaps_remain": False}, "end"),
        ({"more_stages": False, "cycles_left": False}, "end"),
        ({"mastered": False, "remedial_used": 4}, "adapt"),
        ({"mastered": False, "remedial_used": 5}, "review"),
        ({"mastered": False, "remedial_used": 0, "max_remedial": 0}, "review"),
    ],
)
def test_decide_after_assess(changes, route):
    assert decide_after_assess(**{**BASE, **changes}) == route


def test_replay_count():
    # 0.25 / 0.75 * 30 = 10 -> replay is 10 / 40 = 25% of the set
    assert replay_count(30, 0.25) == 10
    # 0.2 / 0.8 * 10 = 2.5 -> rounds half up to 3
    assert replay_count(10, 0.2) == 3
    # 0.5 / 0.5 * 7 = 7
    assert replay_count(7, 0.5) == 7
    # 0.1 / 0.9 * 100 = 11.1 -> 11
    assert replay_count(100, 0.1) == 11
    assert replay_count(50, 0.0) == 0
    assert replay_count(0, 0.3) == 0
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            replay_count(10, bad)
    with pytest.raises(ValueError):
        replay_count(-1, 0.2)


def test_round_steps_adds_replay_on_top():
    # 240 new + 160 replayed (0.4 of the set): 20 * 400 / 240 = 33.3 -> 33
    assert round_steps(20, 240, 160) == 33
    # 30 new + 10 replayed: 50 * 40 / 30 = 66.7 -> 67; 3 new + 1: 2 * 4 / 3 = 2.67 -> 3
    assert round_steps(50, 30, 10) == 67
    assert round_steps(2, 3, 1) == 3
    # the new items always keep all their steps
    assert all(round_steps(20, n, r) >= 20 for n in range(1, 40) for r in range(40))
    # nothing to replay, or only replay (the budget ran out): the config's steps
    assert round_steps(20, 240, 0) == 20
    assert round_steps(20, 0, 300) == 20
    for bad in ((0, 10, 1), (5, -1, 1), (5, 1, -1)):
        with pytest.raises(ValueError):
            round_steps(*bad)


def test_pick_replay_is_deterministic():
    pool = [f"id{i:02d}" for i in range(20)]
    first = pick_replay(pool, 5, seed=7)
    assert len(first) == 5 and len(set(first)) == 5 and set(first) <= set(pool)
    assert first == sorted(first)
    # same seed, shuffled or duplicated input -> same draw
    shuffled = pool[::-1] + pool[:3]
    assert pick_replay(shuffled, 5, seed=7) == first
    # the draw is random.Random(seed).sample over the sorted pool
    assert first == sorted(random.Random(7).sample(sorted(pool), 5))
    # k larger than the pool takes all; k <= 0 takes none
    assert pick_replay(["b", "a"], 10, seed=1) == ["a", "b"]
    assert pick_replay(pool, 0, seed=1) == []
    assert pick_replay([], 3, seed=1) == []


def test_plan_round_first_round_with_bridge() -> None:
    plan = plan_round(["b/y@1", "a/x@2"], {}, remedial=False, bridge_from=["p/z@3"])
    assert plan == [("a/x", 2, "standard"), ("b/y", 1, "standard"), ("p/z", 3, "bridging")]


def test_plan_round_remedial_teaches_only_the_weak_skills() -> None:
    ratios = {"a/x@1": 0.2, "b/y@3": 0.5, "c/z@2": 0.95}  # c/z@2 passed: not retaught
    plan = plan_round(["a/x@1", "b/y@3", "c/z@2"], ratios, remedial=True)
    # level 1 gets the simpler remedial variant; above it the level below was a
    # prerequisite taught first, so the round stays at the skill's level
    assert plan == [("a/x", 1, "remedial"), ("b/y", 3, "standard")]
    # nothing weak: every skill gets the round
    assert plan_round(["c/z@2"], ratios, remedial=True) == [("c/z", 2, "standard")]


def test_cap_stages_cuts_a_layer_easier_skills_first() -> None:
    from ioa_agent.organizer.curriculum import cap_stages

    scores = {"a@1": 0.1, "b@1": 0.5, "c@1": 0.5, "d@2": 0.0}
    layers = [["a@1", "b@1", "c@1"], ["d@2"]]
    assert cap_stages(layers, scores, 1) == [["b@1"], ["c@1"], ["a@1"], ["d@2"]]
    assert cap_stages(layers, scores, 2) == [["b@1", "c@1"], ["a@1"], ["d@2"]]
    assert cap_stages(layers, scores, None) == layers


def test_skip_mastered_passes_over_stages_already_at_the_gate() -> None:
    from ioa_agent.organizer.curriculum import skip_mastered

    stages = [["a@1"], ["a@2", "b@1"], ["b@2"], ["c@1"]]
    ratios = {"a@1": 1.0, "a@2": 0.9, "b@1": 0.95, "b@2": 1.0, "c@1": 0.5}
    assert skip_mastered(stages, 1, ratios, 0.9) == (3, ["a@2", "b@1", "b@2"])
    # one skill below the gate keeps its stage; a missing ratio counts as 0
    assert skip_mastered(stages, 1, {**ratios, "b@1": 0.875}, 0.9) == (1, [])
    assert skip_mastered(stages, 3, {"c@1": 0.9}, 0.9) == (4, ["c@1"])
    assert skip_mastered(stages, 3, {}, 0.9) == (3, [])
    assert skip_mastered(stages, 4, ratios, 0.9) == (4, [])
