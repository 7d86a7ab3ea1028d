"""A person's changes to a curriculum step: feedback directives and edited plans.

A review can reject a step with feedback or replace it with an edited plan. Both are
checked here, as pure functions, before anything of the run is touched: a plan's
stages list skills (`module@level`, organizer.skills) of known modules at valid levels,
and every prerequisite skill the plan contains sits in an earlier stage.

Feedback understood by the built-in organizer is one directive per line or `;`:
    skip MODULE            drop a module's skills from the remaining stages
    only MODULE[,MODULE]   keep only these modules' skills in the current stage
    easier | harder        move the current stage's skills one level down | up
    split                  one skill per stage for the current stage
No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ioa_agent.organizer.skills import module_of, parse_skill, skill_id

DIRECTIVES = ("skip MODULE", "only MODULE[,MODULE]", "easier", "harder", "split")


class PlanError(ValueError):
    """A plan or feedback that cannot be applied; the message says what to fix."""


def parse_feedback(text: str, modules: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Directives from feedback text, checked against the known modules."""
    out: list[tuple[str, list[str]]] = []
    for raw in text.replace(";", "\n").splitlines():
        words = raw.strip().split(maxsplit=1)
        if not words:
            continue
        verb, rest = words[0].lower(), (words[1] if len(words) > 1 else "")
        args = [a.strip() for a in rest.replace(",", " ").split() if a.strip()]
        if verb in ("easier", "harder", "split") and not args:
            out.append((verb, []))
        elif verb in ("skip", "only") and args:
            unknown = [a for a in args if a not in modules]
            if unknown:
                raise PlanError(
                    f"unknown module {unknown[0]!r} in feedback: known are {', '.join(modules)}"
                )
            out.append((verb, args))
        else:
            raise PlanError(f"feedback {raw.strip()!r} not understood: use {'; '.join(DIRECTIVES)}")
    if not out:
        raise PlanError(f"empty feedback: use {'; '.join(DIRECTIVES)}")
    return out


def apply_feedback(
    stages: list[dict[str, Any]],
    current: int,
    max_levels: Mapping[str, int],
    directives: list[tuple[str, list[str]]],
) -> list[dict[str, Any]]:
    """The stages from `current` on, changed by the directives.

    Stages before `current` are dropped (they are done); stages left empty vanish.
    """
    rest = [
        {"skills": list(s["skills"]), "bridge": bool(s.get("bridge"))} for s in stages[current:]
    ]
    for verb, args in directives:
        if not rest:
            break
        head = rest[0]["skills"]
        if verb == "skip":
            for stage in rest:
                stage["skills"] = [s for s in stage["skills"] if module_of(s) not in args]
        elif verb == "only":
            rest[0]["skills"] = [s for s in head if module_of(s) in args]
        elif verb in ("easier", "harder"):
            step = -1 if verb == "easier" else 1
            moved = {
                skill_id(m, min(max(lv + step, 1), max_levels.get(m, 1)))
                for m, lv in map(parse_skill, head)
            }
            rest[0]["skills"] = sorted(moved)
        elif verb == "split":
            bridge = rest[0]["bridge"]
            rest = [{"skills": [s], "bridge": bridge} for s in head] + rest[1:]
        rest = [s for s in rest if s["skills"]]
    return rest


def validate_plan(
    plan: Any,
    max_levels: Mapping[str, int],
    edges: Sequence[Sequence[Any]],
    mastered: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """An edited plan `{"stages": [{"skills": ["module@level", ...], "bridge": bool}]}`.

    Returns the stages. Every skill must name a known module at a level within its
    range, no skill may appear twice, and each unmastered prerequisite skill (`edges`
    between skills) that the plan contains must sit in an earlier stage.
    """
    if not isinstance(plan, dict) or not isinstance(plan.get("stages"), list):
        raise PlanError("the plan must be a mapping with a `stages` list")
    stages: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, stage in enumerate(plan["stages"]):
        skills = stage.get("skills") if isinstance(stage, dict) else stage
        if not isinstance(skills, list) or not skills:
            raise PlanError(f"stage {i + 1} must list at least one skill (module@level)")
        for s in skills:
            try:
                m, lv = parse_skill(str(s))
            except ValueError as exc:
                raise PlanError(f"stage {i + 1}: {exc}") from exc
            if m not in max_levels:
                raise PlanError(f"stage {i + 1}: unknown module {m!r}")
            if not 1 <= lv <= max_levels[m]:
                raise PlanError(f"stage {i + 1}: {m} has levels 1..{max_levels[m]}, not {lv}")
            if s in seen:
                raise PlanError(f"skill {s!r} appears twice (stages {seen[s] + 1} and {i + 1})")
            seen[s] = i
        bridge = bool(stage.get("bridge", False)) if isinstance(stage, dict) else False
        stages.append({"skills": sorted(skills), "bridge": bridge})
    for pre, post, *_ in edges:
        if pre in seen and post in seen and pre not in mastered and seen[pre] >= seen[post]:
            raise PlanError(
                f"{post!r} is in stage {seen[post] + 1} but its prerequisite {pre!r} is not "
                "in an earlier stage"
            )
    return stages
