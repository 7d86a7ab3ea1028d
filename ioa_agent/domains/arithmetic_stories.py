"""Story-problem templates of the arithmetic domain: one-step, multi-step and money.

Each template is a small story with names, objects and numbers drawn per level
(1 easiest .. 4: larger numbers, then more steps), several phrasings, one plain
phrasing in short sentences, and the expression that solves it. Multi-step stories
name the single-step story of their weak sub-skill, used by remedial rewrites.

This module only declares templates; parsing, item building and rewriting live in
`ioa_agent.domains.arithmetic`, worked solutions in `arithmetic_work`.
"""

from __future__ import annotations

import random

from ioa_agent.domains.arithmetic_templates import (
    Fields,
    Template,
    expr_work,
    percent_of,
)

ONE = "word_problems/one_step"
MULTI = "word_problems/multi_step"
MONEY = "word_problems/money"

NAMES = (
    "Ana", "Ben", "Cara", "Dev", "Ella", "Finn", "Gia", "Hugo", "Ivy", "Jack",
    "Kim", "Leo", "Mia", "Noah", "Omar", "Pia", "Sam", "Tara", "Uma", "Zoe",
)  # fmt: skip
OBJECTS = ("apples", "pencils", "stickers", "marbles", "cards", "books", "shells", "stamps")
BOXES = ("boxes", "bags", "packs", "jars")
THINGS = ("shirt", "book", "lamp", "backpack", "game", "jacket", "toy", "clock", "kite", "hat")
WORD_FIELDS = {"name": r"[A-Z][a-z]+", "name2": r"[A-Z][a-z]+"} | {
    f: r"[a-z]+" for f in ("obj", "box", "thing")
}
BILLS = (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)

WORD_MAX = {1: 20, 2: 100, 3: 1000, 4: 10000}
GROUPS = {1: ((2, 5), (2, 5)), 2: ((3, 9), (3, 9)), 3: ((2, 6), (3, 9)), 4: ((3, 9), (4, 12))}
SHARES = {1: ((2, 4), (2, 5)), 2: ((2, 9), (3, 12)), 3: ((3, 9), (5, 20)), 4: ((4, 9), (10, 30))}
PRICE_MAX = {1: 20, 2: 100, 3: 200, 4: 500}
SALE_PRICE_MAX = {1: 100, 2: 100, 3: 100, 4: 100}
MONEY_PERCENTS = {
    1: (10, 50),
    2: (10, 20, 25, 50),
    3: tuple(range(5, 100, 5)),
    4: tuple(range(5, 100, 5)),
}


def _words(rng: random.Random) -> Fields:
    name, name2 = rng.sample(NAMES, 2)
    return {
        "name": name,
        "name2": name2,
        "obj": rng.choice(OBJECTS),
        "box": rng.choice(BOXES),
        "thing": rng.choice(THINGS),
    }


