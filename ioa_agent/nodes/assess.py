"""Assess: re-test the student and apply the mastery gate.

Scores the round's student (base model plus this round's adapter) on what the
decision needs: the probes of the stage's skills and of every skill that passed the
gate before (re-checked for forgetting; one that fell re-enters the curriculum, see
nodes.organize). The gate passes the stage when each of its skills reaches
τ_mastery on at least `organizer.gate_min_probes` of its own probes
(organizer.skills.skill_gate), and with the budget decides where the graph goes
(organizer.curriculum.decide_after_assess). When that is the run's or the cycle's last
assessment, every probe is scored, so the final figures and the next diagnosis cover
every module. Results per item go to the run store, once per round; the round's
summary also holds the gate's rows (with the probe ids each skill was judged on),
each module's paired change against the untrained student and the format leak on
untaught modules.
Strategies without the Organizer's gate go on while rounds and teacher tokens are
left; `targeted` also scores the student on a sample of its own training items and
logs the failures for the next round.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from ioa_agent.display import progress_bar
from ioa_agent.identifier import gap, ratios
from ioa_agent.items import Item
from ioa_agent.organizer.curriculum import decide_after_assess, skip_mastered
from ioa_agent.organizer.skills import (
    forgotten,
    skill_gate,
    skill_id,
    skill_ratios,
)
from ioa_agent.pedagogy.strategies import (
    budget_left,
    decide_ungated,
    sample_ids,
    uses_organizer,
)
from ioa_agent.probe_scores import (
    leak_by_module,
    paired_by_module,
    per_level_ratio,
    per_module,
    student_outputs,
    student_scores,
    teacher_scores,
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
    skills = [s["skills"] for s in cur["stages"]]
    scores = skill_ratios(state.get("level_ratios", {}))
    ahead, _ = skip_mastered(skills, cur["stage"] + 1, scores, cfg.organizer.tau_mastery)
    return decide_after_assess(
        mastered=mastered,
        more_stages=ahead < len(skills),  # stages mastered already are not taught
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


def needed_probes(probes: list[Item], skills: set[str]) -> list[Item]:
    """The probes of `skills` (what the gate and the forgetting check read)."""
    return [p for p in probes if skill_id(p.module, p.level) in skills]


def merge_scores(
    state: State, probes: list[Item], student: dict[str, int], teacher: dict[str, int]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """P_S per module and P_S/P_T per level after a possibly partial assessment.

    A module (a level) is re-scored only when every probe of it was assessed;
    otherwise the state's last figure stands.
    """
    p_s = dict(state.get("p_s", {}))
    levels = {m: dict(v) for m, v in state.get("level_ratios", {}).items()}
    by_module: dict[str, list[Item]] = {}
    for p in probes:
        by_module.setdefault(p.module, []).append(p)
    done = [p for p in probes if p.id in student]
    for m, items in by_module.items():
        if all(p.id in student for p in items):
            p_s[m] = per_module(items, student)[m]
    for m, by_level in per_level_ratio(done, student, teacher).items():
        for lv, r in by_level.items():
            cell = [p for p in by_module[m] if p.level == int(lv)]
            if all(p.id in student for p in cell):
                levels.setdefault(m, {})[lv] = r
    return dict(sorted(p_s.items())), levels


def assess(state: State, runtime: Runtime[Context]) -> State:
    with runtime.context.open() as run:
        org = run.config.organizer
        rnd = state["round"]
        cur = state["curriculum"]
        stage = cur["stages"][cur["stage"]]["skills"]
        probes = run.store.items("probe")
        teacher = teacher_scores(run, probes)
        # only what the decision needs: the stage's skills and those that passed the gate
        needed = needed_probes(probes, set(stage) | set(cur.get("passed", [])))
        if run.config.assess.scope == "all":
            needed = probes
        with progress_bar(f"assess student (round {rnd})", len(needed)) as advance:
            student = student_scores(run, rnd, needed, advance)
        p_s, level_ratios = merge_scores(state, probes, student, teacher)
        by_skill: dict[str, list[str]] = {}
        for p in needed:
            by_skill.setdefault(skill_id(p.module, p.level), []).append(p.id)
        gate = skill_gate(stage, by_skill, student, teacher, org.tau_mastery, org.gate_min_probes)
        mastered = all(row["passed"] for row in gate)
        scores = skill_ratios(level_ratios)
        lost = forgotten(cur.get("passed", []), scores, org.tau_mastery)
        update: State = {**state, "p_s": p_s, "level_ratios": level_ratios}
        decision = next_decision(run, update, mastered)
        final = decision in ("end", "diagnose") or (
            decision == "review" and next_decision(run, update, True) in ("end", "diagnose")
        )
        if final and len(needed) < len(probes):  # the run's last word: every probe
            with progress_bar(f"assess student (round {rnd}, all probes)", len(probes)) as advance:
                student = student_scores(run, rnd, probes, advance)
            p_s, level_ratios = merge_scores(state, probes, student, teacher)

        if run.config.strategy == "targeted" and decision == "adapt":
            record_failures(run, rnd, len(probes))

        remedial = state.get("remedial", 0)
        if decision == "adapt" and uses_organizer(run.config.strategy):
            remedial += 1
        # a skill that fell stays listed until organize puts it back into the curriculum
        passed = sorted(set(cur.get("passed", [])) | {r["skill"] for r in gate if r["passed"]})

        summary = {
            "round": rnd,
            "stage": cur["stage"],
            "skills": stage,
            "gate": gate,
            "mastered": mastered,
            "forgotten": lost,
            "passed": passed,
            "decision": decision,
            "assessed": len(student),
            "p_s": p_s,
            "ratios": ratios(p_s, state["p_t"], p_s),
            "skill_ratios": skill_ratios(level_ratios),
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
            "curriculum": Curriculum(**{**cur, "passed": passed}),
            "decision": decision,
        }
