"""Answer scoring: pull the final answer out of a model's text and compare it to gold.

`extract_answer` reads the final answer from a free-form output: a `#### X` line
first, then a `\\boxed{X}`, then the last "The answer is X" / "answer: X", else the last
number or fraction anywhere in the text. `answers_match` compares two answers
numerically with exact fractions ("3/4" == "0.75" == "6/8", "1,200" == "1200",
"$5" == "5", "25%" == "25"), and falls back to case-insensitive text equality for
answers that are not numbers. `score` is 1.0 for a match and 0.0 otherwise.

Pure functions of strings: no model, no I/O, no heavy imports. Symbolic answers
(expressions, intervals, LaTeX beyond `\\frac`) are out of scope here.
"""

from __future__ import annotations

import re
from fractions import Fraction

_NUMBER = r"-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?%?|-?\$?\.\d+%?"
_NUMBER_RE = re.compile(rf"(?<![\w.])(?:{_NUMBER})")
_HASHES = re.compile(r"^[ \t]*####[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_BOXED = re.compile(r"\\boxed\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_ANSWER = re.compile(r"answer(?:\s+is|\s*:|\s*=)[ \t]*", re.IGNORECASE)
_NUMERIC = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:/\d+)?")
_MIXED = re.compile(r"(-?\d+)\s+(\d+)/(\d+)")
_MIXED_START = re.compile(r"\s*(-?\d+ \d+/\d+)(?![\d/])")
_FRAC = re.compile(r"\\d?frac\{(-?\d+)\}\{(\d+)\}")


def _clean(text: str) -> str:
    """Strip what surrounds an answer: `$`, commas, `%`, spaces, a trailing period."""
    text = _FRAC.sub(r"\1/\2", text.strip())
    text = text.replace("$", "").replace(",", "").replace("%", "").strip()
    return text.rstrip(".").strip()


def _first_number_or_text(text: str) -> str:
    """The first number (or mixed number) in an answer phrase, else the phrase itself."""
    text = _FRAC.sub(r"\1/\2", text)
    mixed = _MIXED_START.match(text)
    if mixed:
        return mixed.group(1)
    match = _NUMBER_RE.search(text)
    if match:
        return _clean(match.group())
    return _clean(re.split(r"(?<=\w)\.(?:\s|$)|\n", text, maxsplit=1)[0])


def extract_answer(text: str) -> str | None:
    """The final answer in `text`, cleaned, or None when there is nothing to take."""
    if not text:
        return None
    hashes = _HASHES.findall(text)
    if hashes:
        return _first_number_or_text(hashes[-1]) or None
    boxed = _BOXED.findall(text)
    if boxed:
        return _first_number_or_text(boxed[-1]) or None
    phrases = list(_ANSWER.finditer(text))
    if phrases:
        found = _first_number_or_text(text[phrases[-1].end() :].split("\n", 1)[0])
        if found:
            return found
    numbers = _NUMBER_RE.findall(_FRAC.sub(r"\1/\2", text))
    return _clean(numbers[-1]) if numbers else None


def _as_fraction(text: str) -> Fraction | None:
    """The exact value of a cleaned numeric answer, or None when it is not one."""
    mixed = _MIXED.fullmatch(text)
    if mixed:
        whole, num, den = (int(g) for g in mixed.groups())
        if den == 0:
            return None
        sign = -1 if whole < 0 or text.startswith("-") else 1
        return whole + sign * Fraction(num, den)
    compact = text.replace(" ", "")
    if not _NUMERIC.fullmatch(compact):
        return None
    try:
        return Fraction(compact)
    except (ValueError, ZeroDivisionError):
        return None


def answers_match(pred: str | None, gold: str) -> bool:
    """Whether a predicted answer equals the gold answer (numerically when both are numbers)."""
    if pred is None:
        return False
    p, g = _clean(pred), _clean(gold)
    if not p or not g:
        return False
    pv, gv = _as_fraction(p), _as_fraction(g)
    if pv is not None and gv is not None:
        return pv == gv
    return " ".join(p.lower().split()) == " ".join(g.lower().split())


def score(output_text: str, gold: str) -> float:
    """1.0 when the answer extracted from `output_text` matches `gold`, else 0.0."""
    return 1.0 if answers_match(extract_answer(output_text), gold) else 0.0
