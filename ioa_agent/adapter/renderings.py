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

If every rendering is dropped by step 1, the lowest s(A|Q) of all is picked.

A candidate rule (`ANSWER_RULE`, `pick(..., key="s_ans")`) ranks by s(ans|Q) instead:
the loss on the tokens where the completion states the answer, so that a student that
already knows a format is judged on the answer and not on the format's easy tokens.
The learnability p(1−p) of those tokens is recorded beside it. The runs keep `RULE`
unless `benchmarks/representation.py` shows the candidate's pick training better.
Pure functions: no model, no teacher, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypedDict

RULE = "lowest s(A|Q) among renderings with IFD < 1"
ANSWER_RULE = "lowest s(ans|Q), the answer's own tokens, among renderings with IFD < 1"


class RenderingScore(TypedDict, total=False):
    s_aq: float
    s_a: float
    ifd: float
    n: int
    s_ans: float  # mean loss on the answer's own tokens (when golds were given)
    learnability: float  # mean p(1-p), p the probability of those tokens


def ifd(s_aq: float, s_a: float) -> float:
    """Instruction-following difficulty s(A|Q)/s(A); infinite when s(A) is 0."""
    return s_aq / s_a if s_a > 0 else float("inf")


def summarize(
    losses: Sequence[tuple[float, float]],
    answers: Sequence[tuple[float, float] | None] = (),
) -> RenderingScore:
    """Mean s(A|Q) and s(A) of a sample, and the IFD of the means; with `answers`
    ((s(ans|Q), p) per item, None where the answer was not found), their means too."""
    if not losses:
        raise ValueError("no scored samples")
    s_aq = sum(a for a, _ in losses) / len(losses)
    s_a = sum(b for _, b in losses) / len(losses)
    out = RenderingScore(s_aq=s_aq, s_a=s_a, ifd=ifd(s_aq, s_a), n=len(losses))
    found = [x for x in answers if x is not None]
    if found:
        out["s_ans"] = sum(x[0] for x in found) / len(found)
        out["learnability"] = sum(p * (1 - p) for _, p in found) / len(found)
    return out


def pick(
    scores: Mapping[str, RenderingScore],
    order: Sequence[str] | None = None,
    max_ifd: float = 1.0,
    tie: float = 1e-9,
    key: Literal["s_aq", "s_ans"] = "s_aq",
) -> str:
    """The rendering to train on, by the rule in the module docstring (`key` "s_ans":
    the candidate rule; renderings without an answer score are then left out).

    `order` is the candidate order for ties (default: the mapping's order).
    """
    names = [n for n in (order or list(scores)) if n in scores and key in scores[n]]
    if not names:
        raise ValueError(f"no rendering with {key} to pick from")
    kept = [n for n in names if scores[n]["ifd"] < max_ifd] or names
    best = min(scores[n][key] for n in kept)
    return next(n for n in kept if scores[n][key] <= best + tie)
