"""Scoring of free-text answers (DollyEval, VicunaEval) and the LLM-judge extension point.

ROUGE-L follows MiniLLM: rouge-score's `RougeScorer(["rougeL"], use_stemmer=True)`,
F-measure of the output against each reference, maximum over references; the summary
averages items per seed and then over seeds (MiniLLM reports 5 sampling seeds).

A judge (e.g. the teacher grading the student's answer) plugs in through the `Judge`
protocol: `score_text(..., judge=...)` adds its 0-1 score per sample as `judge_score`.
No judge ships yet: the teacher interface has no grading task. This module does not
generate text.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Protocol

from ioa_agent.evaluation.records import Problem, Verdict

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer


class Judge(Protocol):
    """Grades an answer to a question, optionally against references; returns 0-1."""

    def grade(self, question: str, answer: str, references: tuple[str, ...]) -> float: ...


@functools.cache
def _scorer() -> RougeScorer:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(output: str, references: tuple[str, ...] | list[str]) -> float:
    """Max over references of the ROUGE-L F-measure (0-1); 0 without references."""
    scorer = _scorer()
    scores = [scorer.score(reference, output)["rougeL"].fmeasure for reference in references]
    return max(scores, default=0.0)


def score_text(problem: Problem, output: str, judge: Judge | None = None) -> Verdict:
    """ROUGE-L verdict (no right/wrong: `correct` is None), plus the judge's score if any."""
    start = time.perf_counter()
    details: dict[str, float] = {}
    if judge is not None:
        details["judge_score"] = float(judge.grade(problem.question, output, problem.references))
    return Verdict(
        extracted=None,
        correct=None,
        score=rouge_l(output, problem.references),
        seconds=time.perf_counter() - start,
        details=details,
    )
