"""Skills (a module at one level) on hand-computed cases: ids, the skill graph, the
curriculum's skills, the per-skill gate and forgetting."""

from __future__ import annotations

import pytest

from ioa_agent.domains.arithmetic import MODULES, SKILL_EDGES, declared_skill_edges
from ioa_agent.organizer.curriculum import apply_zpd, topological_stages
from ioa_agent.organizer.skills import (
    curriculum_skills,
    forgotten,
    mastered_modules,
    parse_skill,
    skill_edges,
    skill_gate,
    skill_id,
    skill_ratios,
    stage_modules,
)

LEVELS = {"m/add": 3, "m/sub": 3, "m/mul": 2}


def test_ids_round_trip_and_bad_ids_say_the_form() -> None:
    assert skill_id("m/add", 2) == "m/add@2"
    assert parse_skill("m/add@2") == ("m/add", 2)
    for bad in ("m/add", "m/add@", "@2", "m/add@x"):
        with pytest.raises(ValueError, match="category/name@level"):
            parse_skill(bad)
    assert stage_modules({"skills": ["m/sub@1", "m/add@2", "m/add@3"]}) == ["m/add", "m/sub"]


def test_levels_chain_and_module_edges_map_level_by_level() -> None:
    edges = skill_edges(LEVELS, [("m/add", "m/sub"), ("m/add", "m/mul")])
    assert ("m/add@1", "m/add@2") in edges and ("m/add@2", "m/add@3") in edges
    assert ("m/add@2", "m/sub@2") in edges and ("m/add@2", "m/mul@2") in edges
    assert ("m/add@3", "m/mul@3") not in edges  # m/mul has no level 3
    # a declared graph replaces the level-by-level mapping
    declared = skill_edges(LEVELS, [("m/add", "m/sub")], declared=[("m/add@3", "m/sub@1")])
    assert ("m/add@3", "m/sub@1") in declared and ("m/add@1", "m/sub@1") not in declared


def test_the_arithmetic_domain_declares_its_skill_graph() -> None:
    # 2-digit multiplication needs addition with carries
    assert ("arithmetic/addition@2", "arithmetic/multiplication@2") in SKILL_EDGES
    assert declared_skill_edges([m.id for m in MODULES]) == list(SKILL_EDGES)
    assert declared_skill_edges(["other/module"]) is None
    levels = {m.id: m.levels for m in MODULES}
    edges = skill_edges(levels, [], declared_skill_edges(list(levels)))
    # every module and level is a node of one DAG: the layering succeeds
    layers = topological_stages(sorted({s for e in edges for s in e}), edges)
    assert layers[0] == ["arithmetic/addition@1"]


def test_curriculum_skills_are_the_unmastered_levels_and_what_they_need() -> None:
    edges = skill_edges(LEVELS, [("m/add", "m/sub")])
    ratios = {"m/add@1": 0.95, "m/add@2": 0.5, "m/sub@1": 0.2, "m/sub@2": 0.95}
    # m/sub@2 passes already; m/sub@3 needs m/add@3 and m/add@2, unmastered
    got = curriculum_skills(["m/sub"], LEVELS, ratios, edges)
    assert got == ["m/add@2", "m/add@3", "m/sub@1", "m/sub@3"]
    stages = topological_stages(got, edges, {s for s, r in ratios.items() if r >= 0.9})
    assert stages == [["m/add@2", "m/sub@1"], ["m/add@3"], ["m/sub@3"]]
    zpd = apply_zpd(stages, {"m/add@2": 0.5, "m/sub@1": 0.2})
    assert [s["skills"] for s in zpd][0] == ["m/add@2", "m/sub@1"]


def test_a_module_is_mastered_when_all_its_levels_are() -> None:
    ratios = {"m/mul@1": 0.95, "m/mul@2": 0.9, "m/add@1": 1.0, "m/add@2": 1.0}
    assert mastered_modules(LEVELS, ratios) == ["m/mul"]  # m/add@3 has no score


def test_the_gate_passes_a_skill_on_enough_of_its_own_probes() -> None:
    probes = {"a@1": [f"p{i}" for i in range(16)], "b@1": [f"q{i}" for i in range(8)]}
    teacher = dict.fromkeys([*probes["a@1"], *probes["b@1"]], 1)
    student = {i: int(n < 15) for n, i in enumerate(probes["a@1"])}  # 15/16 = 0.94
    student |= dict.fromkeys(probes["b@1"], 1)  # 8/8, but too few probes
    rows = {r["skill"]: r for r in skill_gate(["b@1", "a@1"], probes, student, teacher)}
    assert rows["a@1"]["passed"] and rows["a@1"]["correct"] == 15 and rows["a@1"]["n"] == 16
    assert rows["a@1"]["probes"] == sorted(probes["a@1"])
    assert not rows["b@1"]["passed"] and "only 8 probes" in rows["b@1"]["why"]
    student[probes["a@1"][0]] = 0  # 14/16 = 0.875 < 0.9
    assert not skill_gate(["a@1"], probes, student, teacher)[0]["passed"]
    # the ratio is against the teacher: a probe the teacher fails does not count against
    teacher[probes["a@1"][0]] = 0
    row = skill_gate(["a@1"], probes, student, teacher)[0]
    assert row["ratio"] == pytest.approx(14 / 15) and row["passed"]


def test_a_passed_skill_that_falls_is_forgotten() -> None:
    scores = skill_ratios({"m/add": {"1": 0.95, "2": 0.6}, "m/sub": {"1": 0.3}})
    assert scores == {"m/add@1": 0.95, "m/add@2": 0.6, "m/sub@1": 0.3}
    assert forgotten(["m/add@1", "m/add@2", "m/mul@1"], scores) == ["m/add@2"]
