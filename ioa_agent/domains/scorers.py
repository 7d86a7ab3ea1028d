"""How a domain checks answers: the teacher's, the adapter's candidates, the student's.

One `Scorer` per run, chosen by the config: `arithmetic` (the built-in domain: exact
numbers), `math` (the final answer — "The answer is", `####`, `\\boxed{}` — equal
to the gold numerically, else by math-verify), `code` (the program passes the item's
tests in the sandbox) and `open` (ROUGE-L F against the reference above a threshold,
or the teacher as judge). It does not generate anything and holds no state besides
the judge it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ioa_agent.adapter.filters import normalized_question
from ioa_agent.answers import answers_match, extract_answer
from ioa_agent.domains import arithmetic
from ioa_agent.evaluation.math_scoring import math_equal
from ioa_agent.evaluation.sandbox import run_many
from ioa_agent.evaluation.text_scoring import rouge_l
from ioa_agent.items import Item

ScorerKind = Literal["arithmetic", "math", "code", "open"]
Judge = Callable[[list[tuple[str, str, str]]], list[bool | None]]

_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(text: str) -> str:
    """The first fenced code block of a reply, else the whole reply."""
    match = _FENCE.search(text)
    return (match.group(1) if match else text).strip()


def math_answers_equal(pred: str | None, gold: str) -> bool:
    """Numerically equal (the answer as given, or the final answer read out of it, as in
    "12 years old"), else equal by math-verify (parse failures count as wrong)."""
    if pred is None or not pred.strip():
        return False
    if answers_match(pred, gold) or answers_match(extract_answer(pred), gold):
        return True

    try:
        return math_equal(gold, pred, boxed_prediction=False)
    except Exception:
        return False


@dataclass
class Scorer:
    """Checks answers against gold items by the domain's rules."""

    kind: ScorerKind = "arithmetic"
    rouge_threshold: float = 0.5
    judge: Judge | None = None

    def extract(self, output: str) -> str:
        """What a model's free-form output answers: final answer, program, or the text."""
        if self.kind == "code":
            return extract_code(output)
        if self.kind == "open":
            return output.strip()
        return extract_answer(output) or ""

    def content_key(self, prompt: str) -> str:
        """What a question asks, for the probe filter: the operation and operands of an
        arithmetic problem (any phrasing), else the normalized question."""
        if self.kind == "arithmetic":
            found = arithmetic.content_key(prompt)
            if found is not None:
                return found
        return normalized_question(prompt)

    def stated_keys(self, text: str) -> set[str]:
        """The probe contents a worked text computes on its way, for the probe filter: an
        arithmetic text's bare operations ("3 × 4" in "3 × 4 = 12; 20 - 12 = 8"); none in
        other domains, whose probes are matched by their questions."""
        return arithmetic.stated_keys(text) if self.kind == "arithmetic" else set()

    def check(self, items: list[Item], answers: list[str | None]) -> list[bool]:
        """Is each answer (already extracted) right for its item."""
        if self.kind == "arithmetic":
            return [answers_match(a, it.answer) for it, a in zip(items, answers, strict=True)]
        if self.kind == "math":
            return [math_answers_equal(a, it.answer) for it, a in zip(items, answers, strict=True)]
        if self.kind == "code":
            return self._run_tests(items, answers)
        return self._open(items, answers)

    def check_outputs(self, items: list[Item], outputs: list[str]) -> list[tuple[str, bool]]:
        """(extracted answer, correct) for each model output."""
        extracted = [self.extract(o) for o in outputs]
        return list(zip(extracted, self.check(items, list(extracted)), strict=True))

    def _run_tests(self, items: list[Item], programs: list[str | None]) -> list[bool]:

        todo = [i for i, p in enumerate(programs) if p and items[i].tests]
        sources = [f"{programs[i]}\n\n" + "\n".join(items[i].tests) for i in todo]
        results = run_many(sources) if sources else []
        passed = [False] * len(items)
        for i, result in zip(todo, results, strict=True):
            passed[i] = result.passed
        return passed

    def _open(self, items: list[Item], answers: list[str | None]) -> list[bool]:
        if self.judge is not None:
            triples = [
                (it.prompt, it.answer, a or "") for it, a in zip(items, answers, strict=True)
            ]
            return [bool(v) for v in self.judge(triples)]

        return [
            bool(a) and rouge_l(a or "", [it.answer]) >= self.rouge_threshold
            for it, a in zip(items, answers, strict=True)
        ]
