"""Reading and answering a run's pending review step: one path for the CLI and the web.

`pending` reads the step a paused run waits on (the LangChain HITL payload of
nodes/review.py, plus the checkpoint it belongs to). `make_decision` turns a
person's choice (approve, reject with feedback, edit with a YAML/JSON plan) into a
HITL decision, checked by the same validation the review node applies, before
anything of the run is touched. `answer` resumes the run with it under the run's
lock, refusing a stale answer. No printing and no argument parsing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from ioa_agent.drive import advance, snapshot
from ioa_agent.organizer.plan_edits import PlanError, parse_feedback, validate_plan
from ioa_agent.run import Run


@dataclass
class Pending:
    """A step waiting for review: the payload, its proposal and its checkpoint."""

    run_id: str
    checkpoint: str
    request: dict[str, Any]
    values: dict[str, Any]

    @property
    def proposal(self) -> dict[str, Any]:
        return self.request["action_requests"][0]["args"]

    @property
    def description(self) -> str:
        return str(self.request["action_requests"][0].get("description", ""))


def pending(run: Run) -> Pending | None:
    """The step `run` waits on, or None when it is not paused at review."""
    snap = snapshot(run)
    if snap.interrupt is None:
        return None
    return Pending(run.id, snap.checkpoint, snap.interrupt, snap.values)


def parse_plan_text(text: str, source: str = "the plan") -> Any:
    """A plan from YAML (or JSON) text; PlanError with the parser's first line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlanError(f"{source} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from exc


def make_decision(
    run: Run,
    step: Pending,
    action: str,
    feedback: str | None = None,
    plan: Any = None,
) -> dict[str, Any]:
    """A validated HITL decision for `step`: PlanError says what to fix."""
    from ioa_agent.nodes.review import ACTION

    modules = run.store.modules()
    if action == "approve":
        return {"type": "approve"}
    if action == "reject":
        parse_feedback(feedback or "", [m.id for m in modules])
        return {"type": "reject", "message": feedback}
    if action == "edit":
        if isinstance(plan, str):
            plan = parse_plan_text(plan)
        from ioa_agent.nodes.organize import run_skill_edges

        cur = step.values["curriculum"]
        edges = run_skill_edges(run, step.values)
        validate_plan(plan, {m.id: m.levels for m in modules}, edges, cur.get("passed", []))
        return {"type": "edit", "edited_action": {"name": ACTION, "args": {"plan": plan}}}
    raise PlanError(f"unknown review action {action!r}: approve, reject or edit")


def answer(
    run: Run,
    checkpoint: str,
    decision: dict[str, Any],
    on_update: Callable[[str, dict[str, Any]], None] | None = None,
) -> Any:
    """Resume `run` with `decision` for the step pending at `checkpoint`.

    Raises lock.StaleAnswer when that step was already answered, lock.RunBusy when
    another process advances the run. Returns drive's Outcome.
    """
    return advance(
        run, resume={"decisions": [decision]}, on_update=on_update, checkpoint=checkpoint
    )
