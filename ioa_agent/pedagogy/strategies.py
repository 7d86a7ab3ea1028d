"""Distillation strategies: the full method, two baselines and three ablations.

Every strategy runs through the same graph, teacher, training and assessment; these
pure functions make the choices in which they differ:

- `ioa`: the full method (Identifier targets, Organizer stages/ZPD/gate, Adapter).
- `uniform` (self-instruct style): every module at every level, no diagnosis, no
  order, no gate, no rewrite.
- `targeted` (LLM2LLM style): a uniform first round, then items synthesized from the
  student's failures on its own training items (never the probes), no rewrite.
- `no_identifier`: as `ioa` with the targets drawn uniformly at random (same count).
- `no_organizer`: as `ioa` with all targets at all levels every round, no
  prerequisite order, no ZPD, no mastery gate.
- `no_adapter`: as `ioa` with the teacher's raw solutions (no rewrite).

Also the per-round share of a teacher-token budget. No I/O here: the nodes read the
config and the store and call in.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import Literal, TypeVar

from ioa_agent.organizer.skills import parse_skill

Method = Literal["ioa", "uniform", "targeted", "no_identifier", "no_organizer", "no_adapter"]
METHODS: tuple[Method, ...] = (
    "ioa",
    "uniform",
    "targeted",
    "no_identifier",
    "no_organizer",
    "no_adapter",
)
PlanEntry = tuple[str, int, str]
T = TypeVar("T")


def uses_identifier(method: Method) -> bool:
    """Whether the diagnosis's severity-ranked targets are taught."""
    return method in ("ioa", "no_organizer", "no_adapter")


def uses_organizer(method: Method) -> bool:
    """Whether stages follow prerequisites and ZPD, levels rise one notch, a gate decides."""
    return method in ("ioa", "no_identifier", "no_adapter")


def rewrites(method: Method) -> bool:
    """Whether the Adapter rewrites items (otherwise the teacher's raw solution is kept)."""
    return method in ("ioa", "no_identifier", "no_organizer")


def choose_targets(
    method: Method, identified: Sequence[str], modules: Sequence[str], seed: int
) -> list[str]:
    """The modules a strategy teaches this cycle, sorted.

    `identified` are the Identifier's targets. `uniform` and `targeted` teach every
    module; `no_identifier` draws as many modules as the Identifier chose (at least
    one), uniformly at random with `seed`; the others keep the Identifier's choice.
    """
    if uses_identifier(method):
        return sorted(set(identified))
    if method == "no_identifier":
        pool = sorted(set(modules))
        k = min(len(pool), max(1, len(set(identified))))
        return sorted(random.Random(seed).sample(pool, k))
    return sorted(set(modules))


def flat_plan(skills: Sequence[str], seed: int) -> list[PlanEntry]:
    """Every skill (module, level) as a standard entry, in a seeded random order.

    The order is shuffled so that a round cut short by its token share covers a
    random, not a fixed, part of the modules and levels; over rounds the coverage
    evens out.
    """
    entries = [(*parse_skill(s), "standard") for s in sorted(set(skills))]
    random.Random(seed).shuffle(entries)
    return entries


def seeds_per_entry(method: Method, seeds_per_module: int, levels: int, flat: bool) -> int:
    """Seed items per plan entry: a flat plan spreads a module's seeds over its levels.

    So a round of `uniform` asks for as many items per module as a round of `ioa`
    does for each module of its stage (at least one per level).
    """
    if not flat:
        return seeds_per_module
    return max(1, math.ceil(seeds_per_module / max(1, levels)))


def is_flat(method: Method) -> bool:
    """Whether rounds use `flat_plan` (no Organizer) rather than the stage plan.

    `targeted` rounds after the first synthesize from failures instead (see
    `from_failures`); its first round is flat.
    """
    return not uses_organizer(method)


def from_failures(method: Method, rnd: int) -> bool:
    """Whether round `rnd` synthesizes from the student's failed training items."""
    return method == "targeted" and rnd > 1


def round_allowance(budget: int | None, spent: int, rounds_left: int) -> int | None:
    """Teacher tokens this round may spend: an even share of what is left.

    None when there is no budget. `rounds_left` counts this round (≥ 1). What a
    round leaves unspent carries over to the next rounds' shares.
    """
    if budget is None:
        return None
    return max(0, budget - spent) // max(1, rounds_left)


MAX_PASSES = 50


def plan_passes(entries: Sequence[T], budget: int | None) -> Iterator[tuple[int, T]]:
    """(pass, entry) over the plan: once without a budget, else up to MAX_PASSES times.

    With a budget every strategy goes on generating (fresh seeds each pass) until its
    round's share is spent, so strategies are compared at equal teacher tokens and
    not at whatever one plan pass happens to cost.
    """
    for rep in range(1 if budget is None else MAX_PASSES):
        for entry in entries:
            yield rep, entry


def plan_chunks(
    entries: Sequence[T], sizes: Sequence[int], width: int, budget: int | None
) -> Iterator[tuple[int, T, int]]:
    """(pass, entry, first seed) over the plan, one teacher batch of `width` seeds at a
    time, taking the entries in turn: every entry's first batch, then every entry's
    second, and so on (`sizes`: each entry's seed count). Passes as in `plan_passes`.

    So when a round's share of the budget runs out part-way, every skill of the stage
    has had its batches up to the same point, instead of the first skill all of its
    seeds and the last none. A plan whose entries fit one batch each is taken in the
    order of `plan_passes`.
    """
    if len(sizes) != len(entries) or width < 1:
        raise ValueError(f"need one size per entry and width >= 1, got {sizes}, {width}")
    for rep in range(1 if budget is None else MAX_PASSES):
        for first in range(0, max(sizes, default=0), width):
            for entry, size in zip(entries, sizes, strict=True):
                if first < size:
                    yield rep, entry, first


def budget_left(budget: int | None, spent: int) -> bool:
    """Whether any teacher tokens remain (always, without a budget)."""
    return budget is None or spent < budget


def decide_ungated(rounds_left: bool, tokens_left: bool) -> Literal["adapt", "end"]:
    """Routing after an assessment for strategies without the Organizer's gate."""
    return "adapt" if rounds_left and tokens_left else "end"


def sample_ids(failed: Sequence[str], limit: int, seed: int) -> list[str]:
    """At most `limit` distinct ids, a seeded sample, returned sorted."""
    pool = sorted(set(failed))
    return sorted(random.Random(seed).sample(pool, min(max(0, limit), len(pool))))
