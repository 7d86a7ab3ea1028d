"""The run store and the teacher-call cache, on real SQLite."""

from __future__ import annotations

from pathlib import Path

from ioa_agent.items import Item, ModuleSpec, Solution
from ioa_agent.store import RunStore
from ioa_agent.teacher.cached import CachedTeacher, request_key


class CountingTeacher:
    """A narrow fake for the cache seam: answers deterministically, counts calls."""

    model_id = "fake/teacher"

    def __init__(self) -> None:
        self.calls = 0

    def solve(self, prompt: str) -> Solution:
        self.calls += 1
        return Solution(rationale=f"read {prompt}", answer=str(len(prompt)))

    def write_items(self, module: ModuleSpec, level: int, n: int, seed: int) -> list[Item]:
        self.calls += 1
        return [
            Item(module=module.id, level=level, prompt=f"q{seed}-{i}", answer=str(i))
            for i in range(n)
        ]


MOD = ModuleSpec(id="a/add", description="adding", levels=4, prerequisites=[])


def test_cache_hits_survive_reopening(tmp_path: Path) -> None:
    inner = CountingTeacher()
    teacher = CachedTeacher(inner, RunStore(tmp_path / "s.db"))
    assert teacher.solve("2+2").answer == "3"
    assert teacher.solve("2+2").answer == "3"
    items = teacher.write_items(MOD, 2, 3, seed=5)
    assert [i.prompt for i in items] == ["q5-0", "q5-1", "q5-2"]
    assert inner.calls == 2 and teacher.hits == 1

    # a new process: a fresh store object on the same file
    inner2 = CountingTeacher()
    again = CachedTeacher(inner2, RunStore(tmp_path / "s.db"))
    assert again.write_items(MOD, 2, 3, seed=5) == items
    assert again.solve("2+2") == Solution(rationale="read 2+2", answer="3")
    assert inner2.calls == 0
    assert again.write_items(MOD, 2, 3, seed=6)[0].prompt == "q6-0"
    usage = again.store.teacher_usage()
    assert usage == {
        "calls": 3,
        "distinct": 3,
        "tokens_in": usage["tokens_in"],
        "tokens_out": usage["tokens_out"],
    }
    assert usage["tokens_in"] > 0 and usage["tokens_out"] > 0


def test_request_key_depends_on_everything() -> None:
    k = request_key("m", "solve", {"prompt": "x"})
    assert k == request_key("m", "solve", {"prompt": "x"})
    assert k != request_key("m2", "solve", {"prompt": "x"})
    assert k != request_key("m", "rewrite", {"prompt": "x"})
    assert k != request_key("m", "solve", {"prompt": "y"})


def test_items_upsert_no_duplicates(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "s.db")
    store.save_modules([MOD])
    items = [Item(module="a/add", level=1, prompt=f"{i} + 1", answer=str(i + 1)) for i in range(4)]
    store.save_items(items, "train", 1, "t")
    store.save_items(items, "train", 1, "t")  # a node re-run after a crash
    assert store.items("train") == items
    store.save_items(items[:1], "train", 2, "t")
    assert len(store.items("train")) == 5
    assert len(store.items("train", before_round=2)) == 4
    assert store.modules() == [MOD]


def test_events_are_idempotent_and_ordered(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "s.db")
    store.log_event("a:1", "assess", "gate", {"x": 1})
    store.log_event("b:1", "adapt", "data", {"y": 2})
    store.log_event("a:1", "assess", "gate", {"x": 3})
    assert [(e["key"], e["payload"]) for e in store.events()] == [
        ("a:1", {"x": 3}),
        ("b:1", {"y": 2}),
    ]
    assert [e["key"] for e in store.events("data")] == ["b:1"]


def test_a_teacher_call_is_stored_whole_or_not_at_all(tmp_path: Path) -> None:
    """The answer and its bill commit together: a write that fails (a full disk) leaves
    neither, so a resumed run neither reuses an unbilled answer nor pays twice."""
    import sqlite3

    import pytest

    from ioa_agent.teacher.cached import TeacherCall

    store = RunStore(tmp_path / "store.db")
    store.db.execute(
        "create trigger full before insert on teacher_calls "
        "begin select raise(abort, 'database or disk is full'); end"
    )
    call = TeacherCall(response={"a": 1}, error=None, node="adapt", tokens_in=3, tokens_out=4)
    with pytest.raises(sqlite3.DatabaseError, match="disk is full"):
        store.cache_put("k", "solve", {"q": 1}, call)
    assert store.cache_get("k") is None
    store.db.execute("drop trigger full")
    store.cache_put("k", "solve", {"q": 1}, call)
    assert store.cache_get("k") is not None and store.teacher_usage()["calls"] == 1
