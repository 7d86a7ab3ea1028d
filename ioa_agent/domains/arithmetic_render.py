"""Rationales of worked arithmetic: the styles a `Work` is written in.

`render` writes a `Work` in the style the Adapter's strategies ask for (plain, step
format, decomposition stages, an opening concrete example); `render_short` writes it
in one of the Adapter's short renderings (the direct equation, a one-line breakdown,
the answer with a one-line reason), spaced the way the student writes equations itself
("81 + 6 = 87"). This module builds no `Work` (arithmetic_work does) and does not
parse text or know about modules and items.
"""

from __future__ import annotations

from collections.abc import Collection

from ioa_agent.domains.arithmetic_work import Work

ANALOGIES: dict[str, tuple[str, ...]] = {
    "add": ("Like 3 apples + 2 apples = 5 apples.", "Like 4 red + 3 blue beads = 7 beads."),
    "sub": ("Like 5 birds, 2 fly off, 3 stay.", "Like 8 cookies, eat 3, 5 left."),
    "mul": ("Like 3 bags of 4 apples: 4+4+4=12.", "Like 2 rows of 5 chairs: 10 chairs."),
    "div": ("Like 12 cookies for 3 kids: 4 each.", "Like 10 socks in pairs: 5 pairs."),
    "rem": ("Like 7 cookies for 2 kids: 3 each, 1 left.", "Like 10 eggs in 4s: 2 boxes, 2 left."),
    "frac": ("Like 1 quarter + 2 quarters = 3 quarters.", "Like half a cake = 2 quarters."),
    "pct": ("Like 50% of 10 candies: half, 5.", "Like 10% of 30 cards: 3 cards."),
    "money": ("Like $5 off a $20 toy: pay $15.", "Like paying $10 for $7: $3 change."),
}


def render(work: Work, strategies: Collection[str] = (), analogy: int = 0) -> str:
    """The rationale for `work` in the style `strategies` ask for.

    Plain: "47+38: 7+8=15, carry 1; 4+3+1=8. So 85."
    "step_format": "Step 1: <relation>. Step 2: <step>. ..."
    "decomposition": "Facts: .. Relation: .. Equation: .. Solve: .. Check: .."; its five
    labelled stages are already one consistent step format, so "step_format" adds no
    numbering to them (numbers would cost the student tokens it does not have).
    "concretization" opens with a tiny concrete example; `analogy` picks which one.
    "So N." closes the rationale only when the last step does not already end in N;
    the answer line itself is left to `Item.completion`.
    """
    close = work.conclusion
    if "decomposition" in strategies:
        solve = "; ".join(work.steps) + (f", so {work.answer}" if close else "")
        stages = (
            ("Facts", work.facts),
            ("Relation", work.relation),
            ("Equation", work.equation),
            ("Solve", solve),
            ("Check", work.check),
        )
        text = " ".join(f"{name}: {body}." for name, body in stages)
    elif "step_format" in strategies:
        lines = (work.relation[0].upper() + work.relation[1:], *work.steps)
        text = " ".join(f"Step {i}: {line}." for i, line in enumerate(lines, 1))
        text = f"{text} {close}".strip()
    else:
        text = f"{work.lead}: {'; '.join(work.steps)}. {close}".strip()
    if "concretization" in strategies:
        options = ANALOGIES[work.kind]
        text = f"{options[analogy % len(options)]} {text}"
    return text


_SPACED = str.maketrans({"+": " + ", "-": " - ", "×": " × ", "=": " = "})


def _spaced(text: str) -> str:
    """`24+59=83` as `24 + 59 = 83`; fractions (`3/4`) and `%` stay as they are."""
    return " ".join(text.translate(_SPACED).split())


def render_short(work: Work, rendering: str) -> str:
    """`work` in one of the short renderings.

    "direct": the whole equation and its result, "24 + 59 = 83." (a remainder:
    "28 = 8 × 3 + 4, so the remainder is 4.").
    "breakdown": the computing steps on one line, "4 + 9 = 13, carry 1; 2 + 5 + 1 = 8;
    so 83." ("; so N" only when the last step does not already end in N).
    "reason": the relation, then the direct equation: "Gets more, so add: 48 + 10 = 58."
    Unknown renderings raise ValueError.
    """
    if work.kind == "rem":
        direct = f"{_spaced(work.check)}, so the remainder is {work.answer}"
    else:
        direct = f"{_spaced(work.equation.removeprefix('?='))} = {work.answer}"
    if rendering == "direct":
        return f"{direct}."
    if rendering == "breakdown":
        close = f"; so {work.answer}" if work.conclusion else ""
        return f"{'; '.join(_spaced(s) for s in work.steps)}{close}."
    if rendering == "reason":
        relation = work.relation[0].upper() + work.relation[1:]
        return f"{relation}: {direct}."
    raise ValueError(f"unknown rendering {rendering!r}")
