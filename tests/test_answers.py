"""Answer extraction and matching: the formats students and teachers write answers in."""

from __future__ import annotations

import pytest

from ioa_agent.answers import answers_match, extract_answer, score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#### 12", "12"),
        ("First 3 + 4 = 7.\n#### 1,200\n", "1200"),
        ("#### 7\nThe answer is 9.", "7"),
        ("The answer is 12.", "12"),
        ("47+38: 7+8=15, carry 1; 4+3+1=8. So 85.\nThe answer is 85.", "85"),
        ("The answer is 4. Wait, the answer is 5.", "5"),
        ("answer: $1,200.", "1200"),
        ("Final answer: 25%", "25"),
        ("The answer is 3/4. Then 7 more.", "3/4"),
        ("The answer is 1 5/12.", "1 5/12"),
        ("The answer is twelve.", "twelve"),
        ("\\boxed{\\frac{3}{4}}", "3/4"),
        ("I think 3 and then 4/5", "4/5"),
        ("x = 0.75", "0.75"),
        ("It cost $2,345 in total.", "2345"),
        ("82-47=35", "35"),
        ("It was -5 degrees", "-5"),
    ],
)
def test_extract_answer(text: str, expected: str) -> None:
    assert extract_answer(text) == expected


@pytest.mark.parametrize("text", ["", "no digits at all", "The answer is"])
def test_extract_answer_none(text: str) -> None:
    assert extract_answer(text) is None


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("3/4", "0.75"),
        ("6/8", "3/4"),
        ("0.75", "6/8"),
        ("1,200", "1200"),
        ("$5", "5"),
        ("25%", "25"),
        ("12.", "12"),
        ("12.0", "12"),
        ("4/4", "1"),
        ("1 5/12", "17/12"),
        ("-3", "-3"),
        (" 7 ", "7"),
        ("Twelve", "twelve"),
    ],
)
def test_answers_match(pred: str, gold: str) -> None:
    assert answers_match(pred, gold)


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        (None, "12"),
        ("", "12"),
        ("12", ""),
        ("13", "12"),
        ("3/4", "4/3"),
        ("3/0", "0"),
        ("-3", "3"),
        ("1200", "120"),
        ("twelve", "12"),
    ],
)
def test_answers_do_not_match(pred: str | None, gold: str) -> None:
    assert not answers_match(pred, gold)


def test_score() -> None:
    assert score("Step 1: 6×7=42.\nThe answer is 42.", "42") == 1.0
    assert score("The answer is 41.", "42") == 0.0
    assert score("I am not sure.", "42") == 0.0
    assert score("so 17/12 in all", "1 5/12") == 1.0
