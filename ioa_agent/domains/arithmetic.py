"""The built-in arithmetic domain: its knowledge modules and the exact teacher's tasks.

Nine modules in three categories (arithmetic, fractions, word_problems) with a
prerequisite DAG and four difficulty levels each. This module draws new problems of a
module or like a given problem (deterministic from a sha256 of the request), solves a
problem from its text alone by matching it against every template's phrasings with
regular expressions (how the teacher's accuracy P_T is measured, so nothing hidden is
looked up), and rewrites a problem with the Adapter's strategies and variants.

It does not call any model, keep state between calls, or score a student's output
(`ioa_agent.answers` does); templates are declared in `arithmetic_templates` and
`arithmetic_stories`, worked solutions built in `arithmetic_work`.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Sequence

from ioa_agent.domains.arithmetic_holdout import (
    TEMPLATES,
    held_out,
    operand_key,
    seeded_rng,
)
from ioa_agent.domains.arithmetic_render import render, render_short
from ioa_agent.domains.arithmetic_stories import MONEY, MULTI, ONE, WORD_FIELDS
from ioa_agent.domains.arithmetic_templates import (
    ADD,
    DIV,
    FRAC,
    LEVELS,
    MUL,
    PCT,
    SUB,
    Fields,
    Template,
)
from ioa_agent.items import RENDERINGS, STRATEGIES, Item, ModuleSpec, Solution

DOMAIN = "arithmetic"
MODULES: tuple[ModuleSpec, ...] = tuple(
    ModuleSpec(id=id_, description=text, levels=LEVELS, prerequisites=list(prereqs))
    for id_, text, prereqs in (
        (ADD, "Add whole numbers column by column, carrying when a column passes 9.", ()),
        (SUB, "Subtract whole numbers column by column, borrowing when needed.", (ADD,)),
        (MUL, "Multiply whole numbers by splitting a factor by place value.", (ADD,)),
        (
            DIV,
            "Divide whole numbers by taking away chunks: an exact quotient or a remainder.",
            (MUL, SUB),
        ),
        (FRAC, "Add two fractions over a common denominator, in lowest terms.", (MUL, DIV)),
        (PCT, "Find a percent of a number, or what percent one number is of another.", (FRAC, MUL)),
        (ONE, "Solve a one-step story problem by adding or subtracting.", (ADD, SUB)),
        (MULTI, "Solve a story problem of two or three steps with equal groups.", (ONE, MUL)),
        (MONEY, "Solve shopping problems: totals, change, discounts and sale prices.", (PCT, ONE)),
    )
)


def _skill_edges() -> tuple[tuple[str, str], ...]:
    """The domain's skill graph: which skill (module@level) each skill needs.

    Levels chain within a module (organizer.skills adds those). Across modules, level n
    needs level n of its module's prerequisites (2-digit products need addition with
    carries, level 2 of both), except where the templates need less: adding fractions
    over one denominator needs only 1-digit addition, unlike denominators need only the
    1-digit times table and division, and percentages above level 1 need no more
    fraction work than level 1's.
    """
    need: dict[str, dict[int, tuple[str, ...]]] = {
        FRAC: {1: (ADD + "@1",), 2: (ADD + "@1", DIV + "@1"), 3: (MUL + "@1", DIV + "@1")},
        PCT: {1: (MUL + "@1", FRAC + "@1")},
    }
    out: set[tuple[str, str]] = set()
    for spec in MODULES:
        for level in range(1, spec.levels + 1):
            default = tuple(f"{p}@{level}" for p in spec.prerequisites)
            if spec.id == FRAC:
                pre = need[FRAC].get(level, need[FRAC][3])
            elif spec.id == PCT:
                pre = need[PCT].get(level, (f"{MUL}@{level}",))
            else:
                pre = default
            out.update((p, f"{spec.id}@{level}") for p in pre)
    return tuple(sorted(out))


SKILL_EDGES: tuple[tuple[str, str], ...] = _skill_edges()
"""(i, j): skill i is a prerequisite of skill j, across modules."""
BY_NAME = {t.name: t for t in TEMPLATES}
MODULE_IDS = tuple(m.id for m in MODULES)
RENEW_TRIES = 40
_BARE = re.compile(
    r"(?:what is|compute|calculate|find)?\s*(\d+)\s*([-+×x*÷])\s*(\d+)\s*[?.=]*", re.IGNORECASE
)
_BARE_OPS = {
    "+": "add",
    "-": "sub",
    "−": "sub",
    "×": "mul",
    "x": "mul",
    "X": "mul",
    "*": "mul",
    "÷": "div",
}


def _pattern(text: str) -> re.Pattern[str]:
    """A phrasing as a regex: number fields match digits, word fields words."""
    parts: list[str] = []
    seen: set[str] = set()
    for literal, name, _, _ in string.Formatter().parse(text):
        parts.append(re.escape(literal))
        if name in seen:
            parts.append(f"(?P={name})")
        elif name:
            seen.add(name)
            parts.append(f"(?P<{name}>{WORD_FIELDS.get(name, r'[0-9]+')})")
    return re.compile("".join(parts))


_PATTERNS: tuple[tuple[Template, int, re.Pattern[str]], ...] = tuple(
    (tpl, index, _pattern(text))
    for tpl in TEMPLATES
    for index, text in (*enumerate(tpl.phrasings), (-1, tpl.plain))
)


def parse(prompt: str) -> tuple[Template, Fields, int | None] | None:
    """The template, fields and phrasing index (-1: plain, None: bare expression)."""
    text = " ".join(prompt.split())
    for tpl, index, pattern in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            fields = {k: v if k in WORD_FIELDS else int(v) for k, v in match.groupdict().items()}
            return tpl, fields, index
    match = _BARE.fullmatch(text)
    if match:
        a, op, b = match.groups()
        return BY_NAME[_BARE_OPS[op]], {"a": int(a), "b": int(b)}, None
    return None


def solve(prompt: str) -> Solution:
    """Solve from the text alone; an empty solution when the text is not understood."""
    try:
        parsed = parse(prompt)
        if parsed is None:
            return Solution(rationale="", answer="")
        tpl, fields, _ = parsed
        work = tpl.work(fields)
    except (ArithmeticError, ValueError, KeyError):
        return Solution(rationale="", answer="")
    return Solution(rationale=render(work), answer=work.answer)


def _check_level(level: int) -> None:
    if not 1 <= level <= LEVELS:
        raise ValueError(f"level must be 1..{LEVELS}, got {level}")


def content_key(prompt: str) -> str | None:
    """`operand_key` of a problem's text; None when the text matches no template."""
    parsed = parse(prompt)
    return operand_key(parsed[0], parsed[1]) if parsed else None


