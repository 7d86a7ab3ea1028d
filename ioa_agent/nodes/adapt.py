"""Adapt: the Adapter writes this round's training data.

For each module of the step (only the weak ones in a remedial round) at its teaching
level: seed items come from the seed data's pool (or the teacher writes them), the
teacher synthesizes J new items per seed (Eq. 1), solves each, and rewrites it with
the strategies the diagnosis calls for (remedial: simpler, see
pedagogy.organizer.plan_round; a bridged stage also gets one-notch-harder items of the
previous stage). Each of these steps is one concurrent teacher batch. Seed items that
carry a worked solution join the data as they are.
Every item is verified by the domain's scorer (the teacher's own solution of the
rewritten text must agree with its answer, or code must pass its tests),
de-duplicated and checked for probe leakage (pedagogy.adapter); earlier
rounds' data (earlier stages, and lower levels of this one) is replayed. The kept
items are written in the rendering the round's starting student learns best
(`ioa_agent.fitting`), and the student's own verified answers on modules outside the
round join them (`ioa_agent.self_replay`). The dataset
is written atomically once per round; a re-run finds it and does nothing. All teacher
calls go through the run's cache. The run's strategy (pedagogy.strategies) picks the
plan, whether items are rewritten, and for `targeted` synthesis from the student's
failures; generation stops at the round's share of the teacher-token budget, and
self-replay asks only the questions the rest of the share pays for.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from langgraph.runtime import Runtime

from ioa_agent.display import console, progress_bar
from ioa_agent.domains.seed import seed_items
from ioa_agent.fitting import fit, fits
from ioa_agent.items import Item, Strategy, Variant
from ioa_agent.pedagogy.adapter import choose_strategies, drop_stated, filter_items
from ioa_agent.pedagogy.organizer import pick_replay, plan_round, replay_count
from ioa_agent.pedagogy.skills import skill_ratios
from ioa_agent.pedagogy.strategies import (
    flat_plan,
    from_failures,
    is_flat,
    plan_passes,
    rewrites,
    round_allowance,
    sample_ids,
    seeds_per_entry,
)
from ioa_agent.run import Run, atomic_write_text, derive_seed, sha256_file
from ioa_agent.self_replay import own_answers
from ioa_agent.state import Context, State
from ioa_agent.teacher.cached import BudgetSpent

RENDER_ESTIMATE = 0.5
"""Before a run has rendered anything: rendering an item costs about this share of
writing it (measured on the built-in teacher: ~45%)."""
PHASES = ("writing", "rendering", "self_replay")


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
            # with a budget, passes over the plan (fresh seeds each) fill the round's share
            budget = run.config.teacher.budget_tokens
            width = run.config.teacher.max_concurrency
            for rep, (module, level, variant) in plan_passes(plan, budget):
                if out_of_budget(len(candidates), min(cfg.seeds_per_module, width) * cfg.j):
                    if rep == 0:
                        skipped(run, rnd, "writing", f"stopped before {module}@{level}")
                    break
                wanted = choose_strategies(gaps.get(module, 1.0), variant)
                strategies = [s for s in wanted if s in cfg.strategies]
                tag = (rnd,) if rep == 0 else (rnd, rep)
                seed = derive_seed(run.config.seed, "seed", module, level, variant, *tag)
                n = seeds_per_entry(method, cfg.seeds_per_module, specs[module].levels, flat)
                seeds = seed_items(run, specs[module], level, n, seed)
                run.store.save_items(seeds, "seed", rnd, run.teacher.model_id)
                rewrite = strategies if rewrites(method) else None
                if run.config.seed_data is not None:  # seed items with a worked solution
                    candidates += [(s, s.answer) for s in seeds if s.rationale]
                # a teacher batch of seeds at a time, so the share is checked between them
                for first in range(0, len(seeds), width):
                    chunk = seeds[first : first + width]
                    if first and out_of_budget(len(candidates), len(chunk) * cfg.j):
                        skipped(run, rnd, "writing", f"stopped within {module}@{level}")
                        break
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


def phase_costs(run: Run) -> dict[str, float]:
    """Teacher tokens per rendered item and per round of self-replay, as measured in
    this run's earlier rounds (the adapt events); empty before the first round."""
    events = [e["payload"] for e in run.store.events("data")]
    rendered = sum(e.get("rendered", 0) for e in events)
    tokens = {k: sum(e.get("tokens", {}).get(k, 0) for e in events) for k in PHASES}
    out: dict[str, float] = {}
    if rendered:
        out["render_per_item"] = tokens["rendering"] / rendered
    if events:
        out["self_replay"] = tokens["self_replay"] / len(events)
    return out


