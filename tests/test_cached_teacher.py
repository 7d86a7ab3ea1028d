"""The teacher-call cache on real SQLite: concurrency, failures, budget, per-node usage."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ioa_agent.items import Solution
from ioa_agent.store import RunStore
from ioa_agent.teacher.base import TeacherFailure, Usage
from ioa_agent.teacher.cached import BudgetSpent, CachedTeacher


class SlowTeacher:
    """A narrow fake of the teacher seam: slow answers, some malformed, usage per thread."""

    model_id = "fake/slow"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        self.local = threading.local()

    def solve(self, prompt: str) -> Solution:
        with self.lock:
            self.calls.append(prompt)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.05)
        with self.lock:
            self.in_flight -= 1
        self.local.usage = Usage(tokens_in=100, tokens_out=len(prompt), faults={"429": 1})
        if prompt.startswith("bad"):
            raise TeacherFailure("solve: answer: field required")
        return Solution(rationale=f"r {prompt}", answer=prompt.upper())

    def usage(self) -> Usage | None:
        return getattr(self.local, "usage", None)


def test_misses_run_concurrently_and_answers_keep_their_order(tmp_path: Path) -> None:
    inner = SlowTeacher()
    teacher = CachedTeacher(inner, RunStore(tmp_path / "s.db"), max_concurrency=4)
    teacher.node = "adapt"
    prompts = [f"q{i}" for i in range(12)] + ["q3"]  # a repeat inside the batch
    out = teacher.solve_many(prompts)
    assert [s.answer for s in out] == [p.upper() for p in prompts]
    assert sorted(inner.calls) == sorted({*prompts})  # the repeat was asked once
    assert 2 <= inner.most_in_flight <= 4


def test_failed_calls_are_recorded_and_not_paid_for_twice(tmp_path: Path) -> None:
    inner = SlowTeacher()
    teacher = CachedTeacher(inner, RunStore(tmp_path / "s.db"), price_in=2.0, price_out=10.0)
    teacher.node = "diagnose"
    assert teacher.solve_many(["ok", "bad one"]) == [
        Solution(rationale="r ok", answer="OK"),
        None,
    ]
    again = CachedTeacher(SlowTeacher(), RunStore(tmp_path / "s.db"))
    again.node = "diagnose"
    assert again.solve_many(["bad one", "ok"])[0] is None
    assert again.inner.calls == []
    assert again.store.teacher_failures() == [
        {
            "task": "solve",
            "request": '{"prompt": "bad one"}',
            "error": "solve: answer: field required",
        }
    ]
    (row,) = again.store.teacher_usage_by_node()
    assert row["calls"] == 2 and row["failed"] == 1 and row["hits"] == 2
    assert row["tokens_in"] == 200 and row["tokens_out"] == len("ok") + len("bad one")
    assert row["cost"] == pytest.approx((200 * 2.0 + 9 * 10.0) / 1e6)
    assert row["faults"] == {"429": 2}


def test_no_call_starts_once_the_budget_is_spent(tmp_path: Path) -> None:
    inner = SlowTeacher()
    teacher = CachedTeacher(inner, RunStore(tmp_path / "s.db"), budget_tokens=250)
    with pytest.raises(BudgetSpent, match="250 tokens"):
        teacher.solve_many([f"q{i}" for i in range(10)])
    # 102 tokens a call: the third call starts at 204 < 250, the fourth would start at 306
    assert len(inner.calls) == 3
    assert teacher.spent_tokens() == 306
    # cached answers still come back after the budget is spent
    assert teacher.solve("q0").answer == "Q0"


def test_an_unreachable_teacher_stops_the_batch_after_saving_what_it_paid_for(
    tmp_path: Path,
) -> None:
    class Flaky(SlowTeacher):
        def solve(self, prompt: str) -> Solution:
            if prompt == "q2":
                raise ConnectionError("endpoint down")
            return super().solve(prompt)

    teacher = CachedTeacher(Flaky(), RunStore(tmp_path / "s.db"), max_concurrency=4)
    with pytest.raises(ConnectionError):
        teacher.solve_many(["q0", "q1", "q2", "q3"])
    again = CachedTeacher(SlowTeacher(), RunStore(tmp_path / "s.db"), max_concurrency=4)
    again.solve_many(["q0", "q1", "q2", "q3"])
    assert again.inner.calls == ["q2"]
