"""Review: a person approves, edits or rejects a curriculum step.

The node only interrupts and routes. With `review: required` it pauses before every
step with the proposed plan; when remedial rounds run out it escalates (asks, or
moves on when `organizer.on_escalation: move_on` and approval is off). Code before
`interrupt()` re-runs on resume, so it only reads the state and the store: no
teacher call, no training. Answers: `{"action": "approve"}`, `{"action": "reject",
"feedback": "..."}` (the organizer re-plans with it) or `{"action": "edit", "plan":
{...}}` (validated by pedagogy.plans).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from ioa_agent.nodes.assess import next_decision
from ioa_agent.pedagogy.plans import PlanError, parse_feedback, validate_plan
from ioa_agent.run import Run
from ioa_agent.state import Context, Curriculum, State


def proposal(run: Run, state: State, escalation: bool) -> dict[str, Any]:
    """What the reviewer sees: the stages, the current step and a sample per module."""
    cur = state["curriculum"]
    step = cur["stages"][cur["stage"]]
    samples = []
    for m in step["modules"]:
        level = cur["levels"].get(m, 1)
        examples = [p for p in run.store.items("probe", m) if p.level == level][:1]
        samples += [{"module": m, "level": level, "prompt": p.prompt} for p in examples]
    return {
        "kind": "escalation" if escalation else "plan",
        "cycle": cur["cycle"],
        "round": state.get("round", 0),
        "stage": cur["stage"],
        "stages": cur["stages"],
        "levels": {m: cur["levels"].get(m, 1) for m in step["modules"]},
        "remedial": state.get("remedial", 0),
        "scores": {
            m: [state["p_s"].get(m, 0.0), state["p_t"].get(m, 0.0)] for m in step["modules"]
        },
        "samples": samples,
    }


def apply_answer(run: Run, state: State, answer: Any, escalation: bool) -> State:
    """The state update for a reviewer's answer (validated again here)."""
    if not isinstance(answer, dict) or answer.get("action") not in ("approve", "reject", "edit"):
        raise PlanError("a review answer is approve, reject with feedback, or edit with a plan")
    cur = state["curriculum"]
    action = answer["action"]
    outcome = {"action": action, "escalation": escalation}
    if action == "approve" and escalation:
        outcome["action"] = "move_on"
        return {"review": outcome, "decision": next_decision(run, state, mastered=True)}
    if action == "approve":
        return {"review": outcome, "decision": "adapt"}
    modules = run.store.modules()
    if action == "reject":
        parse_feedback(answer.get("feedback", ""), [m.id for m in modules])
        outcome["feedback"] = answer["feedback"]
        return {"review": outcome, "decision": "organize"}
    max_levels = {m.id: m.levels for m in modules}
    stages, levels = validate_plan(answer.get("plan"), max_levels, state["diagnosis"]["edges"])
    new = Curriculum(
        cycle=cur["cycle"],
        stages=cur["stages"][: cur["stage"]] + stages,
        stage=cur["stage"],
        levels={**cur["levels"], **levels},
    )
    for m in stages[0]["modules"]:
        new["levels"].setdefault(m, 1)
    return {"review": outcome, "curriculum": new, "remedial": 0, "decision": "adapt"}


def review(state: State, runtime: Runtime[Context]) -> State:
    run = runtime.context.open()
    cfg = run.config
    cur = state["curriculum"]
    escalation = state.get("decision") == "review"
    if cur["stage"] >= len(cur["stages"]):
        return {"review": {"action": "approve", "auto": True}, "decision": "end"}
    if not escalation and cfg.review == "off":
        return {"review": {"action": "approve", "auto": True}, "decision": "adapt"}
    if escalation and cfg.review == "off" and cfg.organizer.on_escalation == "move_on":
        outcome = {"action": "move_on", "auto": True, "escalation": True}
        return {"review": outcome, "decision": next_decision(run, state, mastered=True)}
    answer = interrupt(proposal(run, state, escalation))
    update = apply_answer(run, state, answer, escalation)
    n = len(run.store.events("review"))
    run.store.log_event(
        f"review:{cur['cycle']}:{state.get('round', 0)}:{cur['stage']}:{n}",
        "review",
        "review",
        {"answer": answer, "escalation": escalation, "round": state.get("round", 0)},
    )
    return update
