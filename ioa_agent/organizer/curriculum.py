"""Organizer maths: stage order, the ZPD check, mastery gates, routing and replay.

The unit is a skill (a module at one level, `organizer.skills`); the functions here
take any ids, so they read the same for skills as for modules.

- `topological_stages` layers the skills to teach along the prerequisite DAG; levels
  chain within a module, so difficulty rises one level at a time.
- `cap_stages` cuts a layer into stages of at most N skills (a small student learns
  one skill a round best); `apply_zpd` (Eq. 8) splits a stage that is too big a step,
  or marks it for bridging data when it cannot be split; with probe counts, only a
  drop the probes can tell from noise counts (`within_reach`).
- `skip_mastered` passes over the next stages whose skills already reach τ_mastery.
- `weak` names the skills below τ_mastery (Bloom: move on only at ratio ≥ τ_mastery);
  the gate itself is `skills.skill_gate`.
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

from ioa_agent.organizer.skills import parse_skill

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


def cap_stages(
    stages: Sequence[Sequence[str]], scores: Mapping[str, float], most: int | None
) -> list[list[str]]:
    """Each stage cut into stages of at most `most` skills, the easier (higher score;
    ties by id) first; None leaves them whole. Only delays skills within a layer, so
    prerequisite order holds."""
    if most is None:
        return [list(s) for s in stages if s]
    out: list[list[str]] = []
    for stage in stages:
        ranked = sorted(stage, key=lambda k: (-scores.get(k, 0.0), k))
        out += [sorted(ranked[i : i + most]) for i in range(0, len(ranked), most)]
    return out


def _mean_score(modules: Sequence[str], p_s: Mapping[str, float]) -> float:
    return sum(p_s.get(m, 0.0) for m in modules) / len(modules)


Z95 = 1.96


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion `p` seen on `n` trials ((0, 1) when
    n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def within_reach(
    current: Sequence[str],
    nxt: Sequence[str],
    p_s: Mapping[str, float],
    tau_zpd: float,
    probes: Mapping[str, int] | None = None,
) -> bool:
    """Eq. 8 for one step: the next stage's mean P_S is at least (1 − τ_zpd) times the
    current one's (a current mean of 0 lets anything pass).

    With `probes` (each skill's probe count), the scores are proportions seen on
    those probes, and only a drop they establish counts: the step is out of reach when
    the next stage's 95% Wilson upper bound (its probes pooled) is below (1 − τ_zpd)
    times the current stage's lower bound. Measured: on 8 probes a skill, untrained
    scores of 2/8 against 1/8 split every layer of the skill graph into one-skill
    stages, on differences of one probe.
    """
    cur, ahead = _mean_score(current, p_s), _mean_score(nxt, p_s)
    if cur <= 0:
        return True
    if probes is None:
        return ahead >= (1 - tau_zpd) * cur
    low, _ = wilson(cur, sum(probes.get(s, 0) for s in current))
    _, high = wilson(ahead, sum(probes.get(s, 0) for s in nxt))
    return high >= (1 - tau_zpd) * low


def apply_zpd(
    stages: Sequence[Sequence[str]],
    p_s: Mapping[str, float],
    tau_zpd: float = 0.15,
    probes: Mapping[str, int] | None = None,
) -> list[dict]:
    """Keep each step within the zone of proximal development (Eq. 8).

    For consecutive stages, the student's mean P_S on the next stage must be at least
    (1 − τ_zpd) times its mean on the current one (a current mean of 0 lets anything
    pass; with `probes`, only a drop the probes establish counts: `within_reach`).
    A violating stage with more than one module is split into its easier half
    (higher P_S; ties by id; the first half takes the odd module) and its harder
    half, each re-checked in turn. A violating single-module stage is kept with
    `bridge: True`, telling the adapter to add one-notch-harder bridging data.
    Splitting only delays modules within one layer, so prerequisite order holds.
    Returns `[{"skills": [...sorted ids], "bridge": bool}, ...]`; empty stages are
    dropped and a missing score counts as 0.
    """
    pending = deque(list(s) for s in stages if s)
    out: list[dict] = []
    while pending:
        nxt = pending.popleft()
        if not out:
            out.append({"skills": sorted(nxt), "bridge": False})
            continue
        if within_reach(out[-1]["skills"], nxt, p_s, tau_zpd, probes):
            out.append({"skills": sorted(nxt), "bridge": False})
        elif len(nxt) > 1:
            ranked = sorted(nxt, key=lambda m: (-p_s.get(m, 0.0), m))
            half = math.ceil(len(ranked) / 2)
            pending.appendleft(ranked[half:])
            pending.appendleft(ranked[:half])
        else:
            out.append({"skills": list(nxt), "bridge": True})
    return out


def weak(
    skills: Iterable[str],
    ratios: Mapping[str, float],
    tau_mastery: float = 0.9,
) -> list[str]:
    """Skills with ratio < τ_mastery, sorted (a remedial round's focus; a missing
    ratio counts as 0)."""
    return sorted({s for s in skills if ratios.get(s, 0.0) < tau_mastery})


def skip_mastered(
    stages: Sequence[Sequence[str]],
    start: int,
    ratios: Mapping[str, float],
    tau_mastery: float = 0.9,
) -> tuple[int, list[str]]:
    """The first stage (a list of skills) at or after `start` that has a skill below
    τ_mastery, and the skills of the stages passed over on the way (sorted).

    A stage whose every skill already scores at or above τ_mastery at the latest
    assessment (the student learned it beside an earlier stage) passes the gate as it
    stands: teaching it would spend a round on what is known. The caller counts its
    skills as passed, so they are re-checked after every round like any other and
    taught again if they fall (they have no rows of their own to replay). Returns
    `len(stages)` when every remaining stage is mastered. A missing ratio counts as 0.
    """
    i, skipped = start, []
    while i < len(stages) and all(ratios.get(s, 0.0) >= tau_mastery for s in stages[i]):
        skipped += stages[i]
        i += 1
    return i, sorted(skipped)


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


def round_steps(steps: int, n_new: int, n_replay: int) -> int:
    """Optimizer steps for a round of `n_new` new and `n_replay` replayed rows.

    `steps` are the new items' steps: replay is trained on top of the stage's data, so
    it adds steps in proportion, steps · (n_new + n_replay) / n_new rounded half up,
    and never takes them from the skill being taught. A round with no new rows (the
    budget ran out, and it trains on earlier data) gets `steps`. ValueError on
    `steps` < 1 or negative counts.
    """
    if steps < 1 or n_new < 0 or n_replay < 0:
        raise ValueError(f"need steps >= 1 and counts >= 0, got {steps}, {n_new}, {n_replay}")
    if n_new == 0 or n_replay == 0:
        return steps
    return math.floor(steps * (n_new + n_replay) / n_new + 0.5)


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
    ratios: Mapping[str, float],
    *,
    remedial: bool,
    bridge_from: Sequence[str] = (),
    tau_mastery: float = 0.9,
) -> list[tuple[str, int, str]]:
    """(module, level, variant) to teach in one round of a stage of skills.

    A first round teaches every skill of the stage, plus one-notch-harder "bridging"
    items of `bridge_from` (the previous stage's skills) when the ZPD rule marked the
    stage. A remedial round teaches only the weak skills (all, if none is weak). Its
    "remedial" variant is one level simpler, which only helps at level 1: above it,
    the level below is a prerequisite the curriculum taught first, so the round stays
    at the skill's level ("standard") instead of re-teaching what the student knows.
    """
    if remedial:
        focus = [parse_skill(s) for s in weak(stage, ratios, tau_mastery) or sorted(stage)]
        return [(m, lv, "remedial" if lv == 1 else "standard") for m, lv in focus]
    plan = [(*parse_skill(s), "standard") for s in sorted(stage)]
    plan += [(*parse_skill(s), "bridging") for s in sorted(bridge_from)]
    return plan
