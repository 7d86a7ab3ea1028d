"""The Teacher seam: what the graph asks of any teacher.

Every teacher (the built-in exact arithmetic teacher, an LLM behind an
OpenAI-compatible endpoint) implements this protocol. Each method is one teacher
task; requests and answers are JSON-plain so the run store can cache them. This
module holds no implementation and does no I/O.
"""

from __future__ import annotations

from typing import Protocol

from ioa_agent.items import Item, ModuleSpec, Solution, Strategy, Variant


class Teacher(Protocol):
    """A teacher that decomposes a domain, writes, solves and rewrites items."""

    model_id: str

    def decompose(self, domain: str) -> list[ModuleSpec]:
        """Knowledge modules of the domain with their proposed prerequisites."""
        ...

    def write_items(self, module: ModuleSpec, level: int, n: int, seed: int) -> list[Item]:
        """`n` new items of `module` at `level`, each with a gold answer.

        Deterministic for a given seed: the same request gives the same items.
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

        `strategies` are among the five of DESIGN.md; `variant` "remedial" makes it
        simpler and narrows it to the weak sub-skill, "bridging" one notch harder.
        The returned item's `answer` is the teacher's claim; the adapter verifies it.
        """
        ...
