"""GSM8K, MATH-500 and AIME scorers checked against the benchmarks' own gold answers."""

from __future__ import annotations

import re
import threading
from fractions import Fraction
from pathlib import Path

import pytest

from ioa_agent.evaluation.loaders import load_aime24, load_gsm8k, load_math500
from ioa_agent.evaluation.math_scoring import (
    extract_math_answer,
    final_answer_line,
    gsm8k_flexible,
    gsm8k_strict,
    last_boxed,
    math_equal,
    score_gsm8k,
    score_math,
    score_math_batch,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "gsm8k" / "test.jsonl").is_file(), reason=f"shared benchmark data absent at {DATA}"
)


def _with_commas(gold: str) -> str:
    sign, digits = ("-", gold[1:]) if gold.startswith("-") else ("", gold)
    whole, _, frac = digits.partition(".")
    return sign + f"{int(whole):,}" + (f".{frac}" if frac else "")


def _gsm8k_forms(gold: str) -> dict[str, tuple[str, bool]]:
    """Surface forms of a gold answer -> (text, strict rule should also accept it)."""
    commas = _with_commas(gold)
    return {
        "hashes": (f"She pays 3 + 4 = 7 dollars.\n#### {gold}", True),
        "hashes_commas": (f"Total: 12 items.\n#### {commas}", True),
        "answer_is": (f"So 5 * 2 = 10 per box. The answer is {gold}.", True),
        "answer_is_commas": (f"Adding up, The answer is {commas}.", True),
        "dollar": (f"So the total cost is ${commas}", False),
        "trailing_period": (f"3 apples and 4 pears, so the result is {gold}.", False),
        "boxed": (f"Therefore the answer is \\boxed{{{commas}}}", False),
        "answer_is_dollar": (f"The answer is ${gold}", False),
    }


def _perturbed(gold: str) -> str:
    return str(int(gold) + 1) if re.fullmatch(r"-?\d+", gold) else str(float(gold) + 1)


@needs_data
def test_gsm8k_every_gold_in_every_surface_form() -> None:
    problems = load_gsm8k(DATA)
    assert len(problems) == 1319
    checked = flexible_ok = strict_checked = strict_ok = perturbed_wrong = 0
    failures: list[tuple[str, str, str]] = []
    for problem in problems:
        for name, (text, strict_applies) in _gsm8k_forms(problem.gold).items():
            verdict = score_gsm8k(text, problem.gold)
            checked += 1
            flexible_ok += bool(verdict.correct)
            if not verdict.correct:
                failures.append((problem.id, name, text))
            if strict_applies:
                strict_checked += 1
                strict_ok += bool(verdict.details["correct_strict"])
        wrong = score_gsm8k(f"The answer is {_perturbed(problem.gold)}.", problem.gold)
        perturbed_wrong += not wrong.correct and not wrong.details["correct_strict"]
    rates = (flexible_ok / checked, strict_ok / strict_checked, perturbed_wrong / len(problems))
    print(f"GSM8K flexible {rates[0]:.4f}, strict {rates[1]:.4f}, perturbed wrong {rates[2]:.4f}")
    # Measured: flexible 1.0000 (10552 forms), strict 1.0000 (5276), perturbed wrong 1.0000.
    assert rates == (1.0, 1.0, 1.0), failures[:5]


def test_gsm8k_lm_eval_rules() -> None:
    assert gsm8k_strict("blah\n#### 1,234\nThe answer is 5.") == "1,234"
    assert gsm8k_strict("The answer is 42.") == "42"
    assert gsm8k_strict("the result is 42") is None
    assert gsm8k_flexible("1 then 22 then $3,000.") == "$3,000."
    assert gsm8k_flexible("no digits") is None
    verdict = score_gsm8k("I think it is 17", "18")
    assert verdict.correct is False and verdict.extracted == "17"
    assert score_gsm8k("nothing", "18").error == "no number in the output"


def _math_forms(gold: str) -> dict[str, str]:
    forms = {
        "boxed": f"So the answer is $\\boxed{{{gold}}}$.",
        "minerva": f"Final Answer: The final answer is ${gold}$. I hope it is correct.",
        "last_line": f"Putting it together we get\n${gold}$",
    }
    if "\\frac" in gold:
        forms["dfrac"] = "\\boxed{" + gold.replace("\\frac", "\\dfrac") + "}"
    if "\\dfrac" in gold:
        forms["frac"] = "\\boxed{" + gold.replace("\\dfrac", "\\frac") + "}"
    if "\\left" in gold or "\\right" in gold:
        plain = gold.replace("\\left", "").replace("\\right", "")
        forms["no_left_right"] = "\\boxed{" + plain + "}"
    value = _rational(gold)
    if value is not None and _terminates(value):
        forms["decimal"] = f"\\boxed{{{float(value)}}}"
    return forms


