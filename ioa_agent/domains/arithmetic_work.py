"""Worked solutions of arithmetic problems, and the rationale styles they are written in.

A `Work` is one solved problem broken into what a tutor would say: the facts, the
relation between them, the equation, the computing steps, a check, and the result.
Builders here make a `Work` from numbers alone: column addition with carries, column
subtraction with borrows, place-value multiplication, division by chunks, fraction
addition over a common denominator, and step-by-step evaluation of a small expression
(percentages and story problems). Steps are written without spaces ("7+8=15"): the
student's tokenizer spends a token on every space before a digit. Writing a `Work` as
a rationale is `arithmetic_render`'s. This module does not parse text, generate
problems, write rationales, or know about modules and items.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

Params = Mapping[str, int | str]

_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "×",
    ast.Div: "/",
}
_INVERSE = {"+": "-", "-": "+", "×": "/", "/": "×"}


@dataclass(frozen=True)
class Work:
    """One worked solution, in parts a rationale style can arrange."""

    kind: str
    lead: str
    relation: str
    facts: str
    equation: str
    steps: tuple[str, ...]
    check: str
    result: Fraction

    @property
    def answer(self) -> str:
        return fmt(self.result)

    @property
    def conclusion(self) -> str:
        """ "So N." when the last step does not already end in the answer, else ""."""
        last = self.steps[-1] if self.steps else ""
        done = last.endswith((f"={self.answer}", f"so {self.answer}"))
        return "" if done else f"So {self.answer}."


def fmt(x: Fraction | int) -> str:
    """A number as the answer is written: `12`, `-3` or `17/12` (lowest terms)."""
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _digits(n: int) -> list[int]:
    """Decimal digits, ones first."""
    return [int(c) for c in reversed(str(n))]


def column_add(a: int, b: int) -> Work:
    da, db = _digits(a), _digits(b)
    width = max(len(da), len(db))
    steps: list[str] = []
    written: list[str] = []
    carry = 0
    for i in range(width):
        terms = [d[i] for d in (da, db) if i < len(d)] + ([carry] if carry else [])
        s = sum(terms)
        last = i == width - 1
        if len(terms) == 1:
            steps.append(f"bring down {s}")
        else:
            sums = f"{'+'.join(map(str, terms))}={s}"
            steps.append(f"{sums}, carry 1" if s >= 10 and not last else sums)
        written.append(str(s) if last else str(s % 10))
        carry = 0 if last else s // 10
    result = int("".join(reversed(written)))
    return Work(
        kind="add",
        lead=f"{a}+{b}",
        relation="add columns from the right",
        facts=f"{a}, {b}",
        equation=f"?={a}+{b}",
        steps=tuple(steps),
        check=f"{result}-{b}={a}",
        result=Fraction(result),
    )


def column_subtract(a: int, b: int) -> Work:
    if a < b:
        inner = column_subtract(b, a)
        return Work(
            kind="sub",
            lead=f"{a}-{b}",
            relation="take the smaller from the larger, then make it negative",
            facts=f"{a}, {b}",
            equation=f"?={a}-{b}",
            steps=(f"{b}-{a}", *inner.steps, f"so {fmt(inner.result)}, negative"),
            check=f"{fmt(-inner.result)}+{b}={a}",
            result=-inner.result,
        )
    da, db = _digits(a), _digits(b)
    steps: list[str] = []
    written: list[int] = []
    borrow = 0
    for i, top in enumerate(da):
        bottom = db[i] if i < len(db) else None
        value = top - borrow
        top_text = f"{top}-1" if borrow else str(top)
        if bottom is None and not borrow:
            steps.append(f"bring down {top}")
            digit, borrow = top, 0
        elif bottom is None and value < 0:
            steps.append("0-1, borrow: 10-1=9")
            digit, borrow = 9, 1
        elif bottom is None:
            steps.append(f"{top_text}={value}")
            digit, borrow = value, 0
        elif value < bottom:
            digit, borrow = value + 10 - bottom, 1
            steps.append(f"{top_text}<{bottom}, borrow: {value + 10}-{bottom}={digit}")
        else:
            digit, borrow = value - bottom, 0
            steps.append(f"{top_text}-{bottom}={digit}")
        written.append(digit)
    result = int("".join(str(d) for d in reversed(written)))
    return Work(
        kind="sub",
        lead=f"{a}-{b}",
        relation="subtract columns, borrow if needed",
        facts=f"{a}, take {b}",
        equation=f"?={a}-{b}",
        steps=tuple(steps),
        check=f"{result}+{b}={a}",
        result=Fraction(result),
    )


def _place_parts(n: int) -> list[int]:
    """`n` split by place value, zero parts dropped: 305 -> [300, 5]."""
    parts = [d * 10**i for i, d in reversed(list(enumerate(_digits(n)))) if d]
    return parts or [0]


def place_multiply(a: int, b: int) -> Work:
    if a < 10 and b < 10:
        small, big = sorted((a, b))
        repeat = 2 <= small <= 5
        steps = ["+".join([str(big)] * small) + f"={a * b}" if repeat else f"{a}×{b}={a * b}"]
        result = a * b
    else:
        split_b = b >= 10 and (a < 10 or len(str(b)) <= len(str(a)))
        parts = _place_parts(b if split_b else a)
        products = [a * p if split_b else p * b for p in parts]
        steps = [
            f"{a}×{p}={q}" if split_b else f"{p}×{b}={q}"
            for p, q in zip(parts, products, strict=True)
        ]
        result = sum(products)
        if len(products) > 1:
            steps.append(f"{'+'.join(map(str, products))}={result}")
    return Work(
        kind="mul",
        lead=f"{a}×{b}",
        relation="split by place value, then add",
        facts=f"{a} groups of {b}",
        equation=f"?={a}×{b}",
        steps=tuple(steps),
        check=f"{result}/{b}={a}" if b else f"{a}×0=0",
        result=Fraction(result),
    )


def chunk_divide(a: int, b: int, remainder: bool) -> Work:
    """`a ÷ b` by taking away chunks of `b`; the quotient, or the remainder if asked.

    Raises ZeroDivisionError for `b == 0`.
    """
    if b == 0:
        raise ZeroDivisionError("division by zero")
    rest = a
    chunks: list[int] = []
    steps: list[str] = []
    place = 10 ** len(str(a))
    while place >= 1:
        d = rest // (b * place)
        if d:
            chunk = d * place
            taken = f"{b}×{chunk}={b * chunk}"
            left = rest - b * chunk
            steps.append(
                taken if left == 0 and not remainder else f"{taken}, {rest}-{b * chunk}={left}"
            )
            rest = left
            chunks.append(chunk)
        place //= 10
    quotient = sum(chunks)
    if not chunks:
        steps.append(f"{b}>{a}, so 0 groups")
    elif len(chunks) == 1 and rest == 0 and not remainder:
        steps = [f"{b}×{quotient}={a}"]
    elif len(chunks) > 1 and not remainder:
        steps.append(f"{'+'.join(map(str, chunks))}={quotient}")
    common = {"lead": f"{a}/{b}", "facts": f"{a} in groups of {b}", "equation": f"?={a}/{b}"}
    if remainder:
        return Work(
            kind="rem",
            relation=f"take away groups of {b}, see what is left",
            steps=tuple(steps),
            check=f"{b}×{quotient}+{rest}={a}",
            result=Fraction(rest),
            **common,
        )
    result = Fraction(quotient)
    if rest:
        result = Fraction(a, b)
        steps.append(f"{quotient} and {rest}/{b}={fmt(result)}")
    return Work(
        kind="div",
        relation=f"count groups of {b}",
        steps=tuple(steps),
        check=f"{b}×{fmt(result)}={a}",
        result=result,
        **common,
    )


def fraction_add(n1: int, d1: int, n2: int, d2: int) -> Work:
    """`n1/d1 + n2/d2` over a common denominator, then in lowest terms.

    Raises ZeroDivisionError for a zero denominator.
    """
    if d1 == 0 or d2 == 0:
        raise ZeroDivisionError("zero denominator")
    steps: list[str] = []
    if d1 == d2:
        den, num = d1, n1 + n2
        steps.append(f"same bottom, add tops: {n1}+{n2}={num}, so {num}/{den}")
    else:
        den = math.lcm(d1, d2)
        m1, m2 = n1 * den // d1, n2 * den // d2
        num = m1 + m2
        moved = [f"{n}/{d}={m}/{den}" for n, d, m in ((n1, d1, m1), (n2, d2, m2)) if d != den]
        steps.append(f"bottom {den}: {', '.join(moved)}")
        steps.append(f"add tops: {m1}+{m2}={num}, so {num}/{den}")
    g = math.gcd(num, den)
    result = Fraction(num, den)
    if g > 1:
        steps.append(f"divide by {g}, so {fmt(result)}")
    return Work(
        kind="frac",
        lead=f"{n1}/{d1}+{n2}/{d2}",
        relation="common bottom, add tops, simplify",
        facts=f"{n1}/{d1}, {n2}/{d2}",
        equation=f"?={n1}/{d1}+{n2}/{d2}",
        steps=tuple(steps),
        check=f"{fmt(result)}-{n2}/{d2}={n1}/{d1}",
        result=result,
    )


def _evaluate(node: ast.expr, params: Params, steps: list[str] | None) -> Fraction:
    """The exact value of `node`; each operation is appended to `steps` when given."""
    if isinstance(node, ast.Name):
        return Fraction(int(params[node.id]))
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return Fraction(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _SYMBOLS:
        left = _evaluate(node.left, params, steps)
        right = _evaluate(node.right, params, steps)
        op = type(node.op)
        if op is ast.Add:
            value = left + right
        elif op is ast.Sub:
            value = left - right
        elif op is ast.Mult:
            value = left * right
        else:
            value = left / right
        if steps is not None:
            steps.append(f"{fmt(left)}{_SYMBOLS[op]}{fmt(right)}={fmt(value)}")
        return value
    raise ValueError(f"unsupported expression {ast.unparse(node)!r}")


def _show(node: ast.expr, params: Params) -> str:
    """The expression with its numbers, compact: `5000-(1620-1620×35/100)`."""
    if isinstance(node, ast.Name):
        return str(params[node.id])
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.BinOp):
        low = (ast.Add, ast.Sub)
        left, right = _show(node.left, params), _show(node.right, params)
        if isinstance(node.left, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
            left = f"({left})" if isinstance(node.left.op, low) else left
        if isinstance(node.right, ast.BinOp) and not isinstance(node.op, ast.Add):
            wrap = isinstance(node.op, ast.Div) or isinstance(node.right.op, low)
            right = f"({right})" if wrap else right
        return f"{left}{_SYMBOLS[type(node.op)]}{right}"
    raise ValueError(f"unsupported expression {ast.unparse(node)!r}")


def expression_work(
    expr: str, params: Params, *, kind: str, lead: str, relation: str, facts: str
) -> Work:
    """Evaluate `expr` (names from `params`, integers, + - * /) one operation at a time.

    Raises ZeroDivisionError on a division by zero and KeyError on an unknown name.
    """
    tree = ast.parse(expr, mode="eval").body
    steps: list[str] = []
    result = _evaluate(tree, params, steps)
    check = ""
    if isinstance(tree, ast.BinOp):
        left = _evaluate(tree.left, params, None)
        right = _evaluate(tree.right, params, None)
        inverse = _INVERSE[_SYMBOLS[type(tree.op)]]
        check = f"{fmt(result)}{inverse}{fmt(right)}={fmt(left)}"
    return Work(
        kind=kind,
        lead=lead,
        relation=relation,
        facts=facts,
        equation=f"?={_show(tree, params)}",
        steps=tuple(steps),
        check=check,
        result=result,
    )
