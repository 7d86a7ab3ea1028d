"""Adapt: the Adapter writes this round's training data, calling its parts in order.

1. Writing (`adapter.writing`): candidate items for the round's plan, each with the
   teacher's answer, up to the round's share of the budget (`adapter.budget`).
2. Verification: the domain's scorer checks each answer (or runs the code's tests).
3. Filters (`adapter.filters`): near-duplicates and probe look-alikes go.
4. Rendering (`adapter.fitting`): the rendering the round's starting student learns
   best; then any item whose text works out a probe's operation goes.
5. Self-replay (`adapter.self_replay`): the student's own verified answers on the
   modules the round does not teach, as many questions as the share still pays for.
6. Replay: earlier rounds' data (earlier stages, lower levels of this one).

The dataset is written atomically once per round; a re-run finds it and does nothing.
All teacher calls go through the run's cache.
"""

from __future__ import annotations

import json
from collections import Counter

from langgraph.runtime import Runtime

from ioa_agent.adapter.budget import PHASES, share_end, skipped
from ioa_agent.adapter.filters import drop_stated, filter_items
from ioa_agent.adapter.fitting import fit
from ioa_agent.adapter.self_replay import own_answers
from ioa_agent.adapter.writing import synthesize, synthesize_from_failures
from ioa_agent.items import Item
from ioa_agent.organizer.curriculum import pick_replay, replay_count
from ioa_agent.pedagogy.strategies import from_failures
from ioa_agent.run import atomic_write_text, derive_seed, sha256_file
from ioa_agent.state import Context, State
from ioa_agent.teacher.cached import BudgetSpent


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
            if kept:
                own, own_leaks = own_answers(run, rnd, outside, len(kept), end)
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
