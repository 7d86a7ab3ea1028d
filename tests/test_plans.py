"""Review edits: feedback directives and edited plans are checked before use."""

import pytest

from ioa_agent.pedagogy.plans import PlanError, apply_feedback, parse_feedback, validate_plan

MODS = ["a/add", "a/sub", "a/mul"]
MAX = {"a/add": 4, "a/sub": 4, "a/mul": 4}
EDGES = [["a/add", "a/sub", 1.0], ["a/add", "a/mul", 1.0]]
STAGES = [
    {"modules": ["a/add"], "bridge": False},
    {"modules": ["a/mul", "a/sub"], "bridge": False},
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
    rest, levels = apply_feedback(STAGES, 1, {"a/mul": 2, "a/sub": 1}, MAX, [("split", [])])
    assert rest == [
        {"modules": ["a/mul"], "bridge": False},
        {"modules": ["a/sub"], "bridge": False},
    ]
    rest, levels = apply_feedback(STAGES, 0, {"a/add": 1}, MAX, [("skip", ["a/add"])])
    assert rest == [STAGES[1]]
    _, levels = apply_feedback(STAGES, 1, {"a/mul": 1, "a/sub": 3}, MAX, [("easier", [])])
    assert levels == {"a/mul": 1, "a/sub": 2}  # floor at level 1
    _, levels = apply_feedback(STAGES, 1, {"a/mul": 4, "a/sub": 3}, MAX, [("harder", [])])
    assert levels == {"a/mul": 4, "a/sub": 4}  # ceiling at the module's levels


def test_validate_plan_ok() -> None:
    plan = {"stages": [{"modules": ["a/add"]}, {"modules": ["a/sub"]}], "levels": {"a/sub": 2}}
    stages, levels = validate_plan(plan, MAX, EDGES)
    assert stages == [
        {"modules": ["a/add"], "bridge": False},
        {"modules": ["a/sub"], "bridge": False},
    ]
    assert levels == {"a/sub": 2}


@pytest.mark.parametrize(
    ("plan", "needle"),
    [
        ({"stages": [{"modules": ["a/sub", "a/add"]}]}, "prerequisite"),
        ({"stages": [{"modules": ["a/div"]}]}, "unknown module"),
        ({"stages": [{"modules": []}]}, "at least one"),
        ({"stages": [["a/add"], ["a/add"]]}, "twice"),
        ({"stages": [["a/add"]], "levels": {"a/add": 9}}, "1..4"),
        ([1, 2], "mapping"),
    ],
)
def test_validate_plan_rejects(plan: object, needle: str) -> None:
    with pytest.raises(PlanError, match=needle):
        validate_plan(plan, MAX, EDGES)


def test_mastered_prerequisite_may_share_a_stage() -> None:
    plan = {"stages": [["a/add", "a/sub"]]}
    stages, _ = validate_plan(plan, MAX, EDGES, mastered=["a/add"])
    assert stages[0]["modules"] == ["a/add", "a/sub"]
