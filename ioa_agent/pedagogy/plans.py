"""A person's changes to a curriculum step: feedback directives and edited plans.

A review can reject a step with feedback or replace it with an edited plan. Both are
checked here, as pure functions, before anything of the run is touched: a plan must
name known modules at valid levels and keep every prerequisite in an earlier stage.

Feedback understood by the built-in organizer is one directive per line or `;`:
    skip MODULE            drop a module from the remaining stages
    only MODULE[,MODULE]   keep only these modules in the current stage
    easier | harder        move the current stage one level down | up
    split                  one module per stage for the current stage
No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
    levels: Mapping[str, int],
    max_levels: Mapping[str, int],
    directives: list[tuple[str, list[str]]],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The stages from `current` on and the levels, changed by the directives.

    Stages before `current` are dropped (they are done); stages left empty vanish.
    """
    rest = [{"modules": list(s["modules"]), "bridge": bool(s["bridge"])} for s in stages[current:]]
    new_levels = dict(levels)
    for verb, args in directives:
        if not rest:
            break
        head = rest[0]["modules"]
        if verb == "skip":
            for stage in rest:
                stage["modules"] = [m for m in stage["modules"] if m not in args]
        elif verb == "only":
            rest[0]["modules"] = [m for m in head if m in args]
        elif verb in ("easier", "harder"):
            step = -1 if verb == "easier" else 1
            for m in head:
                lvl = new_levels.get(m, 1) + step
                new_levels[m] = min(max(lvl, 1), max_levels.get(m, 1))
        elif verb == "split":
            bridge = rest[0]["bridge"]
            rest = [{"modules": [m], "bridge": bridge} for m in head] + rest[1:]
        rest = [s for s in rest if s["modules"]]
    return rest, new_levels


def validate_plan(
    plan: Any,
    max_levels: Mapping[str, int],
    edges: Sequence[Sequence[Any]],
    mastered: Sequence[str] = (),
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """An edited plan `{"stages": [{"modules": [...], "bridge": bool}], "levels": {...}}`.

    Returns (stages, levels). Every module must be known, every level within its
    module's range, no module twice, and each module's unmastered prerequisites that
    the plan contains must sit in an earlier stage.
    """
    if not isinstance(plan, dict) or not isinstance(plan.get("stages"), list):
        raise PlanError("the plan must be a mapping with a `stages` list")
    stages: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, stage in enumerate(plan["stages"]):
        mods = stage.get("modules") if isinstance(stage, dict) else stage
        if not isinstance(mods, list) or not mods:
            raise PlanError(f"stage {i + 1} must list at least one module")
        for m in mods:
            if m not in max_levels:
                raise PlanError(f"stage {i + 1}: unknown module {m!r}")
            if m in seen:
                raise PlanError(f"module {m!r} appears twice (stages {seen[m] + 1} and {i + 1})")
            seen[m] = i
        bridge = bool(stage.get("bridge", False)) if isinstance(stage, dict) else False
        stages.append({"modules": sorted(mods), "bridge": bridge})
    for pre, post, *_ in edges:
        if pre in seen and post in seen and pre not in mastered and seen[pre] >= seen[post]:
            raise PlanError(
                f"{post!r} is in stage {seen[post] + 1} but its prerequisite {pre!r} is not "
                "in an earlier stage"
            )
    levels_in = plan.get("levels", {}) or {}
    if not isinstance(levels_in, dict):
        raise PlanError("`levels` must map module ids to levels")
    levels: dict[str, int] = {}
    for m, lvl in levels_in.items():
        if m not in max_levels:
            raise PlanError(f"levels: unknown module {m!r}")
        if not isinstance(lvl, int) or not 1 <= lvl <= max_levels[m]:
            raise PlanError(f"levels: {m} must be an integer in 1..{max_levels[m]}, got {lvl!r}")
        levels[m] = lvl
    return stages, levels
