"""Knowledge Identifier maths on hand-computed cases."""

from __future__ import annotations

import json

import pytest

from ioa_agent.identifier import (
    Diagnosis,
    deficient,
    diagnose,
    edges_from_list,
    edges_to_list,
    enforce_dag,
    estimate_dependencies,
    gap,
    ratio,
    select_targets,
    severity,
)


def test_gap_and_ratio():
    # (0.8 - 0.2) / 0.8 = 0.75
    assert gap(0.8, 0.2) == pytest.approx(0.75)
    # a student above the teacher: (0.5 - 0.6) / 0.5 = -0.2, not clamped
    assert gap(0.5, 0.6) == pytest.approx(-0.2)
    # P_T = 0: nothing to distil
    assert gap(0.0, 0.5) == 0.0
    assert gap(0.0, 0.0) == 0.0
    # 0.45 / 0.9 = 0.5
    assert ratio(0.45, 0.9) == pytest.approx(0.5)
    assert ratio(0.3, 0.0) == 0.0


def test_deficient_is_strictly_above_tau_and_sorted():
    gaps = {"m/c": 0.9, "m/a": 0.31, "m/b": 0.3, "m/d": -0.1}
    assert deficient(gaps) == ["m/a", "m/c"]
    assert deficient(gaps, tau_gap=0.5) == ["m/c"]
    assert deficient({}) == []


P_T = {"a": 1.0, "b": 1.0, "c": 1.0}
HISTORY = [
    {"a": 0.95, "b": 0.8, "c": 1.0},
    {"a": 0.5, "b": 0.2, "c": 1.0},
    {"a": 0.92, "b": 0.6, "c": 1.0},
    {"a": 0.8, "b": 0.9, "c": 1.0},
]


def test_dependency_estimate_eq3():
    # Dep(a→b): r_a >= 0.9 at checkpoints 1, 3 -> mean P_S(b) = (0.8 + 0.6) / 2 = 0.7;
    #           r_a < 0.7 at checkpoint 2 -> mean P_S(b) = 0.2 (checkpoint 4, 0.8, in neither)
    #           Dep = (0.7 - 0.2) / (0.7 + 1e-6) = 0.714285...  > 0.3, kept
    # Dep(b→a): r_b >= 0.9 at checkpoint 4 -> 0.8; r_b < 0.7 at 2, 3 -> (0.5 + 0.92) / 2 = 0.71
    #           Dep = (0.8 - 0.71) / 0.8 = 0.1125 <= 0.3, dropped although the prior declares it
    # Dep(a→c) = (1.0 - 1.0) / 1.0 = 0, Dep(b→c) = 0: dropped
    # Dep(c→·): r_c = 1.0 everywhere, the low group is empty -> undefined -> prior decides:
    #           (c, a) declared -> 1.0; (c, b) not declared -> no edge
    edges = estimate_dependencies(["a", "b", "c"], [("b", "a"), ("c", "a")], HISTORY, P_T)
    assert set(edges) == {("a", "b"), ("c", "a")}
    assert edges[("a", "b")] == pytest.approx(0.5 / (0.7 + 1e-6))
    assert edges[("c", "a")] == 1.0


def test_dependency_threshold_is_a_parameter():
    # with tau_dep = 0.1, Dep(b→a) = 0.1125 is kept too
    edges = estimate_dependencies(["a", "b"], [], HISTORY, P_T, tau_dep=0.1)
    assert edges[("b", "a")] == pytest.approx(0.09 / (0.8 + 1e-6))
    assert set(edges) == {("a", "b"), ("b", "a")}


def test_dependency_undefined_without_prior_gives_no_edge():
    # c never drops below tau_low, so nothing about c→a or c→b can be estimated
    edges = estimate_dependencies(["a", "b", "c"], [], HISTORY, P_T)
    assert set(edges) == {("a", "b")}