def budget_guard(run: Run, rnd: int) -> Callable[..., bool]:
    """A check, given the count of items written so far and of those the next teacher
    batch would write, that is true once this round's writing, that batch, and what
    rendering and self-replay will cost would pass its share (a batch can be a large
    part of a share, so it is judged before it is paid for).

    The share is an even split of what is left over the rounds left
    (pedagogy.strategies.round_allowance). When the round's items are then written in
    the rendering the student picks (fitting) and asked about in self-replay, their
    cost is reserved out of the share: tokens per rendered item times the items
    written, plus a round of self-replay, as measured in this run's earlier rounds
    (`phase_costs`); before any, rendering is estimated at `RENDER_ESTIMATE` of an
    item's writing cost and self-replay at its questions times that cost over J.
    Without a budget it is never true. The hard limit is the teacher's own
    (`BudgetSpent`).
    """
    start = run.teacher.spent_tokens()
    end = share_end(run, rnd)
    if end is None:
        return lambda made, upcoming=0: False
    allowance = end - start
    reserve = fits(run.config)
    measured = phase_costs(run) if reserve else {}
    cfg = run.config.adapter

    def spent(made: int, upcoming: int = 0) -> bool:
        writing = run.teacher.spent_tokens() - start
        if made == 0:
            return writing >= allowance
        per_item = writing / made
        if not reserve:
            return writing + per_item * upcoming >= allowance
        render = measured.get("render_per_item", RENDER_ESTIMATE * per_item)
        own = measured.get("self_replay", cfg.self_replay_questions * per_item / cfg.j)
        total = made + upcoming
        return writing + per_item * upcoming + render * total + own >= allowance

    return spent


def share_end(run: Run, rnd: int) -> int | None:
    """The spent-token mark where this round's share of the budget ends (an even split
    of what is left over the rounds left); None without a budget."""
    spent = run.teacher.spent_tokens()
    rounds_left = run.config.max_rounds - rnd + 1
    allowance = round_allowance(run.config.teacher.budget_tokens, spent, rounds_left)
    return None if allowance is None else spent + allowance


