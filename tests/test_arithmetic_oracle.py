"""An independent oracle for the exact arithmetic teacher.

The teacher's items and `solve` both come from the same template `work` functions, so
checking one against the other proves nothing about the answers. This oracle shares
nothing with the templates: it reads the numbers from the prompt's text with its own
patterns, decides the operation from the English words ("gives away", "shares them
equally", "% off", "pays with"), builds the expression with `fractions.Fraction`, and
writes the answer in lowest terms. For every module and level it re-solves generated
items (new items, synthesized items and rewrites with every strategy and variant, so
multi-step stories, money problems and plain phrasings are all included) and requires
agreement with the item's answer and with `solve(prompt)`.
"""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

from ioa_agent.domains import arithmetic
from ioa_agent.items import STRATEGIES, Item

LEVELS = (1, 2, 3, 4)
SEEDS = range(15)  # new items per module and level: 60 per seed, repeats dropped
REWRITES_PER_CASE = 20  # of those, rewritten with every strategy set and variant
STRATEGY_SETS = [[s] for s in STRATEGIES] + [list(STRATEGIES)]
VARIANTS = ("standard", "remedial", "bridging")

_INT = r"(\d+)"
_MINUS = re.compile(r"\b(gives|gave|give|loses|lost|uses|used|took away|takes away|spends)\b")
_GROUP = re.compile(r"(\d+) (?:boxes|bags|packs|jars)(?: of| with|\. Each has) (\d+)")
_SHARE = re.compile(r"(?:among|into|with) (\d+) (?:friends|bags)")


def _ints(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text)]


def _money(text: str) -> Fraction:
    """Shopping: change = paid - cost; cost = count × unit price, or price less the discount."""
    paid_match = re.search(r"(?:pays with|pays|has) \$(\d+)", text)
    paid = Fraction(paid_match.group(1)) if paid_match else None
    dollars = [Fraction(x) for x in re.findall(r"\$(\d+)", text)]
    if paid is not None:
        dollars.remove(paid)
    (price,) = dollars
    percent = re.search(r"(\d+)% off", text)
    if percent:
        saving = price * Fraction(percent.group(1)) / 100
        if paid is not None:
            return paid - (price - saving)
        if re.search(r"save\?|dollars off\?|How many dollars is", text):
            return saving
        return price - saving
    counts = [int(x) for x in re.findall(r"(?<![\d$])(\d+)(?![\d%])", text)]
    cost = price * counts[0] if counts else price
    return paid - cost if paid is not None else cost


def _story(text: str) -> Fraction:
    """Word problems: equal groups multiply, taking away subtracts, sharing divides."""
    lower = text.lower()
    if "how many more" in lower:
        first, second = _ints(text)
        return Fraction(first - second)
    divisor = _SHARE.search(text)
    if divisor:
        rest = text[: divisor.start()] + text[divisor.end() :]
        return Fraction(sum(_ints(rest)), int(divisor.group(1)))
    # each quantity is a group product or a lone number; the words since the previous
    # quantity say whether it is taken away
    quantities: list[tuple[int, int, int]] = []  # (start, end, value)
    groups = list(_GROUP.finditer(text))
    for g in groups:
        quantities.append((g.start(), g.end(), int(g.group(1)) * int(g.group(2))))
    for m in re.finditer(r"\d+", text):
        if not any(g.start() <= m.start() < g.end() for g in groups):
            quantities.append((m.start(), m.end(), int(m.group())))
    total, previous_end = Fraction(0), 0
    for start, end, value in sorted(quantities):
        sign = -1 if _MINUS.search(text[previous_end:start]) else 1
        total += sign * value
        previous_end = end
    return total


