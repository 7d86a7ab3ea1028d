"""Review edits: feedback directives and edited plans of skills are checked before use."""

import pytest

from ioa_agent.organizer.plan_edits import PlanError, apply_feedback, parse_feedback, validate_plan
from ioa_agent.organizer.skills import skill_edges

MODS = ["a/add", "a/sub", "a/mul"]
MAX = {"a/add": 4, "a/sub": 4, "a/mul": 4}
EDGES = skill_edges(MAX, [("a/add", "a/sub"), ("a/add", "a/mul")])
STAGES = [
    {"skills": ["a/add@1"], "bridge": False},
    {"skills": ["a/mul@2", "a/sub@1"], "bridge": False},
]


def test_parse_feedback() -> None:
    assert parse_feedback("skip a/sub; easier", MODS) == [("skip", ["a/sub"]), ("easier", [])]
    assert parse_feedback("only a/add,a/mul\nsplit", MODS) == [
        ("only", ["a/add", "a/mul"]),
        ("split", []),
    ]


@pytest.mark.parametrize("text", ["", "make it fun", "skip a/div", "easier please"])
def test_parse_feedback_rejects(text: str) -> None:
    with pytest.raises(PlanError):
        parse_feedback(text, MODS)


def test_apply_feedback_split_skip_levels() -> None:
    rest = apply_feedback(STAGES, 1, MAX, [("split", [])])
    assert rest == [
        {"skills": ["a/mul@2"], "bridge": False},
        {"skills": ["a/sub@1"], "bridge": False},
    ]
    assert apply_feedback(STAGES, 0, MAX, [("skip", ["a/add"])]) == [STAGES[1]]
    assert apply_feedback(STAGES, 1, MAX, [("only", ["a/sub"])])[0]["skills"] == ["a/sub@1"]
    easier = apply_feedback(STAGES, 1, MAX, [("easier", [])])
    assert easier[0]["skills"] == ["a/mul@1", "a/sub@1"]  # floor at level 1
    top = [{"skills": ["a/mul@4", "a/sub@3"], "bridge": False}]
    harder = apply_feedback(top, 0, MAX, [("harder", [])])
    assert harder[0]["skills"] == ["a/mul@4", "a/sub@4"]  # ceiling at the module's levels


def test_validate_plan_ok() -> None:
    plan = {"stages": [{"skills": ["a/add@1"]}, {"skills": ["a/sub@2", "a/add@2"]}]}
    # a/sub@2 needs a/sub@1 and a/add@2: a/sub@1 is outside the plan, so it cannot
    # block, and a/add@2 is not in an earlier stage
    with pytest.raises(PlanError, match="'a/sub@2' is in stage 2 but its prerequisite"):
        validate_plan(plan, MAX, EDGES)
    plan = {"stages": [{"skills": ["a/add@1"]}, {"skills": ["a/add@2"]}, ["a/sub@2"]]}
    assert validate_plan(plan, MAX, EDGES) == [
        {"skills": ["a/add@1"], "bridge": False},
        {"skills": ["a/add@2"], "bridge": False},
        {"skills": ["a/sub@2"], "bridge": False},
    ]


@pytest.mark.parametrize(
    ("plan", "needle"),
    [
        ({"stages": [{"skills": ["a/sub@1", "a/add@1"]}]}, "prerequisite"),
        ({"stages": [["a/add@1", "a/add@2"]]}, "prerequisite"),
        ({"stages": [{"skills": ["a/div@1"]}]}, "unknown module"),
        ({"stages": [{"skills": []}]}, "at least one"),
        ({"stages": [["a/add@1"], ["a/add@1"]]}, "twice"),
        ({"stages": [["a/add@9"]]}, "1..4"),
        ({"stages": [["a/add"]]}, "category/name@level"),
        ([1, 2], "mapping"),
    ],
)
def test_validate_plan_rejects(plan: object, needle: str) -> None:
    with pytest.raises(PlanError, match=needle):
        validate_plan(plan, MAX, EDGES)


def test_mastered_prerequisite_may_share_a_stage() -> None:
    plan = {"stages": [["a/add@1", "a/sub@1"]]}
    stages = validate_plan(plan, MAX, EDGES, mastered=["a/add@1"])
    assert stages[0]["skills"] == ["a/add@1", "a/sub@1"]