def test_fewer_than_min_checkpoints_returns_the_prior():
    prior = [("a", "b"), ("b", "c"), ("x", "a"), ("c", "c")]  # unknown x and a self-loop ignored
    assert estimate_dependencies(["a", "b", "c"], prior, HISTORY[:1], P_T) == {
        ("a", "b"): 1.0,
        ("b", "c"): 1.0,
    }
    assert estimate_dependencies(["a", "b"], [], [], P_T) == {}
    # min_checkpoints is a parameter: 5 > 4 checkpoints -> prior only
    assert estimate_dependencies(["a", "b"], [("b", "a")], HISTORY, P_T, min_checkpoints=5) == {
        ("b", "a"): 1.0
    }


def test_teacher_zero_makes_conditioning_undefined():
    # P_T(a) = 0 -> r_a = 0 at every checkpoint -> the high group is empty -> prior decides
    p_t = {"a": 0.0, "b": 1.0}
    history = [{"a": 0.0, "b": 0.1}, {"a": 0.0, "b": 0.9}]
    assert estimate_dependencies(["a", "b"], [("a", "b")], history, p_t) == {("a", "b"): 1.0}


def test_enforce_dag_breaks_a_cycle_at_its_weakest_edge():
    # a→b→c→a with weights 0.9, 0.4, 0.5: b→c (0.4) goes
    edges = {("a", "b"): 0.9, ("b", "c"): 0.4, ("c", "a"): 0.5, ("c", "d"): 0.1}
    out = enforce_dag(edges)
    assert out == {("a", "b"): 0.9, ("c", "a"): 0.5, ("c", "d"): 0.1}
    assert len(edges) == 4  # the input is not modified


def test_enforce_dag_ties_remove_the_largest_edge():
    # a→b and b→a both 0.5: ("b", "a") > ("a", "b") lexicographically, so b→a goes
    assert enforce_dag({("a", "b"): 0.5, ("b", "a"): 0.5}) == {("a", "b"): 0.5}
    # a self-loop is a cycle of one edge
    assert enforce_dag({("a", "a"): 1.0, ("a", "b"): 0.2}) == {("a", "b"): 0.2}


def test_enforce_dag_two_cycles():
    # a⇄b (0.7 / 0.3) and b→c→d→b (0.6, 0.2, 0.8): b→a and c→d go
    edges = {
        ("a", "b"): 0.7,
        ("b", "a"): 0.3,
        ("b", "c"): 0.6,
        ("c", "d"): 0.2,
        ("d", "b"): 0.8,
    }
    assert enforce_dag(edges) == {("a", "b"): 0.7, ("b", "c"): 0.6, ("d", "b"): 0.8}


EDGES = {("a", "b"): 0.8, ("c", "b"): 0.4, ("b", "d"): 0.6}
GAPS = {"a": 0.5, "b": 0.6, "c": 0.2, "d": 0.9, "e": 0.4}


def test_severity():
    sev = severity(["a", "b", "c", "d", "e"], GAPS, EDGES, alpha=0.7)
    # a: N = {b}, Dep(a→b) = 0.8          -> 0.7*0.5 + 0.3*0.8 = 0.35 + 0.24 = 0.59
    # b: N = {a, c, d}, Dep(b→d) = 0.6, the others 0 -> mean 0.2 -> 0.42 + 0.06 = 0.48
    # c: N = {b}, Dep(c→b) = 0.4          -> 0.14 + 0.12 = 0.26
    # d: N = {b}, Dep(d→b) = 0 (only b→d) -> 0.63 + 0 = 0.63
    # e: no neighbours                    -> 0.7*0.4 = 0.28
    assert sev == pytest.approx({"a": 0.59, "b": 0.48, "c": 0.26, "d": 0.63, "e": 0.28})
    # alpha = 1 is the gap alone
    assert severity(["a", "d"], GAPS, EDGES, alpha=1.0) == pytest.approx({"a": 0.5, "d": 0.9})


