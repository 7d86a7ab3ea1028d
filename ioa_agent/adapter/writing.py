"""The Adapter's writing: a round's candidate items, each with the teacher's answer.

For each entry of the round's plan (`round_plan`: the run's strategy, the stage's
skills and their ratios, remedial or bridging), seed items come from the seed pool or
the teacher (`domains.seed.seed_items`); the teacher synthesizes J new items per seed
(Eq. 1), solves each and rewrites it with the strategies the diagnosis calls for
(`make_items`), one concurrent teacher batch per step; the plan's entries take turns
a batch at a time (`plan_chunks`), so a stage's skills share a cut-short round evenly.
`targeted` instead synthesizes from the student's failures (`synthesize_from_failures`).
Writing stops at the round's share of the budget (`adapter.budget`). Nothing here
verifies, filters, renders or saves the items: the adapt node does, with the rest of
the Adapter.
"""

from __future__ import annotations

from collections.abc import Callable

from ioa_agent.adapter.budget import budget_guard, skipped
from ioa_agent.adapter.filters import choose_strategies
from ioa_agent.display import progress_bar
from ioa_agent.domains.seed import seed_items
from ioa_agent.items import Item, Strategy, Variant
from ioa_agent.organizer.curriculum import plan_round
from ioa_agent.organizer.skills import skill_ratios
from ioa_agent.pedagogy.strategies import (
    flat_plan,
    is_flat,
    plan_chunks,
    plan_passes,
    rewrites,
    sample_ids,
    seeds_per_entry,
)
from ioa_agent.run import Run, derive_seed
from ioa_agent.state import State
from ioa_agent.teacher.cached import BudgetSpent


