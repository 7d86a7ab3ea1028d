"""Organizer maths: stage order, the ZPD check, mastery gates, routing and replay.

- `topological_stages` layers the targets along the prerequisite DAG.
- `apply_zpd` (Eq. 8) splits a stage that is too big a step, or marks it for
  bridging data when it cannot be split.
- `teaching_level`, `mastery_gate` and `weak_modules` implement the mastery rules
  (Bloom: move on only at ratio ≥ τ_mastery; difficulty rises one level at a time).
- `decide_after_assess` is the routing rule after an assessment.
- `replay_count` and `pick_replay` size and draw the replay of earlier stages' data.

Edges are `(i, j)` tuples meaning "i is a prerequisite of j". Every function is pure
and deterministic (the replay draw uses an explicit seed). This module does not read
scores, train, or talk to the person; the graph's nodes do that and call in here.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Literal

Edge = tuple[str, str]
Route = Literal["organize", "adapt", "review", "diagnose", "end"]


def topological_stages(
    targets: Sequence[str],
    edges: Iterable[Edge] | Mapping[Edge, float],
    mastered: Collection[str] = frozenset(),
) -> list[list[str]]:
    """Topological layers of the targets, each layer sorted by id.

    A target enters stage i only when each of its prerequisites is in an earlier
    stage or already mastered. Only prerequisites that are themselves unmastered
    targets can block; a prerequisite outside the targets never blocks, since
    `identifier.select_targets` already adds every unmastered ancestor to the targets.
    Raises ValueError when the targets' prerequisites form a cycle (run
    `identifier.enforce_dag` first).
    """
    remaining = set(targets)
    blockers: dict[str, set[str]] = {t: set() for t in remaining}
    for i, j in edges:
        if j in remaining and i in remaining and i != j and i not in mastered:
            blockers[j].add(i)
    stages: list[list[str]] = []
    while remaining:
        layer = sorted(t for t in remaining if not (blockers[t] & remaining))
        if not layer:
            raise ValueError(f"prerequisite cycle among {sorted(remaining)}")
        stages.append(layer)
        remaining.difference_update(layer)
    return stages


def _mean_score(modules: Sequence[str], p_s: Mapping[str, float]) -> float:
    return sum(p_s.get(m, 0.0) for m in modules) / len(modules)


def apply_zpd(
    stages: Sequence[Sequence[str]],
    p_s: Mapping[str, float],
    tau_zpd: float = 0.15,
) -> list[dict]:
    """Keep each step within the zone of proximal development (Eq. 8).

    For consecutive stages, the student's mean P_S on the next stage must be at least
    (1 − τ_zpd) times its mean on the current one (a current mean of 0 lets anything
    pass). A violating stage with more than one module is split into its easier half
    (higher P_S; ties by id; the first half takes the odd module) and its harder
    half, each re-checked in turn. A violating single-module stage is kept with
    `bridge: True`, telling the adapter to add one-notch-harder bridging data.
    Splitting only delays modules within one layer, so prerequisite order holds.
    Returns `[{"modules": [...sorted ids], "bridge": bool}, ...]`; empty stages are
    dropped and a missing score counts as 0.
    """
    pending = deque(list(s) for s in stages if s)
    out: list[dict] = []
    while pending:
        nxt = pending.popleft()
        if not out:
            out.append({"modules": sorted(nxt), "bridge": False})
            continue
        current = _mean_score(out[-1]["modules"], p_s)
        if current <= 0 or _mean_score(nxt, p_s) >= (1 - tau_zpd) * current:
            out.append({"modules": sorted(nxt), "bridge": False})
        elif len(nxt) > 1:
            ranked = sorted(nxt, key=lambda m: (-p_s.get(m, 0.0), m))
            half = math.ceil(len(ranked) / 2)
            pending.appendleft(ranked[half:])
            pending.appendleft(ranked[:half])
        else:
            out.append({"modules": list(nxt), "bridge": True})
    return out


def teaching_level(
    level_ratios: Mapping[int, float],
    levels: int,
    tau_mastery: float = 0.9,
) -> int:
    """The difficulty level (1..levels) to teach next within a module.

    The lowest level whose ratio is below τ_mastery (a level without a ratio counts
    as unmastered); the top level when all are mastered. Difficulty rises one notch
    above what is mastered: a level is taught only when every level below it is
    mastered, and a level the student already masters (measured) is not taught again,
    while a lower level that was forgotten is taught again first.
    """
    if levels < 1:
        raise ValueError("levels must be at least 1")
    level = next(
        (lv for lv in range(1, levels + 1) if level_ratios.get(lv, 0.0) < tau_mastery),
        levels,
    )
    return max(1, level)


def mastery_gate(
    modules: Iterable[str],
    ratios: Mapping[str, float],
    tau_mastery: float = 0.9,
) -> bool:
    """True when every module's ratio is ≥ τ_mastery (a missing ratio counts as 0)."""
    return all(ratios.get(m, 0.0) >= tau_mastery for m in modules)


