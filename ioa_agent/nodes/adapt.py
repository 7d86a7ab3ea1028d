"""Adapt: the Adapter writes this round's training data.

For each module of the step (only the weak ones in a remedial round) at its teaching
level: the teacher writes seed items, synthesizes J new items per seed (Eq. 1),
solves each, and rewrites it with the strategies the diagnosis calls for (remedial:
simpler at level 1, see pedagogy.organizer.plan_round; a bridged stage also gets
one-notch-harder items of the previous stage).
Every item is verified (the teacher's own solution of the rewritten text must match
its answer), de-duplicated and checked for probe leakage (pedagogy.adapter); earlier
rounds' data (earlier stages, and lower levels of this one) is replayed. The dataset
is written atomically once per round; a re-run finds it and does nothing. All teacher
calls go through the run's cache.
"""

from __future__ import annotations

import json
from collections import Counter

from langgraph.runtime import Runtime

from ioa_agent.display import progress_bar
from ioa_agent.items import Item
from ioa_agent.pedagogy.adapter import choose_strategies, filter_items
from ioa_agent.pedagogy.identifier import ratios
from ioa_agent.pedagogy.organizer import pick_replay, plan_round, replay_count
from ioa_agent.run import Run, atomic_write_text, derive_seed, sha256_file
from ioa_agent.scoring import answers_match
from ioa_agent.state import Context, State


def synthesize(run: Run, state: State, rnd: int) -> list[tuple[Item, str]]:
    """Candidate items with the teacher's own answer to each, for verification."""
    cfg = run.config.adapter
    specs = {m.id: m for m in run.store.modules()}
    gaps = state["diagnosis"]["gaps"]
    cur = state["curriculum"]
    stage = cur["stages"][cur["stage"]]
    p_t, p_s = state["p_t"], state["p_s"]
    plan = plan_round(
        stage["modules"],
        cur["levels"],
        ratios(p_s, p_t, stage["modules"]),
        remedial=state.get("remedial", 0) > 0,
        bridge_from=cur["stages"][cur["stage"] - 1]["modules"]
        if stage["bridge"] and cur["stage"] > 0
        else [],
        tau_mastery=run.config.organizer.tau_mastery,
    )
    candidates: list[tuple[Item, str]] = []
    with progress_bar(f"adapt round {rnd}", len(plan) * cfg.seeds_per_module * cfg.j) as advance:
        for module, level, variant in plan:
            wanted = choose_strategies(gaps.get(module, 1.0), variant)
            strategies = [s for s in wanted if s in cfg.strategies]
            seed = derive_seed(run.config.seed, "seed", module, level, variant, rnd)
            seeds = run.teacher.write_items(specs[module], level, cfg.seeds_per_module, seed)
            run.store.save_items(seeds, "seed", rnd, run.teacher.model_id)
            for i, seed_item in enumerate(seeds):
                syn_seed = derive_seed(run.config.seed, "synth", seed_item.id, rnd, i)
                for item in run.teacher.synthesize(seed_item, level, cfg.j, syn_seed):
                    solved = run.teacher.solve(item.prompt)
                    item = item.model_copy(update={"rationale": solved.rationale})
                    new = run.teacher.rewrite(item, strategies, variant)
                    candidates.append((new, run.teacher.solve(new.prompt).answer))
                    advance(1)
    return candidates


def adapt(state: State, runtime: Runtime[Context]) -> State:
    run = runtime.context.open()
    rnd = state.get("round", 0) + 1
    path = run.round_dir(rnd) / "train.jsonl"
    if path.exists():
        return {"round": rnd, "data": {"path": str(path), "sha256": sha256_file(path)}}
    cfg = run.config.adapter
    probes = [p.prompt for p in run.store.items("probe")]
    kept, rejected = filter_items(
        synthesize(run, state, rnd),
        probes,
        answers_match,
        dup_threshold=cfg.dup_threshold,
        leak_threshold=cfg.leak_threshold,
    )
    run.store.save_items(kept, "train", rnd, run.teacher.model_id)

    # every earlier round's data: earlier stages, and earlier levels of this stage
    pool = {i.id: i for i in run.store.items("train", before_round=rnd)}
    k = replay_count(len(kept), run.config.organizer.replay_fraction)
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
                "replay": replay_flag,
            }
        )
        for its, replay_flag in ((kept, False), (replay, True))
        for it in its
    ]
    if not lines:
        raise RuntimeError(
            f"round {rnd}: no training item survived verification; see the run store"
        )
    atomic_write_text(path, "\n".join(lines) + "\n")
    reasons = Counter(reason for _, reason in rejected)
    summary = {"round": rnd, "kept": len(kept), "replay": len(replay), "rejected": dict(reasons)}
    run.store.log_event(f"adapt:{rnd}", "adapt", "data", summary)
    return {"round": rnd, "data": {"path": str(path), "sha256": sha256_file(path)}}
