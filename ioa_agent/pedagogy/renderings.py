"""The Adapter's fit to the measured student: which rendering of the material to train on.

The teacher offers each worked solution in several renderings (its own text, the
direct equation, a one-line breakdown, the answer with a one-line reason). Before a
round trains, the round's starting student scores a sample of each with forward passes:
s(A|Q), the mean loss per answer token given the question, and s(A) without it.

The rule (`pick`), in order:

1. Drop a rendering whose IFD = s(A|Q)/s(A) is ≥ `max_ifd` (default 1.0): the question
   does not help the student predict that answer, so it teaches the text, not the skill
   (Li et al., NAACL 2024, filter IFD ≥ 1 the same way).
2. Pick the lowest s(A|Q): the rendering the student is closest to producing from the
   question is the one it learns fastest (measured in `benchmarks/representation.py`).
3. Ties (within `tie` nats) go to the earlier rendering of the candidate order.

If every rendering is dropped by step 1, the lowest s(A|Q) of all is picked. Pure
functions: no model, no teacher, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

RULE = "lowest s(A|Q) among renderings with IFD < 1"


class RenderingScore(TypedDict):
    s_aq: float
    s_a: float
    ifd: float
    n: int


def ifd(s_aq: float, s_a: float) -> float:
    """Instruction-following difficulty s(A|Q)/s(A); infinite when s(A) is 0."""
    return s_aq / s_a if s_a > 0 else float("inf")


def summarize(losses: Sequence[tuple[float, float]]) -> RenderingScore:
    """Mean s(A|Q) and s(A) of a sample, and the IFD of the means."""
    if not losses:
        raise ValueError("no scored samples")
    s_aq = sum(a for a, _ in losses) / len(losses)
    s_a = sum(b for _, b in losses) / len(losses)
    return RenderingScore(s_aq=s_aq, s_a=s_a, ifd=ifd(s_aq, s_a), n=len(losses))


def pick(
    scores: Mapping[str, RenderingScore],
    order: Sequence[str] | None = None,
    max_ifd: float = 1.0,
    tie: float = 1e-9,
) -> str:
    """The rendering to train on, by the rule in the module docstring.

    `order` is the candidate order for ties (default: the mapping's order).
    """
    if not scores:
        raise ValueError("no rendering to pick from")
    names = [n for n in (order or list(scores)) if n in scores]
    kept = [n for n in names if scores[n]["ifd"] < max_ifd] or names
    best = min(scores[n]["s_aq"] for n in kept)
    return next(n for n in kept if scores[n]["s_aq"] <= best + tie)
