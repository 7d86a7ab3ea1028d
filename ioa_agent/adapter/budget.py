"""The Adapter's teacher-token budget: each round's share, and what it keeps back.

A run's `teacher.budget_tokens` is split evenly over the rounds left
(`pedagogy.strategies.round_allowance`; `share_end` is the spent-token mark where the
round's share ends). Writing is judged a teacher batch at a time against the share,
keeping back what rendering and self-replay will cost (`budget_guard`, from this run's
earlier rounds: `phase_costs`); self-replay then asks only the questions the rest of
the share pays for (`replay_questions`). A step cut short or skipped is a `budget`
event and a line of output (`skipped`). The hard limit is the teacher's own
(`BudgetSpent`). This module writes no items and calls no teacher.
"""

from __future__ import annotations

from collections.abc import Callable

from ioa_agent.adapter.fitting import fits
from ioa_agent.display import console
from ioa_agent.pedagogy.strategies import round_allowance
from ioa_agent.run import Run

RENDER_ESTIMATE = 0.5
"""Before a run has rendered anything: rendering an item costs about this share of
writing it (measured on the built-in teacher: ~45%)."""


PHASES = ("writing", "rendering", "self_replay")


def phase_costs(run: Run) -> dict[str, float]:
    """Teacher tokens per rendered item and per round of self-replay, as measured in
    this run's earlier rounds (the adapt events); empty before the first round."""
    events = [e["payload"] for e in run.store.events("data")]
    rendered = sum(e.get("rendered", 0) for e in events)
    tokens = {k: sum(e.get("tokens", {}).get(k, 0) for e in events) for k in PHASES}
    out: dict[str, float] = {}
    if rendered:
        out["render_per_item"] = tokens["rendering"] / rendered
    if events:
        out["self_replay"] = tokens["self_replay"] / len(events)
    return out


def budget_guard(run: Run, rnd: int) -> Callable[..., bool]:
    """A check, given the count of items written so far and of those the next teacher
    batch would write, that is true once this round's writing, that batch, and what
    rendering and self-replay will cost would pass its share (a batch can be a large
    part of a share, so it is judged before it is paid for).

    The share is an even split of what is left over the rounds left
    (pedagogy.strategies.round_allowance). When the round's items are then written in
    the rendering the student picks (fitting) and asked about in self-replay, their
    cost is reserved out of the share: tokens per rendered item times the items
    written, plus a round of self-replay, as measured in this run's earlier rounds
    (`phase_costs`); before any, rendering is estimated at `RENDER_ESTIMATE` of an
    item's writing cost and self-replay at its questions times that cost over J.
    Without a budget it is never true. The hard limit is the teacher's own
    (`BudgetSpent`).
    """
    start = run.teacher.spent_tokens()
    end = share_end(run, rnd)
    if end is None:
        return lambda made, upcoming=0: False
    allowance = end - start
    reserve = fits(run.config)
    measured = phase_costs(run) if reserve else {}
    cfg = run.config.adapter

    def spent(made: int, upcoming: int = 0) -> bool:
        writing = run.teacher.spent_tokens() - start
        if made == 0:
            return writing >= allowance
        per_item = writing / made
        if not reserve:
            return writing + per_item * upcoming >= allowance
        render = measured.get("render_per_item", RENDER_ESTIMATE * per_item)
        own = measured.get("self_replay", cfg.self_replay_questions * per_item / cfg.j)
        total = made + upcoming
        return writing + per_item * upcoming + render * total + own >= allowance

    return spent


def share_end(run: Run, rnd: int) -> int | None:
    """The spent-token mark where this round's share of the budget ends (an even split
    of what is left over the rounds left); None without a budget."""
    spent = run.teacher.spent_tokens()
    rounds_left = run.config.max_rounds - rnd + 1
    allowance = round_allowance(run.config.teacher.budget_tokens, spent, rounds_left)
    return None if allowance is None else spent + allowance


def replay_questions(run: Run, rnd: int, end: int | None) -> int:
    """Self-replay questions the round can pay for: `adapter.self_replay_questions`, or
    fewer when writing them would pass the round's share `end`, at the tokens per item
    the teacher's `write_items` calls have cost in this run so far. A cut is logged."""
    want = run.config.adapter.self_replay_questions
    per_item = run.store.tokens_per_written_item()
    if end is None or per_item is None:
        return want
    n = min(want, int(max(0, end - run.teacher.spent_tokens()) // per_item))
    if n < want:
        skipped(run, rnd, "self_replay", f"asks {n} of {want} questions")
    return n


def skipped(run: Run, rnd: int, step: str, detail: str) -> None:
    """A step skipped or cut short for budget: an event in the store and a line out."""
    budget = run.config.teacher.budget_tokens
    payload = {"round": rnd, "step": step, "detail": detail, "spent": run.teacher.spent_tokens()}
    run.store.log_event(f"budget:{rnd}:{step}", "adapt", "budget", {**payload, "budget": budget})
    console.print(f"round {rnd}: {step} {detail} (teacher-token budget)", markup=False)
