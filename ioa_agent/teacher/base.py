"""The Teacher seam: what the graph asks of any teacher.

Every teacher (the built-in exact arithmetic teacher, an LLM behind an
OpenAI-compatible endpoint) implements this protocol. Each method is one teacher
task; requests and answers are JSON-plain so the run store can cache them. A teacher
that cannot produce a valid answer raises `TeacherFailure` with the reason (the
caller records it as a failed item and goes on); any other exception means the
teacher is unreachable and stops the run (it resumes from the cache). This module
holds no implementation and does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ioa_agent.items import Item, ModuleSpec, Solution, Strategy, Variant


class TeacherFailure(Exception):
    """The teacher's answer stayed malformed (invalid JSON, wrong schema, empty)."""


class TeacherUnreachable(RuntimeError):
    """The endpoint did not answer, or refused the request; the message says what to fix."""


@dataclass
class Usage:
    """What one teacher call cost: tokens, attempts, and the faults that were retried."""

    tokens_in: int = 0
    tokens_out: int = 0
    attempts: int = 1
    faults: dict[str, int] = field(default_factory=dict)


class Teacher(Protocol):
    """A teacher that decomposes a domain, writes, solves and rewrites items."""

    model_id: str

    def decompose(self, domain: str, examples: list[str] | None = None) -> list[ModuleSpec]:
        """Knowledge modules of the domain with their proposed prerequisites.

        `examples` are a few seed questions of the domain (empty for a built-in one).
        """
        ...

    def classify(self, prompt: str, modules: list[ModuleSpec], levels: int) -> tuple[str, int]:
        """The module of `modules` a seed question belongs to, and its level 1..levels."""
        ...

    def write_items(
        self, module: ModuleSpec, level: int, n: int, seed: int, held_out: bool = False
    ) -> list[Item]:
        """`n` new items of `module` at `level`, each with a gold answer.

        Deterministic for a given seed: the same request gives the same items. With
        `held_out` they are probes: a teacher that sets aside part of its item space
        for probes (the built-in arithmetic teacher) draws them from there, and its
        training items never do; the probe filter of the Adapter guards the rest.
        """
        ...

    def synthesize(self, seed_item: Item, level: int, n: int, seed: int) -> list[Item]:
        """`n` new items like `seed_item` (same module and skill) at `level` (Eq. 1)."""
        ...

    def solve(self, prompt: str) -> Solution:
        """Solve a question from its text alone, with a step-by-step rationale."""
        ...

    def rewrite(self, item: Item, strategies: list[Strategy], variant: Variant) -> Item:
        """Rewrite a solved item to the student's capacity.

        `strategies` are among the five of docs/design.md; `variant` "remedial" makes it
        simpler and narrows it to the weak sub-skill, "bridging" one notch harder.
        The returned item's `answer` is the teacher's claim; the adapter verifies it.
        """
        ...

    def render(self, item: Item) -> dict[str, str]:
        """The solved item's solution in each short rendering of `items.RENDERINGS`.

        Keys are rendering names, values the rationale alone (the answer line is added
        by `Item.completion`); each must reach `item.answer`, which the Adapter checks.
        """
        ...

    def judge(self, question: str, reference: str, answer: str) -> bool:
        """Does `answer` say what `reference` says, for an open-ended question."""
        ...