_STATED = re.compile(r"(?<![\d/.])(\d+)\s*([-+−×*÷])\s*(?=(\d+)(?![\d/]|\.\d))")


def stated_keys(text: str) -> set[str]:
    """`operand_key`s of the bare operations a text writes out ("3 × 4" and "20 - 12" in
    "3 × 4 = 12; 20 - 12 = 8"): a worked answer that computes a probe's operation on its
    operands states the probe's fact. Whole numbers only (not parts of 1/2 or 2.50)."""
    return {
        operand_key(BY_NAME[name], {"a": int(a), "b": int(b)})
        for a, op, b in _STATED.findall(text)
        # "a ÷ b" is both a quotient's and a remainder's content
        for name in ((_BARE_OPS[op], "rem") if op == "÷" else (_BARE_OPS[op],))
    }


def _distinct(
    module: str,
    level: int,
    n: int,
    draw: Callable[[], tuple[Template, Fields, str]],
    exclude: Sequence[str] = (),
    probes: bool = False,
) -> list[Item]:
    """`n` items with distinct prompts, their operand tuples inside the probes' set when
    `probes`, outside it otherwise. Probes never repeat a tuple (each asks its own fact);
    training items repeat one only once distinct ones are hard to find."""
    items: list[Item] = []
    prompts = {" ".join(p.split()) for p in exclude}
    numbers: set[str] = set()
    limit = 200 * n + 1000
    for attempt in range(limit):
        if len(items) == n:
            break
        tpl, fields, phrasing = draw()
        prompt = phrasing.format(**fields)
        key = operand_key(tpl, fields)
        if held_out(key) != probes:
            continue
        if prompt in prompts or (key in numbers and (probes or attempt < limit // 2)):
            continue
        work = tpl.work(fields)
        items.append(
            Item(
                module=module,
                level=level,
                prompt=prompt,
                answer=work.answer,
                rationale=render(work),
            )
        )
        prompts.add(prompt)
        numbers.add(key)
    if len(items) < n and probes:
        raise ValueError(
            f"{module} at level {level} sets aside {len(items)} operand tuples for probes, "
            f"and probes never repeat one: ask for at most {len(items)} probes a level "
            f"(identifier.probes_per_level), not {n}"
        )
    if len(items) < n:
        raise ValueError(f"only {len(items)} distinct {module} items at level {level}, not {n}")
    return items


def write_items(module: str, level: int, n: int, seed: int, probes: bool = False) -> list[Item]:
    """`n` new items of `module` at `level`, drawn over the templates of that level: from
    the probes' share of operand tuples when `probes`, from the rest otherwise."""
    if module not in MODULE_IDS:
        raise ValueError(f"unknown arithmetic module {module!r}; known: {', '.join(MODULE_IDS)}")
    _check_level(level)
    templates = [t for t in TEMPLATES if t.module == module and level in t.levels]
    rng = seeded_rng("write_items", module, level, n, seed)

    def draw() -> tuple[Template, Fields, str]:
        tpl = rng.choice(templates)
        return tpl, tpl.draw(rng, level), rng.choice(tpl.phrasings)

    return _distinct(module, level, n, draw, probes=probes)


def synthesize(seed_item: Item, level: int, n: int, seed: int) -> list[Item]:
    """`n` new items of the seed's module and template at `level`, new numbers and words.

    A seed whose text matches no template gets items of its module instead.
    """
    _check_level(level)
    parsed = parse(seed_item.prompt)
    if parsed is None:
        return write_items(seed_item.module, level, n, seed)
    tpl = parsed[0]
    rng = seeded_rng("synthesize", seed_item.id, level, n, seed)

    def draw() -> tuple[Template, Fields, str]:
        return tpl, tpl.draw(rng, level), rng.choice(tpl.phrasings)

    return _distinct(seed_item.module, level, n, draw, exclude=[seed_item.prompt])


def _size(fields: Fields) -> int:
    return max((v for v in fields.values() if isinstance(v, int)), default=0)


def _renew(rng: random.Random, target: Template, level: int, old: Fields, smaller: bool) -> Fields:
    """New numbers for `target` at `level` (not the old ones), keeping the story's words.

    With `smaller`, the first draw whose largest number is below the old largest
    number, else the draw with the smallest largest number. Never a probe's operands
    (`held_out`).
    """
    words = {k: v for k, v in old.items() if k in WORD_FIELDS and k in target.fields}
    best: Fields | None = None
    for _ in range(RENEW_TRIES):
        fields = target.draw(rng, level) | words
        if fields == old or held_out(operand_key(target, fields)):
            continue
        if best is None or _size(fields) < _size(best):
            best = fields
        if not smaller or _size(best) < _size(old):
            break
    while best is None or held_out(operand_key(target, best)):
        best = target.draw(rng, level) | words
    return best


def rewrite(item: Item, strategies: Sequence[str], variant: str) -> Item:
    """`item` rewritten with `strategies` for a `variant` round, re-solved.

    "cognitive_load" and the "remedial" variant draw smaller numbers one level lower
    (not below 1); "remedial" also narrows a multi-step story to its single-step
    sub-skill; "bridging" draws one level higher (not above the top level);
    "simplification" uses the plain phrasing; the other strategies change the
    rationale's style. An item whose text matches no template, or cannot be worked
    (a division by zero), comes back with an empty answer, which fails verification.
    Unknown strategies or variants raise ValueError.
    """
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or variant not in ("standard", "remedial", "bridging"):
        raise ValueError(f"unknown strategy {unknown} or variant {variant!r}")
    tag = {"strategy": "+".join(strategies), "variant": variant, "parent": item.id}
    unsolved = item.model_copy(update=tag | {"rationale": "", "answer": ""})
    parsed = parse(item.prompt)
    if parsed is None:
        return unsolved
    tpl, fields, index = parsed
    rng = seeded_rng("rewrite", item.id, list(strategies), variant)
    lower = variant == "remedial" or "cognitive_load" in strategies
    level = min(max(item.level + (variant == "bridging") - lower, 1), LEVELS)
    target = BY_NAME[tpl.narrow] if variant == "remedial" and tpl.narrow else tpl
    renew = variant != "standard" or "cognitive_load" in strategies
    if renew:
        fields = _renew(rng, target, level, fields, smaller=lower)
    else:
        fields = target.draw(rng, level) | fields
        if held_out(operand_key(target, fields)):
            fields = _renew(rng, target, level, fields, smaller=False)
    if "simplification" in strategies:
        prompt = target.plain.format(**fields)
    elif not renew:
        prompt = item.prompt
    elif target is tpl and index is not None and index >= 0:
        prompt = tpl.phrasings[index].format(**fields)
    else:
        prompt = rng.choice(target.phrasings).format(**fields)
    try:
        work = target.work(fields)
    except (ArithmeticError, ValueError, KeyError):
        return unsolved
    return Item(
        module=item.module,
        level=level,
        prompt=prompt,
        answer=work.answer,
        rationale=render(work, strategies, analogy=rng.randrange(1000)),
        **tag,
    )


def render_item(item: Item) -> dict[str, str]:
    """The item's worked solution in every short rendering (`RENDERINGS`), worked from its
    text; empty when the text matches no template or cannot be worked."""
    try:
        parsed = parse(item.prompt)
        if parsed is None:
            return {}
        tpl, fields, _ = parsed
        work = tpl.work(fields)
    except (ArithmeticError, ValueError, KeyError):
        return {}
    return {r: render_short(work, r) for r in RENDERINGS}


def declared_skill_edges(module_ids: Sequence[str]) -> list[tuple[str, str]] | None:
    """The domain's skill graph when the run's modules are this domain's, else None
    (a teacher-decomposed domain chains levels within modules, `organizer.skills`)."""
    return list(SKILL_EDGES) if set(module_ids) == set(MODULE_IDS) else None
