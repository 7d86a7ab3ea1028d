"""Review: a person approves, edits or rejects a curriculum step.

The node only interrupts and routes. With `review: required` it pauses before every
step with the proposed plan; when remedial rounds run out it escalates (asks, or
moves on when `organizer.on_escalation: move_on` and approval is off). Code before
`interrupt()` re-runs on resume, so it only reads the state and the store: no
teacher call, no training.

The interrupt payload has the shape of LangChain's human-in-the-loop middleware, so
any inbox that reads that shape can show a step: `{"action_requests": [{"name":
"curriculum_step", "args": <proposal>, "description": ...}], "review_configs":
[{"action_name": "curriculum_step", "allowed_decisions": ["approve", "edit",
"reject"]}]}`. It is answered with `{"decisions": [<decision>]}`, a decision being
`{"type": "approve"}`, `{"type": "reject", "message": "..."}` (feedback: the
organizer re-plans with it) or `{"type": "edit", "edited_action": {"name":
"curriculum_step", "args": {"plan": {...}}}}` (validated by organizer.plan_edits).
review_answers.py reads and answers it for the CLI and the web page.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from ioa_agent.nodes.assess import next_decision
from ioa_agent.nodes.organize import run_skill_edges
from ioa_agent.organizer.plan_edits import PlanError, parse_feedback, validate_plan
from ioa_agent.organizer.skills import parse_skill, skill_ratios, stage_modules
from ioa_agent.run import Run
from ioa_agent.state import Context, Curriculum, State

ACTION = "curriculum_step"
DECISIONS = ["approve", "edit", "reject"]


def renderings(run: Run, modules: list[str]) -> list[dict[str, Any]]:
    """The Adapter's last recorded rendering choice for `modules`, one row per rendering.

    Empty when the Adapter records none (events of kind "renderings").
    """
    events = run.store.events("renderings")
    if not events:
        return []
    last = events[-1]["payload"]
    rows = []
    for g in last.get("groups", []):
        if g.get("module") not in modules:
            continue
        for name, sc in sorted(g.get("scores", {}).items()):
            rows.append(
                {
                    "round": last.get("round"),
                    "module": g["module"],
                    "level": g.get("level"),
                    "rendering": name,
                    "picked": "yes" if name == g.get("picked") else "",
                    **{k: sc.get(k) for k in ("s_aq", "s_a", "ifd", "n")},
                }
            )
    return rows


def proposal(run: Run, state: State, escalation: bool) -> dict[str, Any]:
    """What the reviewer sees: the stages of skills, the current step with each skill's
    score and probe count, and a sample probe per skill."""
    cur = state["curriculum"]
    step = cur["stages"][cur["stage"]]
    scores = skill_ratios(state.get("level_ratios", {}))
    probes = run.store.items("probe")
    skills = []
    for s in step["skills"]:
        m, lv = parse_skill(s)
        mine = [p for p in probes if p.module == m and p.level == lv]
        skills.append(
            {
                "skill": s,
                "ratio": scores.get(s),
                "probes": len(mine),
                "sample": mine[0].prompt if mine else "",
            }
        )
    return {
        "kind": "escalation" if escalation else "plan",
        "cycle": cur["cycle"],
        "round": state.get("round", 0),
        "stage": cur["stage"],
        "stages": cur["stages"],
        "passed": cur.get("passed", []),
        "remedial": state.get("remedial", 0),
        "skills": skills,
        "tau_mastery": run.config.organizer.tau_mastery,
        "renderings": renderings(run, stage_modules(step)),
        "plan": {"stages": [dict(s) for s in cur["stages"][cur["stage"] :]]},
    }


def request(args: dict[str, Any]) -> dict[str, Any]:
    """The interrupt payload (LangChain HITL shape) for one proposed step."""
    what = "remedial rounds used up" if args["kind"] == "escalation" else "next curriculum step"
    stage = ", ".join(args["stages"][args["stage"]]["skills"])
    return {
        "action_requests": [
            {
                "name": ACTION,
                "args": args,
                "description": f"{what}: stage {args['stage'] + 1} [{stage}]",
            }
        ],
        "review_configs": [{"action_name": ACTION, "allowed_decisions": list(DECISIONS)}],
    }


def answer_of(resume: Any) -> dict[str, Any]:
    """The internal answer (`action`, `feedback`, `plan`) from a HITL response."""
    decisions = resume.get("decisions") if isinstance(resume, dict) else None
    if not isinstance(decisions, list) or len(decisions) != 1 or not isinstance(decisions[0], dict):
        raise PlanError('a review answer is {"decisions": [one decision]}')
    d = decisions[0]
    if d.get("type") == "approve":
        return {"action": "approve"}
    if d.get("type") == "reject":
        return {"action": "reject", "feedback": str(d.get("message") or "")}
    if d.get("type") == "edit":
        edited = d.get("edited_action")
        args = edited.get("args") if isinstance(edited, dict) else None
        if not isinstance(args, dict) or "plan" not in args:
            raise PlanError('an edit decision carries {"edited_action": {"args": {"plan": ...}}}')
        return {"action": "edit", "plan": args["plan"]}
    raise PlanError(f"a decision's type is one of {', '.join(DECISIONS)}")


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
    edges = run_skill_edges(run, state)
    stages = validate_plan(answer.get("plan"), max_levels, edges, cur.get("passed", []))
    new = Curriculum(**{**cur, "stages": cur["stages"][: cur["stage"]] + stages})
    return {"review": outcome, "curriculum": new, "remedial": 0, "decision": "adapt"}


def review(state: State, runtime: Runtime[Context]) -> State:
    with runtime.context.open() as run:
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
        answer = answer_of(interrupt(request(proposal(run, state, escalation))))
        update = apply_answer(run, state, answer, escalation)
        n = len(run.store.events("review"))
        run.store.log_event(
            f"review:{cur['cycle']}:{state.get('round', 0)}:{cur['stage']}:{n}",
            "review",
            "review",
            {"answer": answer, "escalation": escalation, "round": state.get("round", 0)},
        )
        return update
