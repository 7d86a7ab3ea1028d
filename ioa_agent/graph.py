"""The IOA state machine, wired as docs/design.md draws it.

    diagnose → organize → review → adapt → train → assess
    assess ─┬─ stage mastered, more stages → organize
            ├─ not mastered, remedial left → adapt
            ├─ not mastered, remedial used up → review
            ├─ curriculum done, gaps remain → diagnose
            └─ done / budget spent → END

Review routes to adapt (approved or edited), back to organize (rejected with
feedback, or an escalation that moved on to the next stage), to diagnose or to END
(an escalation that finished the curriculum). This module only wires nodes; the
decisions are made in the nodes and stored in `state["decision"]`.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from ioa_agent.nodes.adapt import adapt
from ioa_agent.nodes.assess import assess
from ioa_agent.nodes.diagnose import diagnose
from ioa_agent.nodes.organize import organize
from ioa_agent.nodes.review import review
from ioa_agent.nodes.train import train
from ioa_agent.state import Context, State


def after_assess(state: State) -> Literal["organize", "adapt", "review", "diagnose", "__end__"]:
    decision = state["decision"]
    return END if decision == "end" else decision


def after_review(state: State) -> Literal["adapt", "organize", "diagnose", "__end__"]:
    decision = state["decision"]
    return END if decision == "end" else decision


def build_graph() -> StateGraph:
    builder = StateGraph(State, context_schema=Context)
    builder.add_node("diagnose", diagnose)
    builder.add_node("organize", organize)
    builder.add_node("review", review)
    builder.add_node("adapt", adapt)
    builder.add_node("train", train)
    builder.add_node("assess", assess)

    builder.add_edge(START, "diagnose")
    builder.add_edge("diagnose", "organize")
    builder.add_edge("organize", "review")
    builder.add_conditional_edges("review", after_review)
    builder.add_edge("adapt", "train")
    builder.add_edge("train", "assess")
    builder.add_conditional_edges("assess", after_assess)
    return builder


graph: CompiledStateGraph = build_graph().compile()
"""Compiled without a checkpointer, for `langgraph.json`; runs use drive.py."""
