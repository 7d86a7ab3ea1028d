"""The plain data passed between loaders, generation, scoring and the report.

A `Problem` is one benchmark item as loaded (question, gold, bench-specific fields); a
`Sample` is one model output for a problem (several per problem for pass@k or seeds);
a `Verdict` is what a scorer says about one sample. This module holds no logic beyond
turning them into the JSON lines of `results.jsonl`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One benchmark item.

    `id` is the benchmark's own id as a string (GSM8K: the 0-based line number of
    test.jsonl; MATH-500: `unique_id`; AIME: the problem id; HumanEval/MBPP: `task_id`).
    `question` is the raw task text; `gold` the reference answer (for code, the
    reference solution); `references` the reference texts of text benchmarks; `extra`
    holds bench-specific fields (tests, entry point, choices...).
    """

    bench: str
    id: str
    question: str
    gold: str = ""
    references: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """One output for one problem; `seed` is None for greedy decoding."""

    problem_id: str
    output: str
    seed: int | None = None
    gen_seconds: float = 0.0


@dataclass
class Verdict:
    """A scorer's judgement of one sample.

    `correct` is None where the benchmark has no right/wrong (ROUGE-L scored text);
    `score` is the numeric score there. `error` says what went wrong (no answer found,
    exception, timeout) and `failing_test` which test failed, where known. `details`
    holds bench-specific extras (e.g. GSM8K's strict-match verdict).
    """

    extracted: str | None
    correct: bool | None
    score: float | None = None
    error: str | None = None
    failing_test: str | None = None
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


def result_line(bench: str, sample: Sample, index: int, verdict: Verdict) -> dict[str, Any]:
    """One line of results.jsonl (JSON-plain)."""
    line: dict[str, Any] = {
        "bench": bench,
        "id": sample.problem_id,
        "sample": index,
        "seed": sample.seed,
        "output": sample.output,
        "extracted": verdict.extracted,
        "correct": verdict.correct,
    }
    if verdict.score is not None:
        line["score"] = verdict.score
    line["time"] = round(sample.gen_seconds + verdict.seconds, 4)
    line["gen_seconds"] = round(sample.gen_seconds, 4)
    line["score_seconds"] = round(verdict.seconds, 4)
    if verdict.error:
        line["error"] = verdict.error
    if verdict.failing_test:
        line["failing_test"] = verdict.failing_test
    line.update(verdict.details)
    return line


def result_lines(
    bench: str, samples: list[Sample], verdicts: list[Verdict]
) -> list[dict[str, Any]]:
    """results.jsonl lines of one benchmark; `sample` counts samples within each id."""
    seen: dict[str, int] = {}
    lines = []
    for sample, verdict in zip(samples, verdicts, strict=True):
        index = seen.get(sample.problem_id, 0)
        seen[sample.problem_id] = index + 1
        lines.append(result_line(bench, sample, index, verdict))
    return lines
