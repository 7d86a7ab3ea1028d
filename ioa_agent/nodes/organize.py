"""Organize: the Organizer.

After a diagnosis it lays the targets out in prerequisite order (topological stages),
keeps each step within the zone of proximal development (Eq. 8: split a stage or mark
it for bridging data), and picks each module's teaching level one notch at a time.
Later visits either advance to the next stage (after the mastery gate, or an
escalation that moved on) or re-plan with a person's feedback. Strategies without
the Identifier or the Organizer (config `strategy`, pedagogy.strategies) get their
targets from `choose_targets` and, without the Organizer, one unordered stage. It
makes no teacher calls and trains nothing: planning only, from the scores in the state.
"""

from __future__ import annotations

import hashlib
import json

from langgraph.runtime import Runtime

from ioa_agent.pedagogy.identifier import edges_from_list, ratios
from ioa_agent.pedagogy.organizer import apply_zpd, teaching_level, topological_stages
from ioa_agent.pedagogy.plans import apply_feedback, parse_feedback
from ioa_agent.pedagogy.strategies import choose_targets, uses_organizer
from ioa_agent.run import derive_seed
from ioa_agent.state import Context, Curriculum, State


def organize(state: State, runtime: Runtime[Context]) -> State:
    run = runtime.context.open()
    tau = run.config.organizer.tau_mastery
    max_levels = {m.id: m.levels for m in run.store.modules()}
    p_t, p_s = state["p_t"], state["p_s"]
    mastery = ratios(p_s, p_t, max_levels)
    cur = state.get("curriculum")
    review = state.get("review") or {}

    if cur is None or cur["cycle"] != state["cycle"]:
        diag = state["diagnosis"]
        method = run.config.strategy
        seed = derive_seed(run.config.seed, "targets", state["cycle"])
        targets = choose_targets(method, diag["targets"], list(max_levels), seed)
        if uses_organizer(method):
            mastered = {m for m, r in mastery.items() if r >= tau}
            layers = topological_stages(targets, edges_from_list(diag["edges"]), mastered)
            stages = apply_zpd(layers, p_s, run.config.organizer.tau_zpd)
        else:
            stages = [{"modules": targets, "bridge": False}] if targets else []
        cur = Curriculum(cycle=state["cycle"], stages=stages, stage=0, levels={})
        kind = "plan"
    elif review.get("action") == "reject":
        directives = parse_feedback(review.get("feedback", ""), list(max_levels))
        rest, levels = apply_feedback(
            cur["stages"], cur["stage"], cur["levels"], max_levels, directives
        )
        cur = Curriculum(
            cycle=cur["cycle"],
            stages=cur["stages"][: cur["stage"]] + rest,
            stage=cur["stage"],
            levels=levels,
        )
        kind = "replan"
    else:
        cur = Curriculum(**{**cur, "stage": cur["stage"] + 1})
        kind = "advance"

    if kind != "replan" and cur["stage"] < len(cur["stages"]):
        levels = dict(cur["levels"])
        for m in cur["stages"][cur["stage"]]["modules"]:
            by_level = {int(k): v for k, v in state.get("level_ratios", {}).get(m, {}).items()}
            levels[m] = teaching_level(by_level, max_levels[m], tau)
        cur = Curriculum(**{**cur, "levels": levels})

    digest = hashlib.sha256(json.dumps(cur, sort_keys=True).encode()).hexdigest()[:8]
    key = f"organize:{cur['cycle']}:{state.get('round', 0)}:{cur['stage']}:{kind}:{digest}"
    run.store.log_event(key, "organize", kind, {"round": state.get("round", 0), **cur})
    return {"curriculum": cur, "remedial": 0, "review": {}}