def replay_questions(run: Run, rnd: int, end: int | None) -> int:
    """Self-replay questions the round can pay for: `adapter.self_replay_questions`, or
    fewer when writing them would pass the round's share `end`, at the tokens per item
    the teacher's `write_items` calls have cost in this run so far. A cut is logged."""
    want = run.config.adapter.self_replay_questions
    per_item = run.store.tokens_per_written_item()
    if end is None or per_item is None:
        return want
    n = min(want, int(max(0, end - run.teacher.spent_tokens()) // per_item))
    if n < want:
        skipped(run, rnd, "self_replay", f"asks {n} of {want} questions")
    return n


def skipped(run: Run, rnd: int, step: str, detail: str) -> None:
    """A step skipped or cut short for budget: an event in the store and a line out."""
    budget = run.config.teacher.budget_tokens
    payload = {"round": rnd, "step": step, "detail": detail, "spent": run.teacher.spent_tokens()}
    run.store.log_event(f"budget:{rnd}:{step}", "adapt", "budget", {**payload, "budget": budget})
    console.print(f"round {rnd}: {step} {detail} (teacher-token budget)", markup=False)


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


def adapt(state: State, runtime: Runtime[Context]) -> State:
    with runtime.context.open() as run:
        rnd = state.get("round", 0) + 1
        path = run.round_dir(rnd) / "train.jsonl"
        if path.exists():
            return {"round": rnd, "data": {"path": str(path), "sha256": sha256_file(path)}}
        run.teacher.node = "adapt"
        cfg = run.config.adapter
        probes = [p.prompt for p in run.store.items("probe")]
        spent = {"start": run.teacher.metered_tokens()}  # the same after a crash and resume
        end = share_end(run, rnd)
        made = (
            synthesize_from_failures(run, rnd)
            if from_failures(run.config.strategy, rnd)
            else synthesize(run, state, rnd)
        )
        spent["writing"] = run.teacher.metered_tokens()
        # the domain's scorer verifies: the teacher's own answer agrees (or the code passes)
        verdicts = run.scorer.check([it for it, _ in made], [a for _, a in made])
        checked = [
            (it, it.answer if ok else None) for (it, _), ok in zip(made, verdicts, strict=True)
        ]
        kept, rejected = filter_items(
            checked,
            probes,
            lambda answer, gold: answer == gold,
            dup_threshold=cfg.dup_threshold,
            leak_threshold=cfg.leak_threshold,
            key=run.scorer.content_key,
        )
        # the rendering the round's starting student learns best (fitting), and its own
        # verified answers on the modules this round does not teach (self_replay)
        try:
            kept, fitted = fit(run, rnd, kept)
        except BudgetSpent:  # no tokens left to render: the teacher's own text stays
            fitted = {}
            skipped(run, rnd, "rendering", "skipped: the items train in the teacher's text")
        if fitted:
            run.store.log_event(f"render:{rnd}", "adapt", "renderings", fitted)
        # no kept item's text, in the rendering it trains in, computes a probe's content
        probe_keys = {run.scorer.content_key(p) for p in probes}
        kept, stated = drop_stated(kept, probe_keys, run.scorer.stated_keys)
        spent["rendering"] = run.teacher.metered_tokens()
        taught = {it.module for it in kept}
        outside = [m.id for m in run.store.modules() if m.id not in taught]
        own: list[Item] = []
        own_leaks = 0
        try:
            asked = replay_questions(run, rnd, end) if kept and outside and cfg.self_replay else 0
            if asked:
                own, own_leaks = own_answers(run, rnd, outside, len(kept), asked)
        except BudgetSpent:  # no tokens left to write the questions
            skipped(run, rnd, "self_replay", "skipped: no questions could be written")
        spent["self_replay"] = run.teacher.metered_tokens()
        kept = kept + own
        run.store.save_items(kept, "train", rnd, run.teacher.model_id)

        # every earlier round's data: earlier stages, and earlier levels of this stage
        pool = {i.id: i for i in run.store.items("train", before_round=rnd)}
        k = replay_count(len(kept), run.config.organizer.replay_fraction)
        if not kept:  # the token budget ran out: train on what was made before
            k = len(pool)
        replay = [
            pool[i] for i in pick_replay(list(pool), k, derive_seed(run.config.seed, "replay", rnd))
        ]

        lines = [
            json.dumps(
                {
                    "id": it.id,
                    "module": it.module,
                    "prompt": it.prompt,
                    "completion": it.completion(),
                    "rendering": it.rendering,
                    "replay": replay_flag,
                }
            )
            for its, replay_flag in ((kept, False), (replay, True))
            for it in its
        ]
        if not lines:
            budget = run.config.teacher.budget_tokens
            if budget is not None and run.teacher.spent_tokens() >= budget:
                raise RuntimeError(
                    f"round {rnd}: the teacher-token budget ({budget}) was spent before any "
                    "training item was made: raise teacher.budget_tokens"
                )
            raise RuntimeError(
                f"round {rnd}: no training item survived verification; see the run store"
            )
        atomic_write_text(path, "\n".join(lines) + "\n")
        reasons = Counter(reason for _, reason in rejected)
        marks = ["start", *PHASES]
        summary = {
            "round": rnd,
            "kept": len(kept) - len(own),
            "self_replay": len(own),
            "self_replay_modules": dict(Counter(it.module for it in own)),
            "replay_modules": dict(Counter(it.module for it in replay)),
            "renderings": {
                f"{g['module']}@{g['level']}": g["picked"] for g in fitted.get("groups", [])
            },
            "rendered": sum(g.get("kept", 0) for g in fitted.get("groups", [])),
            "replay": len(replay),
            "rejected": dict(reasons),
            "probe_filter": {
                "training": reasons.get("probe_leak", 0) + stated,
                "self_replay": own_leaks,
            },
            "tokens": {b: spent[b] - spent[a] for a, b in zip(marks, marks[1:], strict=False)},
            "strategy": run.config.strategy,
            "teacher_tokens": run.teacher.spent_tokens(),
        }
        run.store.log_event(f"adapt:{rnd}", "adapt", "data", summary)
        return {"round": rnd, "data": {"path": str(path), "sha256": sha256_file(path)}}