def _gen_two(rng: random.Random, level: int) -> Fields:
    """A one-step story: `a`, and a `b` below it whose sum stays within the level."""
    top = WORD_MAX[level]
    lo = max(1, top // 10)
    a = rng.randint(lo + 1, top - lo)
    return _words(rng) | {"a": a, "b": rng.randint(lo, max(lo, min(a - 1, top - a)))}


def _groups(rng: random.Random, level: int) -> tuple[int, int]:
    (lo_a, hi_a), (lo_b, hi_b) = GROUPS[level]
    return rng.randint(lo_a, hi_a), rng.randint(lo_b, hi_b)


def _gen_groups(rng: random.Random, level: int) -> Fields:
    """Two group counts `a × b` and `c × d`, and `e` to take away from their total."""
    a, b = _groups(rng, level)
    c, d = _groups(rng, level)
    total = a * b + c * d
    return _words(rng) | {"a": a, "b": b, "c": c, "d": d, "e": rng.randint(1, total - 1)}


def _gen_groups_minus(rng: random.Random, level: int) -> Fields:
    fields = _gen_groups(rng, level)
    return fields | {"c": rng.randint(1, int(fields["a"]) * int(fields["b"]) - 1)}


def _gen_plus_groups(rng: random.Random, level: int) -> Fields:
    b, c = _groups(rng, level)
    return _words(rng) | {"a": rng.randint(2, max(5, b * c)), "b": b, "c": c}


def _gen_give_buy(rng: random.Random, level: int) -> Fields:
    a = rng.randint(4, {1: 20, 2: 40, 3: 60, 4: 100}[level])
    return _gen_groups(rng, level) | {"a": a, "b": rng.randint(1, a - 1)}


def _gen_share(rng: random.Random, level: int) -> Fields:
    (lo_c, hi_c), (lo_q, hi_q) = SHARES[level]
    c, q = rng.randint(lo_c, hi_c), rng.randint(lo_q, hi_q)
    a = rng.randint(1, c * q - 1)
    return _words(rng) | {"a": a, "b": c * q - a, "c": c, "t": c * q}


def _pay(rng: random.Random, cost: int) -> int:
    return rng.choice([bill for bill in BILLS if bill > cost][:2])


def _gen_change(rng: random.Random, level: int) -> Fields:
    top = PRICE_MAX[level]
    a = rng.randint(max(2, top // 10), top - 1)
    return _words(rng) | {"a": a, "b": _pay(rng, a)}


def _gen_units(rng: random.Random, level: int) -> Fields:
    n = rng.randint(2, {1: 4, 2: 6, 3: 9, 4: 12}[level])
    a = rng.randint(2, max(3, PRICE_MAX[level] // n))
    return _words(rng) | {"n": n, "a": a, "b": _pay(rng, n * a)}


def _gen_sale(rng: random.Random, level: int) -> Fields:
    p, a = percent_of(rng, MONEY_PERCENTS[level], SALE_PRICE_MAX[level])
    return _words(rng) | {"p": p, "a": a, "b": _pay(rng, a - a * p // 100)}


STORY_TEMPLATES: tuple[Template, ...] = (
    Template(
        "gain",
        ONE,
        (
            "{name} has {a} {obj}. {name} gets {b} more. How many {obj} does {name} have now?",
            "{name} had {a} {obj} and then found {b} more. How many {obj} does {name} have in all?",
            "There were {a} {obj} in a box. {name} put in {b} more. "
            "How many {obj} are in the box now?",
            "{name} collected {a} {obj} on Monday and {b} more on Tuesday. "
            "How many {obj} did {name} collect altogether?",
        ),
        "{name} has {a} {obj}. {name} gets {b} more. How many {obj} now?",
        _gen_two,
        expr_work("a + b", "add", "gets more, so add", "{a} {obj}, then {b} more"),
    ),
    Template(
        "lose",
        ONE,
        (
            "{name} had {a} {obj} and gave {b} of them to a friend. "
            "How many {obj} does {name} have left?",
            "There were {a} {obj} on the table. {name} took away {b}. "
            "How many {obj} are still on the table?",
            "{name} bought {a} {obj} and used {b} of them. How many {obj} are left?",
        ),
        "{name} has {a} {obj}. {name} gives away {b}. How many {obj} are left?",
        _gen_two,
        expr_work("a - b", "sub", "some are taken away, so subtract", "{a} {obj}, {b} taken"),
    ),
    Template(
        "combine",
        ONE,
        (
            "{name} has {a} {obj} and {name2} has {b} {obj}. How many {obj} do they have together?",
            "A class has {a} red {obj} and {b} blue {obj}. "
            "How many {obj} does the class have in total?",
            "{name} found {a} {obj} and {name2} found {b} {obj}. "
            "How many {obj} did they find in all?",
        ),
        "{name} has {a} {obj}. {name2} has {b} {obj}. How many {obj} in total?",
        _gen_two,
        expr_work("a + b", "add", "put both together, so add", "{a} and {b} {obj}"),
    ),
    Template(
        "compare",
        ONE,
        (
            "{name} has {a} {obj}. {name2} has {b} {obj}. "
            "How many more {obj} does {name} have than {name2}?",
            "{name} scored {a} points and {name2} scored {b} points. "
            "How many more points did {name} score?",
            "{name} read {a} pages and {name2} read {b} pages. "
            "How many more pages did {name} read?",
        ),
        "{name} has {a}. {name2} has {b}. How many more does {name} have?",
        _gen_two,
        expr_work("a - b", "sub", "how many more means subtract", "{a} and {b}"),
    ),
    Template(
        "groups_minus",
        MULTI,
        (
            "{name} buys {a} {box} of {b} {obj} and gives away {c} {obj}. "
            "How many {obj} does {name} have left?",
            "{name} has {a} {box} with {b} {obj} in each. {name} loses {c} {obj}. "
            "How many {obj} are left?",
            "There are {a} {box} of {b} {obj}. {name} uses {c} of the {obj}. "
            "How many {obj} remain?",
        ),
        "{name} has {a} {box}. Each has {b} {obj}. {name} gives away {c}. How many {obj} are left?",
        _gen_groups_minus,
        expr_work("a * b - c", "mul", "multiply the groups, then subtract", "{a}×{b}, {c} gone"),
        levels=(1, 2),
        narrow="groups",
    ),
    Template(
        "plus_groups",
        MULTI,
        (
            "{name} has {a} {obj} and buys {b} {box} of {c} {obj}. "
            "How many {obj} does {name} have now?",
            "{name} had {a} {obj}. Then {name} got {b} {box} with {c} {obj} in each. "
            "How many {obj} does {name} have in all?",
        ),
        "{name} has {a} {obj}. {name} buys {b} {box}. Each has {c} {obj}. How many {obj} now?",
        _gen_plus_groups,
        expr_work("a + b * c", "mul", "multiply the groups, then add", "{a}, plus {b}×{c}"),
        levels=(1, 2),
        narrow="groups",
    ),
    Template(
        "gain_share",
        MULTI,
        (
            "{name} has {a} {obj} and gets {b} more. "
            "{name} shares them equally among {c} friends. How many {obj} does each friend get?",
            "{name} picked {a} {obj} and then {b} more. {name} splits them equally into {c} bags. "
            "How many {obj} go in each bag?",
        ),
        "{name} has {a} {obj}. {name} gets {b} more. {name} shares them with {c} friends. "
        "How many each?",
        _gen_share,
        expr_work("(a + b) / c", "div", "add, then share equally", "{a} and {b} more, {c} shares"),
        levels=(1, 2),
        narrow="share",
    ),
    Template(
        "two_groups_minus",
        MULTI,
        (
            "{name} buys {a} {box} of {b} {obj} and {c} {box} of {d} {obj}, "
            "then gives away {e}. How many {obj} are left?",
            "{name} has {a} {box} of {b} {obj} and {c} {box} of {d} {obj}. "
            "{name} uses {e} {obj}. How many {obj} remain?",
        ),
        "{name} buys {a} {box} of {b} {obj}. {name} buys {c} {box} of {d} more. "
        "{name} gives away {e}. How many {obj} are left?",
        _gen_groups,
        expr_work(
            "a * b + c * d - e",
            "mul",
            "multiply, add, then subtract",
            "{a}×{b} and {c}×{d}, {e} gone",
        ),
        levels=(3, 4),
        narrow="groups",
    ),
    Template(
        "give_buy",
        MULTI,
        (
            "{name} has {a} {obj}, gives {b} to a friend, then buys {c} {box} of {d} {obj}. "
            "How many {obj} does {name} have now?",
            "{name} had {a} {obj} and lost {b}. Later {name} bought {c} {box} with {d} {obj} "
            "in each. How many {obj} does {name} have now?",
        ),
        "{name} has {a} {obj}. {name} gives away {b}. {name} buys {c} {box} of {d}. "
        "How many {obj} now?",
        _gen_give_buy,
        expr_work(
            "a - b + c * d",
            "mul",
            "subtract, multiply, then add",
            "{a}, {b} gone, {c}×{d} more",
        ),
        levels=(3, 4),
        narrow="groups",
    ),
    Template(
        "groups",
        MULTI,
        (
            "{name} buys {a} {box} of {b} {obj}. How many {obj} does {name} buy?",
            "There are {a} {box} with {b} {obj} in each. How many {obj} are there in all?",
        ),
        "{name} has {a} {box}. Each has {b} {obj}. How many {obj} in all?",
        _gen_groups,
        expr_work("a * b", "mul", "equal groups, so multiply", "{a} {box} of {b}"),
        levels=(),
    ),
    Template(
        "share",
        MULTI,
        (
            "{name} shares {t} {obj} equally among {c} friends. "
            "How many {obj} does each friend get?",
            "{t} {obj} are split equally into {c} bags. How many {obj} go in each bag?",
        ),
        "{name} has {t} {obj}. {name} shares them with {c} friends. How many each?",
        _gen_share,
        expr_work("t / c", "div", "share equally, so divide", "{t} {obj}, {c} shares"),
        levels=(),
    ),
    Template(
        "change",
        MONEY,
        (
            "{name} buys a {thing} for ${a} and pays with ${b}. "
            "How much change does {name} get in dollars?",
            "A {thing} costs ${a}. {name} pays ${b}. How many dollars of change should {name} get?",
            "{name} has ${b} and spends ${a} on a {thing}. How many dollars are left?",
        ),
        "A {thing} costs ${a}. {name} pays ${b}. Find the change.",
        _gen_change,
        expr_work("b - a", "money", "change is paid minus cost", "cost ${a}, paid ${b}"),
        levels=(1, 2),
    ),
    Template(
        "unit_total",
        MONEY,
        (
            "{name} buys {n} {thing}s at ${a} each. How many dollars does {name} spend?",
            "One {thing} costs ${a}. How many dollars do {n} {thing}s cost?",
        ),
        "One {thing} is ${a}. {name} buys {n}. Find the total cost.",
        _gen_units,
        expr_work("n * a", "money", "same price each, so multiply", "{n} at ${a} each"),
        levels=(1,),
    ),
    Template(
        "unit_change",
        MONEY,
        (
            "{name} buys {n} {thing}s at ${a} each and pays with ${b}. "
            "How much change does {name} get in dollars?",
            "{n} {thing}s cost ${a} each. {name} pays ${b} for them. How many dollars of change?",
        ),
        "One {thing} is ${a}. {name} buys {n}. {name} pays ${b}. Find the change.",
        _gen_units,
        expr_work(
            "b - n * a",
            "money",
            "multiply for the cost, then subtract from paid",
            "{n} at ${a} each, paid ${b}",
        ),
        levels=(2, 3),
        narrow="unit_total",
    ),
    Template(
        "discount",
        MONEY,
        (
            "A {thing} costs ${a}. It is on sale for {p}% off. How many dollars do you save?",
            "How many dollars is {p}% off a ${a} {thing}?",
        ),
        "A {thing} costs ${a}. It is {p}% off. How many dollars off?",
        _gen_sale,
        expr_work("a * p / 100", "money", "the saving is {p}% of the price", "${a}, {p}% off"),
        levels=(2,),
    ),
    Template(
        "sale_price",
        MONEY,
        (
            "A {thing} costs ${a}. It is {p}% off today. What is the sale price in dollars?",
            "{name} buys a ${a} {thing} at {p}% off. How many dollars does {name} pay?",
            "A ${a} {thing} is marked {p}% off. What does it cost now, in dollars?",
        ),
        "A {thing} costs ${a}. It is {p}% off. Find the new price.",
        _gen_sale,
        expr_work(
            "a - a * p / 100",
            "money",
            "take {p}% off the price",
            "${a}, {p}% off",
        ),
        levels=(3,),
        narrow="discount",
    ),
    Template(
        "sale_change",
        MONEY,
        (
            "A {thing} costs ${a} and is {p}% off. {name} pays with ${b}. "
            "How much change does {name} get in dollars?",
            "{name} pays ${b} for a ${a} {thing} that is {p}% off. "
            "How many dollars of change does {name} get?",
        ),
        "A {thing} costs ${a}. It is {p}% off. {name} pays ${b}. Find the change.",
        _gen_sale,
        expr_work(
            "b - (a - a * p / 100)",
            "money",
            "find the sale price, then the change",
            "${a}, {p}% off, paid ${b}",
        ),
        levels=(4,),
        narrow="discount",
    ),
)