def test_select_targets_top_fraction_plus_unmastered_ancestors():
    sev = {"a": 0.59, "b": 0.48, "c": 0.26, "d": 0.63, "e": 0.28}
    ratios = {"a": 0.5, "b": 0.95, "c": 0.3, "d": 0.1, "e": 0.6}
    # 5 deficient -> ceil(0.25*5) = 2 -> d (0.63), a (0.59)
    # ancestors of d: b (ratio 0.95, mastered, skipped), a, c (via b; 0.3 unmastered)
    assert select_targets(["a", "b", "c", "d", "e"], sev, EDGES, ratios) == ["a", "c", "d"]
    # with tau_mastery = 0.96, b counts as unmastered too
    got = select_targets(["a", "b", "c", "d", "e"], sev, EDGES, ratios, tau_mastery=0.96)
    assert got == ["a", "b", "c", "d"]
    # fraction = 1.0 takes every deficient module
    assert select_targets(["e", "c"], sev, EDGES, ratios, fraction=1.0) == ["c", "e"]


def test_select_targets_at_least_one_ties_by_id_and_empty():
    # ceil(0.25*2) = 1, equal severity -> the smaller id
    assert select_targets(["y", "x"], {"x": 0.5, "y": 0.5}, {}, {}) == ["x"]
    # fraction 0 still takes one
    assert select_targets(["x", "y"], {"x": 0.1, "y": 0.5}, {}, {}, fraction=0.0) == ["y"]
    assert select_targets([], {"x": 0.5}, {("x", "y"): 1.0}, {}) == []


def test_edges_list_round_trip():
    rows = edges_to_list({("b", "c"): 0.5, ("a", "b"): 1.0})
    assert rows == [["a", "b", 1.0], ["b", "c", 0.5]]
    assert edges_from_list(rows) == {("a", "b"): 1.0, ("b", "c"): 0.5}


def test_diagnose_end_to_end_with_prior_cycle():
    # no history -> the prior a→b, b→a (both 1.0) -> tie -> b→a removed
    # gaps: a (1 - 0.5)/1 = 0.5, b (0.8 - 0.2)/0.8 = 0.75, c (0.5 - 0.5)/0.5 = 0
    # ratios: a 0.5, b 0.25, c 1.0; deficient: a, b
    # severity: a: N = {b}, Dep(a→b) = 1 -> 0.35 + 0.3 = 0.65
    #           b: N = {a}, Dep(b→a) = 0 -> 0.7*0.75 = 0.525
    #           c: no neighbours -> 0
    # targets: ceil(0.25*2) = 1 -> a; a has no ancestors
    diag = diagnose(
        ["b", "a", "c"],
        [("a", "b"), ("b", "a")],
        {"a": 1.0, "b": 0.8, "c": 0.5},
        {"a": 0.5, "b": 0.2, "c": 0.5},
        [],
    )
    assert isinstance(diag, Diagnosis)
    assert diag.gaps == pytest.approx({"a": 0.5, "b": 0.75, "c": 0.0})
    assert diag.ratios == pytest.approx({"a": 0.5, "b": 0.25, "c": 1.0})
    assert diag.deficient == ["a", "b"]
    assert diag.edges == [["a", "b", 1.0]]
    assert diag.severity == pytest.approx({"a": 0.65, "b": 0.525, "c": 0.0})
    assert diag.targets == ["a"]
    # thresholds are parameters: fraction 1 -> both; the edge a→b makes a an ancestor of b
    wide = diagnose(
        ["a", "b"], [("a", "b")], {"a": 1.0, "b": 0.8}, {"a": 0.5, "b": 0.2}, [], fraction=1.0
    )
    assert wide.targets == ["a", "b"]
    plain = diag.as_dict()
    assert json.loads(json.dumps(plain)) == plain


def test_diagnose_teacher_zero_is_never_deficient():
    diag = diagnose(["a"], [], {"a": 0.0}, {"a": 0.0}, [])
    assert diag.gaps == {"a": 0.0}
    assert diag.deficient == []
    assert diag.targets == []


def test_ratios_per_module() -> None:
    from ioa_agent.identifier import ratios

    # 0.45/0.9 = 0.5; P_T = 0 gives 0; a module missing from P_S scores 0
    assert ratios({"a": 0.45, "b": 0.3}, {"a": 0.9, "b": 0.0, "c": 1.0}, ["a", "b", "c"]) == {
        "a": 0.5,
        "b": 0.0,
        "c": 0.0,
    }