def synthesize(run: Run, state: State, rnd: int) -> list[tuple[Item, str | None]]:
    """Candidate items with the teacher's own answer to each, for verification."""
    cfg = run.config.adapter
    specs = {m.id: m for m in run.store.modules()}
    gaps = state["diagnosis"]["gaps"]
    plan = round_plan(run, state, rnd)
    method = run.config.strategy
    flat = is_flat(method)
    out_of_budget = budget_guard(run, rnd)
    candidates: list[tuple[Item, str | None]] = []
    with progress_bar(f"adapt round {rnd}", len(plan) * cfg.seeds_per_module * cfg.j) as advance:
        try:
            # with a budget, passes over the plan (fresh seeds each) fill the round's share;
            # the entries take turns a teacher batch at a time, so a cut shares evenly
            budget = run.config.teacher.budget_tokens
            width = run.config.teacher.max_concurrency
            # a stage's skills share the round: each takes a turn of its share of a batch
            # (a flat plan's shuffled order spreads its cover over rounds instead)
            grain = width if flat else max(1, width // len(plan))
            sizes = [
                seeds_per_entry(method, cfg.seeds_per_module, specs[m].levels, flat)
                for m, _, _ in plan
            ]
            drawn: dict[tuple[int, int], list[Item]] = {}
            for rep, (i, entry), first in plan_chunks(list(enumerate(plan)), sizes, grain, budget):
                module, level, variant = entry
                # an entry's first batch is judged at a full batch of its seeds
                batch = (
                    min(cfg.seeds_per_module, grain) if first == 0 else min(grain, sizes[i] - first)
                )
                upcoming = batch * cfg.j
                if out_of_budget(len(candidates), upcoming):
                    if rep == 0 or first:
                        where = "within" if first else "before"
                        skipped(run, rnd, "writing", f"stopped {where} {module}@{level}")
                    break
                wanted = choose_strategies(gaps.get(module, 1.0), variant)
                strategies = [s for s in wanted if s in cfg.strategies]
                key = (rep, i)
                if key not in drawn:
                    tag = (rnd,) if rep == 0 else (rnd, rep)
                    seed = derive_seed(run.config.seed, "seed", module, level, variant, *tag)
                    drawn[key] = seeds = seed_items(run, specs[module], level, sizes[i], seed)
                    run.store.save_items(seeds, "seed", rnd, run.teacher.model_id)
                    if run.config.seed_data is not None:  # seed items with a worked solution
                        candidates += [(s, s.answer) for s in seeds if s.rationale]
                chunk = drawn[key][first : first + grain]
                rewrite = strategies if rewrites(method) else None
                candidates += make_items(
                    run, chunk, level, rewrite, variant, rnd, advance, offset=first
                )
        except BudgetSpent:  # keep what was made; the run records what it spent
            skipped(run, rnd, "writing", "stopped: the budget is spent")
    return candidates


def make_items(
    run: Run,
    seeds: list[Item],
    level: int,
    strategies: list[Strategy] | None,
    variant: Variant,
    rnd: int | str,
    advance: Callable[[int], None],
    offset: int = 0,
) -> list[tuple[Item, str | None]]:
    """Eq. 1 for a batch of seed items: J new items each, solved, rewritten (unless
    `strategies` is None) and solved again; each step is one concurrent teacher batch.
    A call the teacher failed drops its item. `offset` is the batch's position among
    the entry's seeds (the synthesis seeds do not depend on how seeds are batched)."""
    j = run.config.adapter.j
    jobs = [
        (s, level, j, derive_seed(run.config.seed, "synth", s.id, rnd, offset + i))
        for i, s in enumerate(seeds)
    ]
    items = [
        it if it.parent else it.model_copy(update={"parent": seed.id})
        for seed, made in zip(seeds, run.teacher.synthesize_many(jobs), strict=True)
        for it in made
    ]
    solutions = run.teacher.solve_many([it.prompt for it in items])
    solved = [
        (it.model_copy(update={"rationale": sol.rationale}), sol.answer)
        for it, sol in zip(items, solutions, strict=True)
        if sol is not None
    ]
    if strategies is None:
        advance(len(items))
        return list(solved)
    rewritten = run.teacher.rewrite_many([(it, strategies, variant) for it, _ in solved])
    new = [r for r in rewritten if r is not None]
    checks = run.teacher.solve_many([r.prompt for r in new])
    advance(len(items))
    return [(r, c.answer if c is not None else None) for r, c in zip(new, checks, strict=True)]


def round_plan(run: Run, state: State, rnd: int) -> list[tuple[str, int, str]]:
    """(module, level, variant) entries of this round, as the run's strategy plans them."""
    cur = state["curriculum"]
    stage = cur["stages"][cur["stage"]]
    if is_flat(run.config.strategy):
        return flat_plan(stage["skills"], derive_seed(run.config.seed, "plan", rnd))
    previous = cur["stages"][cur["stage"] - 1]["skills"] if cur["stage"] > 0 else []
    return plan_round(
        stage["skills"],
        skill_ratios(state.get("level_ratios", {})),
        remedial=state.get("remedial", 0) > 0,
        bridge_from=previous if stage.get("bridge") else [],
        tau_mastery=run.config.organizer.tau_mastery,
    )


def synthesize_from_failures(run: Run, rnd: int) -> list[tuple[Item, str | None]]:
    """`targeted`: J new items like each training item the student failed last round.

    The failures were logged by assess (never probes); the teacher's raw solutions
    are kept (no rewrite). Stops at the round's share of the token budget.
    """
    cfg = run.config.adapter
    logged = [e for e in run.store.events("failures") if e["key"] == f"failures:{rnd - 1}"]
    failed = logged[0]["payload"]["failed"] if logged else []
    pool = {i.id: i for i in run.store.items("train", before_round=rnd)}
    limit = cfg.seeds_per_module * len(run.store.modules())
    ids = sample_ids([i for i in failed if i in pool], limit, derive_seed(run.config.seed, rnd))
    out_of_budget = budget_guard(run, rnd)
    candidates: list[tuple[Item, str | None]] = []
    with progress_bar(f"adapt round {rnd} (from failures)", len(ids) * cfg.j) as advance:
        try:
            for rep, item_id in plan_passes(ids, run.config.teacher.budget_tokens):
                if out_of_budget(len(candidates)):
                    if rep == 0:
                        skipped(run, rnd, "writing", "stopped before every failure was used")
                    break
                parent = pool[item_id]
                tag = rnd if rep == 0 else f"{rnd}.{rep}"
                made = make_items(run, [parent], parent.level, None, "standard", tag, advance)
                candidates += [(it.model_copy(update={"parent": parent.id}), a) for it, a in made]
        except BudgetSpent:
            skipped(run, rnd, "writing", "stopped: the budget is spent")
    return candidates