def _rational(gold: str) -> Fraction | None:
    match = re.fullmatch(r"(-?)\\d?frac\{(\d+)\}\{(\d+)\}", gold)
    if match:
        sign = -1 if match.group(1) else 1
        return sign * Fraction(int(match.group(2)), int(match.group(3)))
    if re.fullmatch(r"-?\d+(\.\d+)?", gold):
        return Fraction(gold)
    return None


def _terminates(value: Fraction) -> bool:
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _math_perturbed(gold: str) -> str:
    value = _rational(gold)
    if value is None:
        return f"\\boxed{{{gold}+1}}"
    return f"\\boxed{{{value + 1}}}" if value.denominator == 1 else f"\\boxed{{{float(value) + 1}}}"


@needs_data
def test_math500_golds_against_their_solutions_and_surface_forms() -> None:
    problems = load_math500(DATA)
    assert len(problems) == 500
    own = sum(bool(score_math(p.extra["solution"], p.gold).correct) for p in problems)
    forms_total = forms_ok = perturbed_wrong = 0
    failures: list[tuple[str, str, str]] = []
    for problem in problems:
        for name, text in _math_forms(problem.gold).items():
            forms_total += 1
            if score_math(text, problem.gold).correct:
                forms_ok += 1
            else:
                failures.append((problem.id, name, text))
        perturbed_wrong += not score_math(_math_perturbed(problem.gold), problem.gold).correct
    rates = (own / 500, forms_ok / forms_total, perturbed_wrong / 500)
    print(f"MATH-500 solutions {rates[0]:.4f}, forms {rates[1]:.4f} of {forms_total}, ", end="")
    print(f"perturbed wrong {rates[2]:.4f}")
    # Measured: solutions 1.0000 (500/500), forms 1.0000 (1919/1919), perturbed wrong 1.0000.
    assert rates[0] >= 0.99
    assert rates[1] >= 0.98, failures[:10]
    assert rates[2] >= 0.98


@needs_data
def test_aime_golds_against_their_solutions() -> None:
    problems = load_aime24(DATA)
    assert len(problems) == 30 and {p.id for p in problems} == {str(i) for i in range(60, 90)}
    agree = sum(bool(score_math(p.extra["solution"], p.gold).correct) for p in problems)
    forms = sum(
        bool(score_math(text, p.gold).correct)
        for p in problems
        for text in (f"\\boxed{{{p.gold}}}", f"The final answer is ${p.gold:0>3}$.")
    )
    wrong = sum(not score_math(f"\\boxed{{{int(p.gold) + 1}}}", p.gold).correct for p in problems)
    print(f"AIME solutions agree {agree}/30, forms {forms}/60, perturbed wrong {wrong}/30")
    # Measured: solutions 29/30 (id 75 boxes `\textbf{(073)}`); forms 60/60; wrong 30/30.
    assert agree >= 27 and forms == 60 and wrong == 30


def test_boxed_and_final_line_extraction() -> None:
    assert last_boxed("a \\boxed{1} then \\boxed{\\frac{1}{2}}.") == "\\frac{1}{2}"
    assert last_boxed("\\boxed{\\left\\{ 1, 2 \\right\\}}") == "\\left\\{ 1, 2 \\right\\}"
    assert last_boxed("\\fbox{7}") == "7"
    assert last_boxed("\\boxed 5.") == "5"
    assert last_boxed("no box") is None
    assert final_answer_line("work\nThe final answer is $12$. I hope it is correct.") == "12"
    assert extract_math_answer("steps\n\nx = 3") == "x = 3"
    assert score_math("", "3").error == "no answer found"


def test_math_verify_off_the_main_thread_has_no_signal_timeouts() -> None:
    results: list[bool] = []
    worker = threading.Thread(target=lambda: results.append(math_equal("\\frac{1}{2}", "0.5")))
    worker.start()
    worker.join(timeout=60)
    assert results == [True]


def test_batch_scoring_off_the_main_thread_uses_worker_processes() -> None:
    pairs = [("\\boxed{\\frac{1}{2}}", "0.5"), ("\\boxed{3}", "4"), ("x = 2", "2")]
    results: list[list[bool | None]] = []
    ticks: list[int] = []

    def work() -> None:
        verdicts = score_math_batch(pairs, workers=1, progress=ticks.append)
        results.append([v.correct for v in verdicts])

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=120)
    assert results == [[True, False, True]] and ticks == [1, 1, 1]
    assert [v.correct for v in score_math_batch(pairs)] == [True, False, True]
