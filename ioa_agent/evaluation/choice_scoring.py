"""Multiple-choice answer extraction for GPQA, following OpenAI simple-evals.

The answer is the letter of the first `Answer: X` (case-insensitive, optional `$`
around the letter), as simple-evals' ANSWER_PATTERN_MULTICHOICE; a response without
one is wrong. Prompt text and choice order live with the loader and the benchmark
registry; nothing here generates.
"""

from __future__ import annotations

import re
import time

from ioa_agent.evaluation.records import Verdict

ANSWER_PATTERN_MULTICHOICE = r"(?i)Answer[ \t]*:[ \t]*\$?([A-D])\$?"


def extract_choice(output: str) -> str | None:
    match = re.search(ANSWER_PATTERN_MULTICHOICE, output)
    return match.group(1).upper() if match else None


def score_choice(output: str, gold_letter: str) -> Verdict:
    start = time.perf_counter()
    letter = extract_choice(output)
    return Verdict(
        extracted=letter,
        correct=letter == gold_letter,
        error=None if letter else "no 'Answer: X' line",
        seconds=time.perf_counter() - start,
    )