def weak_modules(
    modules: Iterable[str],
    ratios: Mapping[str, float],
    tau_mastery: float = 0.9,
) -> list[str]:
    """Modules with ratio < τ_mastery, sorted by id (the remedial round's focus)."""
    return sorted({m for m in modules if ratios.get(m, 0.0) < tau_mastery})


def decide_after_assess(
    *,
    mastered: bool,
    more_stages: bool,
    remedial_used: int,
    max_remedial: int,
    gaps_remain: bool,
    budget_left: bool,
    cycles_left: bool,
) -> Route:
    """Where the graph goes after an assessment.

    In order: budget spent → "end"; stage mastered with more stages → "organize";
    mastered, curriculum done, gaps remain and diagnosis cycles left → "diagnose";
    mastered otherwise → "end"; not mastered with remedial rounds left → "adapt";
    not mastered with remedial rounds used up → "review" (escalate).
    """
    if not budget_left:
        return "end"
    if mastered:
        if more_stages:
            return "organize"
        if gaps_remain and cycles_left:
            return "diagnose"
        return "end"
    if remedial_used < max_remedial:
        return "adapt"
    return "review"


def replay_count(n_new: int, fraction: float) -> int:
    """Replay items that make up `fraction` of a training set with `n_new` new items.

    r / (n_new + r) = fraction gives r = fraction / (1 − fraction) · n_new, rounded
    half up. `fraction` must lie in [0, 1) and `n_new` must be ≥ 0 (ValueError).
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"replay fraction must be in [0, 1), got {fraction}")
    if n_new < 0:
        raise ValueError(f"n_new must be >= 0, got {n_new}")
    if fraction == 0 or n_new == 0:
        return 0
    return math.floor(fraction * n_new / (1 - fraction) + 0.5)


def pick_replay(pool_ids: Iterable[str], k: int, seed: int) -> list[str]:
    """A seeded sample of min(k, pool size) distinct ids, returned sorted.

    The pool is de-duplicated and sorted before sampling, so the draw depends only on
    the set of ids, `k` and `seed`.
    """
    pool = sorted(set(pool_ids))
    count = max(0, min(k, len(pool)))
    return sorted(random.Random(seed).sample(pool, count))


def plan_round(
    stage: Sequence[str],
    levels: Mapping[str, int],
    ratios: Mapping[str, float],
    *,
    remedial: bool,
    bridge_from: Sequence[str] = (),
    tau_mastery: float = 0.9,
) -> list[tuple[str, int, str]]:
    """(module, level, variant) to teach in one round of a stage.

    A first round teaches every module of the stage at its teaching level, plus
    one-notch-harder "bridging" items of `bridge_from` (the previous stage) when the
    ZPD rule marked the stage. A remedial round teaches only the weak modules (all,
    if none is weak). Its "remedial" variant is one level simpler, which only helps
    at level 1: above it, the level below is mastered by construction of
    `teaching_level`, so the round stays at the teaching level ("standard") instead
    of re-teaching what the student already knows.
    """
    if remedial:
        focus = weak_modules(stage, ratios, tau_mastery) or sorted(stage)
        return [
            (m, levels.get(m, 1), "remedial" if levels.get(m, 1) == 1 else "standard")
            for m in focus
        ]
    plan = [(m, levels.get(m, 1), "standard") for m in stage]
    plan += [(m, levels.get(m, 1), "bridging") for m in bridge_from]
    return plan
