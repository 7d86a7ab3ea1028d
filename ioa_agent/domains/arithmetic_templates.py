"""Problem templates of the arithmetic domain, and the number-skill templates.

A `Template` is one skill of one module ("exact division", "buy groups then give some
away"). It holds the phrasings a problem may be asked in (format strings whose fields
are numbers or words), one plain phrasing in short sentences for the "simplification"
strategy, a generator that draws the fields for a difficulty level (1 easiest .. 4),
and how to work the problem from its fields. A multi-step template names the
single-step template of its weak sub-skill (`narrow`); `levels` are the levels at
which new items of the module use the template (any template can be drawn at any
level when an item is synthesized from or rewritten into it).

This module defines the templates of bare numbers: addition, subtraction,
multiplication, division, fraction addition and percentages. Story problems live in
`arithmetic_stories`. It does not turn text into fields, choose templates for a
request, or build items; `ioa_agent.domains.arithmetic` does.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from ioa_agent.domains.arithmetic_work import (
    Params,
    Work,
    chunk_divide,
    column_add,
    column_subtract,
    expression_work,
    fraction_add,
    place_multiply,
)

Fields = dict[str, int | str]
Gen = Callable[[random.Random, int], Fields]

LEVELS = 4
ADD = "arithmetic/addition"
SUB = "arithmetic/subtraction"
MUL = "arithmetic/multiplication"
DIV = "arithmetic/division"
FRAC = "fractions/fraction_addition"
PCT = "fractions/percentages"
PERCENTS = {
    1: (10, 50),
    2: (10, 20, 25, 50, 75),
    3: tuple(range(5, 100, 5)),
    4: tuple(p for p in range(1, 100) if p % 5),
}


@dataclass(frozen=True)
class Template:
    """One skill of one module: how it is asked, drawn and worked."""

    name: str
    module: str
    phrasings: tuple[str, ...]
    plain: str
    gen: Gen
    work: Callable[[Params], Work]
    levels: tuple[int, ...] = (1, 2, 3, 4)
    narrow: str = ""
    swaps: tuple[tuple[str, ...], ...] = ()
    """Groups of fields whose values may trade places without changing the fact asked
    (a + b and b + a): the held-out set counts such twins as one tuple."""
    fields: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = {
            name
            for text in (*self.phrasings, self.plain)
            for _, name, _, _ in string.Formatter().parse(text)
            if name
        }
        object.__setattr__(self, "fields", frozenset(names))

    def draw(self, rng: random.Random, level: int) -> Fields:
        """Fresh fields for one problem at `level`, only those the phrasings use."""
        return {k: v for k, v in self.gen(rng, level).items() if k in self.fields}


def draw_until(
    rng: random.Random, make: Callable[[], Fields], ok: Callable[[Fields], bool]
) -> Fields:
    """Draw with `make` until `ok` holds (every caller's condition holds often)."""
    while True:
        fields = make()
        if ok(fields):
            return fields


def percent_of(rng: random.Random, percents: tuple[int, ...], top: int) -> tuple[int, int]:
    """A percent and a base of at most `top` (or one step) with a whole-number product."""
    p = rng.choice(percents)
    step = 100 // math.gcd(p, 100)
    return p, step * rng.randint(1, max(1, top // step))


def expr_work(
    expr: str, kind: str, relation: str, facts: str, lead: str = ""
) -> Callable[[Params], Work]:
    """Work a template by evaluating `expr`; the texts are format strings over the fields.

    `lead` (what opens the plain rationale) defaults to the relation.
    """

    def work(p: Params) -> Work:
        rel = relation.format(**p)
        return expression_work(
            expr,
            p,
            kind=kind,
            lead=lead.format(**p) if lead else rel[0].upper() + rel[1:],
            relation=rel,
            facts=facts.format(**p),
        )

    return work


def _carries(a: int, b: int) -> int:
    """Carries into a next column (a carry out of the top column is not counted)."""
    count = carry = 0
    for _ in range(len(str(max(a, b))) - 1):
        carry = 1 if a % 10 + b % 10 + carry >= 10 else 0
        count += carry
        a, b = a // 10, b // 10
    return count


def _borrows(a: int, b: int) -> int:
    count = borrow = 0
    while a:
        borrow = 1 if a % 10 - borrow < b % 10 else 0
        count += borrow
        a, b = a // 10, b // 10
    return count


def _gen_add(rng: random.Random, level: int) -> Fields:
    spans = {1: ((2, 89), (1, 9)), 2: ((10, 89), (10, 89)), 3: ((100, 999), (10, 99))}
    (lo_a, hi_a), (lo_b, hi_b) = spans.get(level, ((100, 999), (100, 999)))
    lo_c, hi_c = {1: (0, 0), 2: (1, 1), 3: (1, 2)}.get(level, (2, 2))
    return draw_until(
        rng,
        lambda: {"a": rng.randint(lo_a, hi_a), "b": rng.randint(lo_b, hi_b)},
        lambda f: lo_c <= _carries(int(f["a"]), int(f["b"])) <= hi_c,
    )


def _gen_sub(rng: random.Random, level: int) -> Fields:
    lo_a, hi_a, lo_b, hi_b, need = {
        1: (10, 99, 1, 9, 0),
        2: (20, 99, 10, 99, 1),
        3: (100, 999, 10, 99, 1),
    }.get(level, (200, 999, 100, 999, 2))

    def make() -> Fields:
        a = rng.randint(lo_a, hi_a)
        return {"a": a, "b": rng.randint(lo_b, max(lo_b, min(hi_b, a - 1)))}

    def ok(f: Fields) -> bool:
        a, b = int(f["a"]), int(f["b"])
        borrows = _borrows(a, b)
        return b < a and (borrows == 0 if need == 0 else borrows >= need)

    return draw_until(rng, make, ok)


def _gen_mul(rng: random.Random, level: int) -> Fields:
    (lo_a, hi_a), (lo_b, hi_b) = {
        1: ((2, 9), (2, 9)),
        2: ((12, 99), (2, 9)),
        3: ((12, 99), (11, 19)),
    }.get(level, ((12, 99), (21, 99)))
    return draw_until(
        rng,
        lambda: {"a": rng.randint(lo_a, hi_a), "b": rng.randint(lo_b, hi_b)},
        lambda f: int(f["a"]) % 10 != 0 and int(f["b"]) % 10 != 0,
    )


def _gen_div(rng: random.Random, level: int) -> Fields:
    (lo_b, hi_b), (lo_q, hi_q) = {
        1: ((2, 9), (2, 9)),
        2: ((2, 5), (11, 19)),
        3: ((3, 9), (12, 99)),
    }.get(level, ((11, 19), (11, 49)))
    b, q = rng.randint(lo_b, hi_b), rng.randint(lo_q, hi_q)
    return {"a": b * q, "b": b}


def _gen_rem(rng: random.Random, level: int) -> Fields:
    (lo_b, hi_b), (lo_q, hi_q) = {
        1: ((2, 5), (1, 5)),
        2: ((6, 9), (2, 9)),
        3: ((3, 9), (11, 30)),
    }.get(level, ((11, 19), (11, 30)))
    b, q = rng.randint(lo_b, hi_b), rng.randint(lo_q, hi_q)
    return {"a": b * q + rng.randint(1, b - 1), "b": b}


def _gen_frac(rng: random.Random, level: int) -> Fields:
    def make() -> Fields:
        if level <= 2:
            d1 = d2 = rng.randint(3 if level == 1 else 4, 12)
        elif level == 3:
            d1 = rng.randint(2, 6)
            d2 = d1 * rng.randint(2, 3)
            if rng.random() < 0.5:
                d1, d2 = d2, d1
        else:
            d1, d2 = rng.sample(range(2, 7), 2)
        return {"n1": rng.randint(1, d1 - 1), "d1": d1, "n2": rng.randint(1, d2 - 1), "d2": d2}

    def ok(f: Fields) -> bool:
        n1, d1, n2, d2 = (int(f[k]) for k in ("n1", "d1", "n2", "d2"))
        if level == 1:
            return n1 + n2 < d1 and math.gcd(n1 + n2, d1) == 1
        if level == 2:
            return n1 + n2 <= d1 and math.gcd(n1 + n2, d1) > 1
        return level == 3 or (d1 % d2 != 0 and d2 % d1 != 0)

    return draw_until(rng, make, ok)


def _gen_pct(rng: random.Random, level: int) -> Fields:
    top = {1: 100, 2: 200, 3: 400}.get(level, 1000)
    return draw_until(
        rng,
        lambda: dict(zip(("p", "n"), percent_of(rng, PERCENTS[level], top), strict=True)),
        lambda f: int(f["n"]) * int(f["p"]) >= 100,
    )


def _with_part(fields: Fields) -> Fields:
    return fields | {"m": int(fields["n"]) * int(fields["p"]) // 100}


def _ab(solve: Callable[[int, int], Work]) -> Callable[[Params], Work]:
    return lambda p: solve(int(p["a"]), int(p["b"]))


NUMBER_TEMPLATES: tuple[Template, ...] = (
    Template(
        "add",
        ADD,
        (
            "What is {a} + {b}?",
            "Find the sum of {a} and {b}.",
            "Compute {a} + {b}.",
            "What is {a} plus {b}?",
        ),
        "Add {a} and {b}.",
        _gen_add,
        _ab(column_add),
        swaps=(("a",), ("b",)),
    ),
    Template(
        "sub",
        SUB,
        (
            "What is {a} - {b}?",
            "Find the difference {a} - {b}.",
            "Compute {a} - {b}.",
            "What is {a} minus {b}?",
        ),
        "Take {b} away from {a}.",
        _gen_sub,
        _ab(column_subtract),
    ),
    Template(
        "mul",
        MUL,
        (
            "What is {a} × {b}?",
            "Find the product of {a} and {b}.",
            "Compute {a} × {b}.",
            "What is {a} times {b}?",
        ),
        "Multiply {a} by {b}.",
        _gen_mul,
        _ab(place_multiply),
        swaps=(("a",), ("b",)),
    ),
    Template(
        "div",
        DIV,
        (
            "What is {a} ÷ {b}?",
            "Compute {a} ÷ {b}.",
            "What is {a} divided by {b}?",
            "Find the quotient of {a} and {b}.",
        ),
        "Divide {a} by {b}.",
        _gen_div,
        _ab(lambda a, b: chunk_divide(a, b, remainder=False)),
    ),
    Template(
        "rem",
        DIV,
        (
            "What is the remainder when {a} is divided by {b}?",
            "Find the remainder of {a} ÷ {b}.",
            "When {a} is divided by {b}, what is the remainder?",
        ),
        "Divide {a} by {b}. What is left over?",
        _gen_rem,
        _ab(lambda a, b: chunk_divide(a, b, remainder=True)),
    ),
    Template(
        "frac_add",
        FRAC,
        (
            "What is {n1}/{d1} + {n2}/{d2}?",
            "Find {n1}/{d1} + {n2}/{d2} in lowest terms.",
            "Compute {n1}/{d1} + {n2}/{d2}. Give the answer in lowest terms.",
            "What is {n1}/{d1} plus {n2}/{d2}, in lowest terms?",
        ),
        "Add {n1}/{d1} and {n2}/{d2}.",
        _gen_frac,
        lambda p: fraction_add(*(int(p[k]) for k in ("n1", "d1", "n2", "d2"))),
        swaps=(("n1", "d1"), ("n2", "d2")),
    ),
    Template(
        "pct_of",
        PCT,
        (
            "What is {p}% of {n}?",
            "Compute {p}% of {n}.",
            "How much is {p} percent of {n}?",
            "Find {p} percent of {n}.",
        ),
        "Find {p}% of {n}.",
        _gen_pct,
        expr_work(
            "n * p / 100",
            "pct",
            "times {p}, then divide by 100",
            "{p}% of {n}",
            lead="{p}% of {n}",
        ),
    ),
    Template(
        "pct_what",
        PCT,
        (
            "What percent of {n} is {m}?",
            "{m} is what percent of {n}?",
            "What percentage of {n} is {m}?",
        ),
        "Write {m} out of {n} as a percent.",
        lambda rng, level: _with_part(_gen_pct(rng, level)),
        expr_work(
            "m * 100 / n",
            "pct",
            "times 100, then divide by {n}",
            "{m} out of {n}",
            lead="{m} of {n} in %",
        ),
        levels=(4,),
    ),
)
