"""Organize: the Organizer.

After a diagnosis it turns the target modules into skills (a module at one level:
every unmastered level of a target, plus the unmastered skills they need), lays them
out along the skill graph (topological stages: level n after level n−1, and after the
skills of other modules the domain says it needs), and keeps each step within the zone
of proximal development (Eq. 8 on the skills' scores, counting only a drop their
probes can tell from noise: split a stage or mark it for bridging data). Later
visits advance to the next stage (after the mastery gate, or an escalation that moved
on), put a skill that fell below τ_mastery after it had passed back into the
curriculum as the next stage, pass over a stage whose skills all reach τ_mastery
already (counted as passed: re-checked every round, not taught), or re-plan with a
person's feedback.
Strategies without the Organizer (config `strategy`, pedagogy.strategies) get one
unordered stage of every skill of their targets. It makes no teacher calls and trains
nothing: planning only, from the scores in the state.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

from langgraph.runtime import Runtime

from ioa_agent.domains.arithmetic import declared_skill_edges
from ioa_agent.identifier import edges_from_list
from ioa_agent.organizer.curriculum import (
    apply_zpd,
    cap_stages,
    skip_mastered,
    topological_stages,
)
from ioa_agent.organizer.plan_edits import apply_feedback, parse_feedback
from ioa_agent.organizer.skills import (
    all_skills,
    curriculum_skills,
    forgotten,
    module_of,
    skill_edges,
    skill_id,
    skill_ratios,
)
from ioa_agent.pedagogy.strategies import choose_targets, uses_organizer
from ioa_agent.run import Run, derive_seed
from ioa_agent.state import Context, Curriculum, State


def run_skill_edges(run: Run, state: State) -> list[tuple[str, str]]:
    """The run's skill graph: the domain's own, else its module DAG level by level."""
    max_levels = {m.id: m.levels for m in run.store.modules()}
    module_edges = edges_from_list(state["diagnosis"]["edges"])
    return skill_edges(max_levels, module_edges, declared_skill_edges(list(max_levels)))


def plan(run: Run, state: State) -> list[dict]:
    """A new cycle's stages of skills."""
    tau = run.config.organizer.tau_mastery
    max_levels = {m.id: m.levels for m in run.store.modules()}
    scores = skill_ratios(state.get("level_ratios", {}))
    method = run.config.strategy
    seed = derive_seed(run.config.seed, "targets", state["cycle"])
    targets = choose_targets(method, state["diagnosis"]["targets"], list(max_levels), seed)
    if not uses_organizer(method):
        skills = [s for s in all_skills(max_levels) if module_of(s) in targets]
        return [{"skills": skills, "bridge": False}] if skills else []
    edges = run_skill_edges(run, state)
    skills = curriculum_skills(targets, max_levels, scores, edges, tau)
    mastered = {s for s, r in scores.items() if r >= tau}
    layers = topological_stages(skills, edges, mastered)
    layers = cap_stages(layers, scores, run.config.organizer.max_skills_per_stage)
    probes = Counter(skill_id(p.module, p.level) for p in run.store.items("probe"))
    return apply_zpd(layers, scores, run.config.organizer.tau_zpd, probes)


def organize(state: State, runtime: Runtime[Context]) -> State:
    with runtime.context.open() as run:
        tau = run.config.organizer.tau_mastery
        max_levels = {m.id: m.levels for m in run.store.modules()}
        cur = state.get("curriculum")
        review = state.get("review") or {}
        note: dict = {}

        if cur is None or cur["cycle"] != state["cycle"]:
            cur = Curriculum(cycle=state["cycle"], stages=plan(run, state), stage=0, passed=[])
            kind = "plan"
        elif review.get("action") == "reject":
            directives = parse_feedback(review.get("feedback", ""), list(max_levels))
            rest = apply_feedback(cur["stages"], cur["stage"], max_levels, directives)
            cur = Curriculum(**{**cur, "stages": cur["stages"][: cur["stage"]] + rest})
            kind = "replan"
        else:
            stages = list(cur["stages"])
            scores = skill_ratios(state.get("level_ratios", {}))
            lost = forgotten(cur.get("passed", []), scores, tau)
            if lost and uses_organizer(run.config.strategy):
                # a skill that passed the gate and has since fallen is taught again next
                stages.insert(cur["stage"] + 1, {"skills": lost, "bridge": False, "again": True})
                note = {"reentered": lost}
            passed = [s for s in cur.get("passed", []) if s not in lost]
            nxt = cur["stage"] + 1
            if uses_organizer(run.config.strategy):
                # a stage already at the gate passes as it stands: re-checked, not taught
                skills = [s["skills"] for s in stages]
                nxt, skipped = skip_mastered(skills, nxt, scores, tau)
                for i in range(cur["stage"] + 1, nxt):
                    stages[i] = {**stages[i], "skipped": True}
                if skipped:
                    passed = sorted(set(passed) | set(skipped))
                    note = {**note, "skipped": skipped}
            cur = Curriculum(**{**cur, "stages": stages, "stage": nxt, "passed": passed})
            kind = "advance"

        digest = hashlib.sha256(json.dumps(cur, sort_keys=True).encode()).hexdigest()[:8]
        key = f"organize:{cur['cycle']}:{state.get('round', 0)}:{cur['stage']}:{kind}:{digest}"
        run.store.log_event(key, "organize", kind, {"round": state.get("round", 0), **cur, **note})
        return {"curriculum": cur, "remedial": 0, "review": {}}
