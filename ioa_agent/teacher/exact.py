"""The exact arithmetic teacher: a Teacher that needs no model and is always right.

It implements the `Teacher` protocol for the built-in arithmetic domain by delegating
to `ioa_agent.domains.arithmetic`: modules with prerequisites, deterministic problem
writing and synthesis, solving from the problem text alone, and rewriting with the
Adapter's strategies. It makes no network calls and keeps no state, so it serves
offline runs, tests and the demo. It does not know any other domain.
"""

from __future__ import annotations

from ioa_agent.domains import arithmetic
from ioa_agent.items import Item, ModuleSpec, Solution, Strategy, Variant


class ArithmeticTeacher:
    """Teacher of the built-in arithmetic domain, computed exactly."""

    model_id = "builtin/arithmetic-exact"

    def decompose(self, domain: str, examples: list[str] | None = None) -> list[ModuleSpec]:
        if domain != arithmetic.DOMAIN:
            raise ValueError(
                f"the exact teacher only knows the {arithmetic.DOMAIN!r} domain, "
                f"not {domain!r}; use an LLM teacher for other domains"
            )
        return [m.model_copy(deep=True) for m in arithmetic.MODULES]

    def classify(self, prompt: str, modules: list[ModuleSpec], levels: int) -> tuple[str, int]:
        raise ValueError("built-in items carry their module; only seed data needs classifying")

    def write_items(
        self, module: ModuleSpec, level: int, n: int, seed: int, held_out: bool = False
    ) -> list[Item]:
        return arithmetic.write_items(module.id, level, n, seed, probes=held_out)

    def synthesize(self, seed_item: Item, level: int, n: int, seed: int) -> list[Item]:
        return arithmetic.synthesize(seed_item, level, n, seed)

    def solve(self, prompt: str) -> Solution:
        return arithmetic.solve(prompt)

    def rewrite(self, item: Item, strategies: list[Strategy], variant: Variant) -> Item:
        return arithmetic.rewrite(item, strategies, variant)

    def render(self, item: Item) -> dict[str, str]:
        return arithmetic.render_item(item)

    def judge(self, question: str, reference: str, answer: str) -> bool:
        raise ValueError("arithmetic answers are numbers, checked exactly; nothing to judge")