def oracle(prompt: str) -> Fraction:
    """The exact value asked for by an arithmetic prompt, from its words alone."""
    text = " ".join(prompt.split())
    lower = text.lower()
    frac = re.search(rf"{_INT}/{_INT} (?:\+|plus|and) {_INT}/{_INT}", text)
    if frac:
        n1, d1, n2, d2 = (int(x) for x in frac.groups())
        return Fraction(n1, d1) + Fraction(n2, d2)
    if "$" in text:
        return _money(text)
    if re.search(r"what percent|as a percent", lower):
        whole = int(re.search(r"of (\d+)", text).group(1))  # type: ignore[union-attr]
        (part,) = [x for x in _ints(text) if x != whole] or [whole]
        return Fraction(part * 100, whole)
    percent = re.search(r"(\d+)(?:%| percent) of (\d+)", text)
    if percent:
        return Fraction(int(percent.group(1)) * int(percent.group(2)), 100)
    a, b, *more = _ints(text) + [0, 0]
    if "remainder" in lower or "left over" in lower:
        return Fraction(a % b)
    symbol = re.search(r"\d+ ([-+×÷]) \d+", text)
    if symbol and not more[:-2]:
        op = symbol.group(1)
    elif re.search(r"sum of|\bplus\b|^add ", lower):
        op = "+"
    elif re.search(r"difference|\bminus\b", lower):
        op = "-"
    elif re.search(r"^take \d+ away from", lower):
        a, b, op = b, a, "-"
    elif re.search(r"product of|\btimes\b|^multiply ", lower):
        op = "×"
    elif re.search(r"divided by|quotient of|^divide ", lower):
        op = "÷"
    else:
        return _story(text)
    x, y = Fraction(a), Fraction(b)
    return {"+": x + y, "-": x - y, "×": x * y, "÷": x / y}[op]


def written(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _generated(module: str, level: int) -> list[Item]:
    items = [i for seed in SEEDS for i in arithmetic.write_items(module, level, 60, seed=seed)]
    items += arithmetic.synthesize(items[0], level, 10, seed=5)
    items += arithmetic.write_items(module, level, 16, seed=0, probes=True)  # the probes' share
    for item in items[:REWRITES_PER_CASE]:
        for strategies in STRATEGY_SETS:
            for variant in VARIANTS:
                new = arithmetic.rewrite(item, strategies, variant)
                if new.answer:
                    items.append(new)
    return items


def test_hand_cases_of_the_oracle() -> None:
    """The oracle itself on problems worked by hand, one per kind of wording."""
    cases = {
        "What is 7/12 + 1/8?": "17/24",
        "Take 38 away from 205.": "167",
        "When 47 is divided by 6, what is the remainder?": "5",
        "63 is what percent of 84?": "75",
        "How much is 35 percent of 60?": "21",
        "Mia has 3 packs with 6 stamps in each. Mia loses 5 stamps. How many stamps are left?": (
            "13"
        ),
        "Leo had 40 cards and lost 12. Later Leo bought 3 jars with 7 cards in each. "
        "How many cards does Leo have now?": "49",
        "Ivy picked 9 shells and then 6 more. Ivy splits them equally into 5 bags. "
        "How many shells go in each bag?": "3",
        "Sam pays $100 for a $80 lamp that is 15% off. "
        "How many dollars of change does Sam get?": "32",
        "A $60 kite is marked 25% off. What does it cost now, in dollars?": "45",
        "4 hats cost $12 each. Ana pays $50 for them. How many dollars of change?": "2",
        "Ben has $20 and spends $13 on a toy. How many dollars are left?": "7",
    }
    for prompt, answer in cases.items():
        assert written(oracle(prompt)) == answer, prompt


def test_oracle_agrees_with_every_module_and_level() -> None:
    agree: Counter[str] = Counter()
    total: Counter[str] = Counter()
    wrong: list[str] = []
    templates: set[str] = set()
    seen: set[str] = set()
    for module in arithmetic.MODULE_IDS:
        for level in LEVELS:
            for item in _generated(module, level):
                if item.prompt in seen:
                    continue
                seen.add(item.prompt)
                total[module] += 1
                parsed = arithmetic.parse(item.prompt)
                templates.add(parsed[0].name if parsed else "")
                expected = written(oracle(item.prompt))
                if expected == item.answer == arithmetic.solve(item.prompt).answer:
                    agree[module] += 1
                else:
                    wrong.append(f"{item.prompt!r}: item {item.answer}, oracle {expected}")
    report = ", ".join(f"{m} {agree[m]}/{total[m]}" for m in total)
    print(f"oracle agreement: {report}")
    assert not wrong, f"{len(wrong)} disagreements, e.g. {wrong[:5]}"
    assert set(total) == set(arithmetic.MODULE_IDS)
    assert templates == {t.name for t in arithmetic.TEMPLATES}  # every skill, multi-step too
    assert all(total[m] >= 2000 for m in total)
