"""Assess: re-test the student and apply the mastery gate.

Scores the round's student (base model plus this round's adapter) on every module's
probes, so mastered modules are re-checked for forgetting and the history feeds
Eq. 3. Then the gate (min P_S/P_T of the stage ≥ τ_mastery) and the budget decide
where the graph goes (pedagogy.organizer.decide_after_assess); a remedial round also
raises a module's teaching level once the level below is mastered. Results per item
go to the run store, once per round; the round's summary also holds each module's
paired change against the untrained student and the format leak on untaught modules.
Strategies without the Organizer's gate go on while rounds and teacher tokens are
left; `targeted` also scores the student on a sample of its own training items and
logs the failures for the next round.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from ioa_agent.assessment import (
    leak_by_module,
    paired_by_module,
    per_level_ratio,
    per_module,
    student_outputs,
    student_scores,
    teacher_scores,
)
from ioa_agent.display import progress_bar
from ioa_agent.pedagogy.identifier import gap, ratios
from ioa_agent.pedagogy.organizer import decide_after_assess, mastery_gate, teaching_level
from ioa_agent.pedagogy.strategies import (
    budget_left,
    decide_ungated,
    sample_ids,
    uses_organizer,
)
from ioa_agent.run import Run, atomic_write_json, derive_seed
from ioa_agent.state import Context, Curriculum, Decision, State


def next_decision(run: Run, state: State, mastered: bool) -> Decision:
    """Where to go after a stage's gate (also used when a review moves on)."""
    cfg = run.config
    cur = state["curriculum"]
    p_t, p_s = state["p_t"], state["p_s"]
    rounds_left = state.get("round", 0) < cfg.max_rounds
    tokens_left = budget_left(cfg.teacher.budget_tokens, run.teacher.spent_tokens())
    if not uses_organizer(cfg.strategy):
        return decide_ungated(rounds_left, tokens_left)
    return decide_after_assess(
        mastered=mastered,
        more_stages=cur["stage"] + 1 < len(cur["stages"]),
        remedial_used=state.get("remedial", 0),
        max_remedial=cfg.organizer.max_remedial,
        gaps_remain=any(gap(p_t[m], p_s.get(m, 0.0)) > cfg.identifier.tau_gap for m in p_t),
        budget_left=rounds_left and tokens_left,
        cycles_left=state.get("cycle", 0) < cfg.max_cycles,
    )


def record_failures(run: Run, rnd: int, limit: int) -> None:
    """`targeted`: score the student on its own training items, log the failed ids.

    A seeded sample of at most `limit` items trained on so far (never probes); the
    next round synthesizes from the failures. Logged once per round.
    """
    key = f"failures:{rnd}"
    if any(e["key"] == key for e in run.store.events("failures")):
        return
    pool = {i.id: i for i in run.store.items("train", before_round=rnd + 1)}
    ids = sample_ids(list(pool), limit, derive_seed(run.config.seed, "failures", rnd))
    items = [pool[i] for i in ids]
    with progress_bar(f"score training items (round {rnd})", len(items)) as advance:
        outputs = student_outputs(run, rnd, [i.prompt for i in items], advance)
    verdicts = run.scorer.check_outputs(items, outputs)
    failed = [i.id for i, (_, ok) in zip(items, verdicts, strict=True) if not ok]
    payload = {"round": rnd, "scored": len(items), "failed": failed}
    run.store.log_event(key, "assess", "failures", payload)


def assess(state: State, runtime: Runtime[Context]) -> State:
    run = runtime.context.open()
    tau = run.config.organizer.tau_mastery
    rnd = state["round"]
    probes = run.store.items("probe")
    teacher = teacher_scores(run, probes)
    with progress_bar(f"assess student (round {rnd})", len(probes)) as advance:
        student = student_scores(run, rnd, probes, advance)
    p_s = per_module(probes, student)
    level_ratios = per_level_ratio(probes, student, teacher)
    cur = state["curriculum"]
    stage = cur["stages"][cur["stage"]]["modules"]
    mastery = ratios(p_s, state["p_t"], p_s)
    mastered = mastery_gate(stage, mastery, tau)
    update: State = {**state, "p_s": p_s, "level_ratios": level_ratios}
    decision = next_decision(run, update, mastered)

    if run.config.strategy == "targeted" and decision == "adapt":
        record_failures(run, rnd, len(probes))

    remedial = state.get("remedial", 0)
    levels = dict(cur["levels"])
    if decision == "adapt" and uses_organizer(run.config.strategy):
        remedial += 1
        max_levels = {m.id: m.levels for m in run.store.modules()}
        for m in stage:
            by_level = {int(k): v for k, v in level_ratios.get(m, {}).items()}
            levels[m] = teaching_level(by_level, max_levels[m], tau)

    summary = {
        "round": rnd,
        "stage": cur["stage"],
        "modules": stage,
        "mastered": mastered,
        "decision": decision,
        "p_s": p_s,
        "ratios": mastery,
        "levels": levels,
        "paired": paired_by_module(run, rnd),
        "leak": leak_by_module(run, rnd),
        "strategy": run.config.strategy,
        "teacher_tokens": run.teacher.spent_tokens(),
    }
    atomic_write_json(run.dir / "assess" / f"{rnd:04d}.json", summary)
    run.store.log_event(f"assess:{rnd}", "assess", "gate", summary)
    return {
        "p_s": p_s,
        "level_ratios": level_ratios,
        "remedial": remedial,
        "curriculum": Curriculum(**{**cur, "levels": levels}),
        "decision": decision,
    }
