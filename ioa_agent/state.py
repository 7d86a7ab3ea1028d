"""The graph state and the per-run context handed to every node.

`State` is what LangGraph checkpoints after every node: JSON-plain values only (ids,
scores, the curriculum, counters, artifact paths and hashes), bounded by the number
of modules, never by the amount of data. Items, assessments and adapters live in the
run store and the run directory. `Context` is not checkpointed: it only tells nodes
where the run lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

if TYPE_CHECKING:
    from ioa_agent.run import Run

Decision = Literal["organize", "adapt", "review", "diagnose", "end"]
"""Where the graph goes next; set by assess and review, read by the routers."""


class Stage(TypedDict, total=False):
    skills: list[str]  # skill ids `category/name@level` (organizer.skills)
    bridge: bool
    again: bool  # skills that passed the gate, fell below it, and are taught again
    skipped: bool  # at the gate already when the curriculum reached it: not taught


class Curriculum(TypedDict):
    cycle: int
    stages: list[Stage]
    stage: int
    passed: list[str]  # skills that passed the gate this cycle (re-checked every round)


class Artifact(TypedDict):
    path: str
    sha256: str


class ReviewOutcome(TypedDict, total=False):
    action: Literal["approve", "reject", "edit", "move_on"]
    feedback: str
    auto: bool
    escalation: bool


class State(TypedDict, total=False):
    cycle: int
    round: int
    remedial: int
    p_t: dict[str, float]
    p_s: dict[str, float]
    level_ratios: dict[str, dict[str, float]]
    diagnosis: dict
    curriculum: Curriculum
    review: ReviewOutcome
    data: Artifact
    adapter: Artifact
    decision: Decision


@dataclass(frozen=True)
class Context:
    """Where the run lives; nodes open the config and store from here."""

    run_dir: str

    def open(self) -> Run:
        from ioa_agent.run import open_run

        return open_run(Path(self.run_dir))


class OldRun(ValueError):
    """A run checkpointed by an older ioa whose state this version cannot continue."""


def check_shape(run_id: str, values: dict) -> None:
    """OldRun when the checkpointed curriculum is not of skills (an older version's)."""
    cur = values.get("curriculum")
    if cur and any("skills" not in stage for stage in cur.get("stages", [])):
        raise OldRun(
            f"run {run_id} was planned by an older ioa (its stages list modules, not "
            "skills) and cannot be resumed: start a new run from its config.yaml"
        )
