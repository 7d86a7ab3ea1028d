"""The wiring: the diagram of docs/design.md, typed routers, and a current Mermaid file."""

from pathlib import Path

import pytest

from ioa_agent.graph import after_assess, after_review, build_graph

ROOT = Path(__file__).resolve().parents[1]


def edges() -> set[tuple[str, str]]:
    g = build_graph().compile().get_graph()
    return {(e.source, e.target) for e in g.edges}


def test_wired_as_designed() -> None:
    assert edges() == {
        ("__start__", "diagnose"),
        ("diagnose", "organize"),
        ("organize", "review"),
        ("review", "adapt"),
        ("review", "organize"),
        ("review", "diagnose"),
        ("review", "__end__"),
        ("adapt", "train"),
        ("train", "assess"),
        ("assess", "organize"),
        ("assess", "adapt"),
        ("assess", "review"),
        ("assess", "diagnose"),
        ("assess", "__end__"),
    }


@pytest.mark.parametrize(
    ("decision", "node"),
    [
        ("organize", "organize"),  # stage mastered, more stages
        ("adapt", "adapt"),  # not mastered, remedial left
        ("review", "review"),  # not mastered, remedial used up
        ("diagnose", "diagnose"),  # curriculum done, gaps remain
        ("end", "__end__"),  # done or budget spent
    ],
)
def test_after_assess(decision: str, node: str) -> None:
    assert after_assess({"decision": decision}) == node


@pytest.mark.parametrize(
    ("decision", "node"),
    [("adapt", "adapt"), ("organize", "organize"), ("diagnose", "diagnose"), ("end", "__end__")],
)
def test_after_review(decision: str, node: str) -> None:
    assert after_review({"decision": decision}) == node


def test_mermaid_is_current() -> None:
    current = build_graph().compile().get_graph().draw_mermaid()
    committed = (ROOT / "graph" / "graph.mmd").read_text()
    assert committed == current, "run `ioa graph` to regenerate graph/graph.mmd"
