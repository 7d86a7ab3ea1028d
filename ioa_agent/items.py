"""The domain's data types: knowledge modules, items and solutions.

Plain pydantic models that cross every seam (teacher, store, adapter, student data).
They hold text and numbers only, so they serialise to JSON for the run store and the
teacher-call cache. No behaviour lives here beyond a stable content id.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, Field

Strategy = Literal[
    "concretization",
    "decomposition",
    "cognitive_load",
    "step_format",
    "simplification",
]
STRATEGIES: tuple[Strategy, ...] = (
    "concretization",
    "decomposition",
    "cognitive_load",
    "step_format",
    "simplification",
)
Variant = Literal["standard", "remedial", "bridging"]
Rendering = Literal["direct", "breakdown", "reason"]
RENDERINGS: tuple[Rendering, ...] = ("direct", "breakdown", "reason")
"""Short renderings of a worked solution the Adapter may train on instead of the
teacher's own text: the direct equation, a one-line breakdown, the answer with a
one-line reason."""
TEACHER = "teacher"
"""The rendering name of the text as the teacher wrote it (its rewrite, or solution)."""
SELF = "self"
"""The rendering name of the student's own verified answer, trained on verbatim."""


class ModuleSpec(BaseModel):
    """A knowledge module: id `category/name`, with its proposed prerequisites."""

    id: str = Field(pattern=r"^[a-z0-9_]+/[a-z0-9_]+$")
    description: str
    levels: int = Field(ge=1, description="number of difficulty levels, 1..levels")
    prerequisites: list[str] = Field(default_factory=list)


class Solution(BaseModel):
    """A worked solution: step-by-step rationale and the final answer alone."""

    rationale: str
    answer: str


class Item(BaseModel):
    """A question with its gold answer, the unit of probes and training data."""

    module: str
    level: int
    prompt: str
    answer: str
    rationale: str = ""
    strategy: str = ""
    variant: Variant = "standard"
    parent: str = ""
    rendering: str = Field(
        "", description="How the rationale is written: a short rendering, `self`, or '' (teacher)."
    )
    tests: list[str] = Field(
        default_factory=list, description="Code items: assert statements a solution must pass."
    )

    @property
    def id(self) -> str:
        """Content hash of module, level, prompt and answer (stable across runs)."""
        blob = json.dumps([self.module, self.level, self.prompt, self.answer])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def completion(self) -> str:
        """The text the student is trained to produce: rationale, then the answer line.

        A code item's answer is its program, in a fenced block. The student's own
        verified answer (rendering `self`) is its text, verbatim.
        """
        if self.rendering == SELF:
            return self.rationale.strip()
        body = self.rationale.strip()
        tail = (
            f"```python\n{self.answer.strip()}\n```"
            if self.tests
            else f"The answer is {self.answer}."
        )
        return f"{body}\n{tail}" if body else tail
