"""Evaluate one benchmark: pick problems, get samples, score them, summarise.

Samples come either from the student (`generation`) or from a predictions file of
`{"id": ..., "output": ...}` lines (several lines with one id are several samples;
an optional `seed` field groups text samples by seed). Scoring dispatches on the
benchmark's scorer; the summary holds n, sample count, and accuracy, both GSM8K
match rules, pass@k, or mean ROUGE-L (per seed, then averaged over seeds).

Writing files and drawing progress bars is `report`'s job; argument parsing is `cli`'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ioa_agent.evaluation import generation
from ioa_agent.evaluation.benchmarks import Benchmark
from ioa_agent.evaluation.choice_scoring import score_choice
from ioa_agent.evaluation.code_scoring import score_code
from ioa_agent.evaluation.math_scoring import score_gsm8k, score_math_batch
from ioa_agent.evaluation.passk import counts_by_problem, mean_pass_at_k
from ioa_agent.evaluation.records import Problem, Sample, Verdict
from ioa_agent.evaluation.sandbox import SandboxLimits
from ioa_agent.evaluation.text_scoring import Judge, score_text

Progress = Callable[[int], None]


class PredictionsError(ValueError):
    """A predictions file that cannot be scored; the message says what to fix."""


@dataclass(frozen=True)
class EvalSettings:
    limit: int | None = None
    seeds: tuple[int, ...] | None = None
    batch_size: int = 16
    max_new_tokens: int | None = None
    workers: int = 2
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    ks: tuple[int, ...] = (1, 5, 10)
    judge: Judge | None = None


@dataclass
class BenchRun:
    bench: Benchmark
    problems: list[Problem]
    samples: list[Sample]
    verdicts: list[Verdict]
    missing: int = 0


def first(problems: list[Problem], limit: int | None) -> list[Problem]:
    return problems if limit is None else problems[:limit]


def read_predictions(
    path: Path, bench: Benchmark, problems: list[Problem], limit: int | None = None
) -> tuple[list[Problem], list[Sample]]:
    """The problems named in a predictions file (first `limit` of them) and their samples."""
    known = {problem.id: problem for problem in problems}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionsError(f"cannot read predictions file {path}: {exc}") from exc
    samples: list[Sample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PredictionsError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or "id" not in row or "output" not in row:
            raise PredictionsError(f'{path}:{number}: need {{"id": ..., "output": ...}}')
        problem_id = str(row["id"])
        if problem_id not in known:
            raise PredictionsError(
                f"{path}:{number}: id {problem_id!r} is not a {bench.title} id "
                f"(e.g. {next(iter(known), '?')!r})"
            )
        samples.append(Sample(problem_id, str(row["output"]), row.get("seed"), 0.0))
    if not samples:
        raise PredictionsError(f"{path} holds no predictions")
    wanted = {sample.problem_id for sample in samples}
    chosen = first([p for p in problems if p.id in wanted], limit)
    keep = {problem.id for problem in chosen}
    return chosen, [s for s in samples if s.problem_id in keep]


def generate_for(
    bench: Benchmark,
    problems: list[Problem],
    model_dir: Path,
    adapter_dir: Path | None,
    settings: EvalSettings,
    progress: Progress | None = None,
) -> list[Sample]:
    ids = [problem.id for problem in problems]
    prompts = [bench.prompt(problem) for problem in problems]
    tokens = settings.max_new_tokens or bench.max_new_tokens
    seeds = settings.seeds if settings.seeds is not None else bench.default_seeds
    if seeds:
        return generation.sampled_samples(
            model_dir, ids, prompts, seeds, adapter_dir, settings.batch_size, tokens, progress
        )
    return generation.greedy_samples(
        model_dir, ids, prompts, adapter_dir, settings.batch_size, tokens, progress
    )


def score(
    bench: Benchmark,
    problems: list[Problem],
    samples: list[Sample],
    settings: EvalSettings,
    progress: Progress | None = None,
) -> list[Verdict]:
    by_id = {problem.id: problem for problem in problems}
    if bench.scorer == "code":
        pairs = [(by_id[s.problem_id], s.output) for s in samples]
        return score_code(pairs, settings.sandbox, settings.workers, progress)
    if bench.scorer == "math":
        golds = [(s.output, by_id[s.problem_id].gold) for s in samples]
        return score_math_batch(golds, workers=1, progress=progress)
    verdicts = []
    for sample in samples:
        problem = by_id[sample.problem_id]
        if bench.scorer == "gsm8k":
            verdict = score_gsm8k(sample.output, problem.gold)
        elif bench.scorer == "choice":
            verdict = score_choice(sample.output, problem.gold)
        else:
            verdict = score_text(problem, sample.output, settings.judge)
        verdicts.append(verdict)
        if progress is not None:
            progress(1)
    return verdicts


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarize(run: BenchRun, ks: tuple[int, ...]) -> dict[str, Any]:
    """Per-benchmark summary (JSON-plain)."""
    bench, verdicts = run.bench, run.verdicts
    summary: dict[str, Any] = {
        "title": bench.title,
        "n": len(run.problems),
        "samples": len(run.samples),
        "errors": sum(1 for v in verdicts if v.error),
    }
    if run.missing:
        summary["missing"] = run.missing
    if bench.scorer == "text":
        groups: dict[Any, list[float]] = {}
        seen: dict[str, int] = {}
        for sample, verdict in zip(run.samples, verdicts, strict=True):
            index = seen.get(sample.problem_id, 0)
            seen[sample.problem_id] = index + 1
            key = sample.seed if sample.seed is not None else f"#{index}"
            groups.setdefault(key, []).append(verdict.score or 0.0)
        per_seed = {str(key): 100 * _mean(values) for key, values in groups.items()}
        summary["metric"] = "rougeL"
        summary["rougeL"] = _mean(list(per_seed.values()))
        summary["rougeL_per_seed"] = per_seed
        judged = [v.details["judge_score"] for v in verdicts if "judge_score" in v.details]
        if judged:
            summary["judge_score"] = _mean(judged)
        return summary
    correct = [bool(v.correct) for v in verdicts]
    summary["accuracy"] = _mean([float(c) for c in correct])
    summary["metric"] = "accuracy"
    if bench.scorer == "gsm8k":
        strict = [float(bool(v.details.get("correct_strict"))) for v in verdicts]
        summary["strict_match"] = _mean(strict)
        summary["flexible_extract"] = summary["accuracy"]
    if bench.scorer == "code":
        counts = counts_by_problem(
            (s.problem_id, c) for s, c in zip(run.samples, correct, strict=True)
        )
        summary.update(mean_pass_at_k(counts, ks))
        summary["metric"] = "pass@1"
    return summary
