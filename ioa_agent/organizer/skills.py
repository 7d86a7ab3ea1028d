"""Skills, the curriculum's unit: a module at one difficulty level.

A round teaches one level of a module, so the Organizer stages skills, the ZPD check
compares skills and the mastery gate passes a skill on its own held-out probes. A
module is mastered when all its levels are. Skill ids are JSON-plain strings
`category/name@level`.

The skill graph: level n of a module needs level n−1 of the same module; across
modules, a domain may declare skill edges of its own (the built-in arithmetic domain
does: 2-digit multiplication needs addition with carries). A domain that declares
none (a teacher-decomposed one) gets its module edges level by level: level n of j
needs level n of i when i is a prerequisite of j and both have level n.

Pure functions, no I/O: the nodes read scores and the store and call in here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

Edge = tuple[str, str]
SEP = "@"


def skill_id(module: str, level: int) -> str:
    """`module@level`."""
    return f"{module}{SEP}{int(level)}"


def parse_skill(skill: str) -> tuple[str, int]:
    """(module, level) of a skill id; ValueError naming the expected form otherwise."""
    module, sep, level = skill.rpartition(SEP)
    if not sep or not module or not level.isdigit():
        raise ValueError(f"skill {skill!r} is not of the form category/name@level")
    return module, int(level)


def module_of(skill: str) -> str:
    return parse_skill(skill)[0]


def stage_skills(stage: Mapping[str, Any]) -> list[str]:
    """The skill ids of a stage (`{"skills": [...], "bridge": bool}`)."""
    return list(stage["skills"])


def stage_modules(stage: Mapping[str, Any]) -> list[str]:
    """The modules a stage teaches, sorted, each once."""
    return sorted({module_of(s) for s in stage["skills"]})


def all_skills(max_levels: Mapping[str, int]) -> list[str]:
    """Every skill of the modules, by module then level."""
    return [skill_id(m, lv) for m in sorted(max_levels) for lv in range(1, max_levels[m] + 1)]


def skill_edges(
    max_levels: Mapping[str, int],
    module_edges: Iterable[Edge],
    declared: Iterable[Edge] | None = None,
) -> list[Edge]:
    """The prerequisite edges between skills, sorted (see the module docstring).

    Levels chain within each module. `declared` skill edges replace the level-by-level
    mapping of `module_edges`; edges naming an unknown skill are dropped.
    """
    known = set(all_skills(max_levels))
    out = {
        (skill_id(m, lv - 1), skill_id(m, lv))
        for m, top in max_levels.items()
        for lv in range(2, top + 1)
    }
    if declared is not None:
        out |= {(i, j) for i, j in declared if i in known and j in known and i != j}
    else:
        for i, j in module_edges:
            if i == j or i not in max_levels or j not in max_levels:
                continue
            for lv in range(1, min(max_levels[i], max_levels[j]) + 1):
                out.add((skill_id(i, lv), skill_id(j, lv)))
    return sorted(out)


def skill_ratios(level_ratios: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """P_S/P_T per skill from the per-module, per-level ratios of an assessment."""
    return {
        skill_id(m, int(lv)): r
        for m, by_level in level_ratios.items()
        for lv, r in by_level.items()
    }


def curriculum_skills(
    targets: Sequence[str],
    max_levels: Mapping[str, int],
    ratios: Mapping[str, float],
    edges: Iterable[Edge],
    tau_mastery: float = 0.9,
) -> list[str]:
    """The skills to teach for the target modules, sorted.

    Every unmastered skill (ratio < τ_mastery; a missing ratio counts as 0) of each
    target module, plus every unmastered skill these need, transitively, along
    `edges`.
    """
    needs: dict[str, set[str]] = {}
    for i, j in edges:
        needs.setdefault(j, set()).add(i)
    todo = [
        skill_id(m, lv)
        for m in targets
        for lv in range(1, max_levels.get(m, 0) + 1)
        if ratios.get(skill_id(m, lv), 0.0) < tau_mastery
    ]
    chosen: set[str] = set()
    while todo:
        s = todo.pop()
        if s in chosen:
            continue
        chosen.add(s)
        todo += [p for p in needs.get(s, ()) if ratios.get(p, 0.0) < tau_mastery]
    return sorted(chosen)


def mastered_modules(
    max_levels: Mapping[str, int], ratios: Mapping[str, float], tau_mastery: float = 0.9
) -> list[str]:
    """Modules all of whose levels are at ratio ≥ τ_mastery, sorted."""
    return sorted(
        m
        for m, top in max_levels.items()
        if all(ratios.get(skill_id(m, lv), 0.0) >= tau_mastery for lv in range(1, top + 1))
    )


def skill_gate(
    skills: Iterable[str],
    probes: Mapping[str, Sequence[str]],
    student: Mapping[str, int],
    teacher: Mapping[str, int],
    tau_mastery: float = 0.9,
    min_probes: int = 16,
) -> list[dict[str, Any]]:
    """The mastery gate, skill by skill, on each skill's held-out probes.

    `probes` maps a skill to its probe ids; `student` and `teacher` give 1/0 per probe
    id. A skill passes when it was judged on at least `min_probes` probes and its
    ratio P_S/P_T is ≥ τ_mastery (a teacher that solves none gives ratio 0). Each row
    names the probes it counted, so the decision can be checked.
    """
    rows = []
    for s in sorted(skills):
        ids = sorted(i for i in probes.get(s, ()) if i in student and i in teacher)
        right, solved = sum(student[i] for i in ids), sum(teacher[i] for i in ids)
        ratio = right / solved if solved else 0.0
        enough = len(ids) >= min_probes
        rows.append(
            {
                "skill": s,
                "probes": ids,
                "n": len(ids),
                "correct": right,
                "teacher_correct": solved,
                "ratio": ratio,
                "passed": enough and ratio >= tau_mastery,
                "why": "" if enough else f"only {len(ids)} probes, the gate needs {min_probes}",
            }
        )
    return rows


def forgotten(
    passed: Collection[str], ratios: Mapping[str, float], tau_mastery: float = 0.9
) -> list[str]:
    """Skills that once passed the gate and now score below τ_mastery, sorted."""
    return sorted(s for s in passed if s in ratios and ratios[s] < tau_mastery)
