"""The benchmark registry: names, prompts, generation budgets, loaders and scorers.

Each benchmark says how its problems are loaded (`DataSources` carries the user's
paths), how a problem becomes the one user turn the student sees, how many new tokens
it may write, which scorer judges it, and whether it is sampled with seeds by default
(Dolly and Vicuna: MiniLLM's five seeds) or decoded greedily.

Prompts are zero-shot instructions for a chat model. Nothing here generates or scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ioa_agent.evaluation import loaders, user_loaders
from ioa_agent.evaluation.records import Problem

MINILLM_SEEDS = (10, 20, 30, 40, 50)


@dataclass(frozen=True)
class DataSources:
    """Where data comes from: a local data folder (else the hub) and the user's files."""

    data_dir: Path | None = None
    dolly_file: Path | None = None
    vicuna_file: Path | None = None
    lcb_file: Path | None = None
    gpqa_file: Path | None = None
    mbpp_split: str = "test"
    gpqa_seed: int = user_loaders.GPQA_CHOICE_SEED


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    scorer: str  # "gsm8k" | "math" | "code" | "text" | "choice"
    max_new_tokens: int
    prompt: Callable[[Problem], str]
    load: Callable[[DataSources], list[Problem]]
    default_seeds: tuple[int, ...] | None = None


def _gsm8k_prompt(problem: Problem) -> str:
    return (
        f"{problem.question}\n\nSolve the problem step by step. End with a last line of "
        'the form "The answer is N." where N is the final number.'
    )


def _math_prompt(problem: Problem) -> str:
    return (
        f"{problem.question}\n\nPlease reason step by step, and put your final answer "
        "within \\boxed{}."
    )


def _humaneval_prompt(problem: Problem) -> str:
    return (
        "Complete the following Python function. Reply with the complete function in "
        f"one ```python code block.\n\n```python\n{problem.extra['prompt']}```"
    )


def _mbpp_prompt(problem: Problem) -> str:
    tests = "\n".join(problem.extra["test_list"])
    return (
        f"You are an expert Python programmer, and here is your task: {problem.question} "
        f"Your code should pass these tests:\n\n{tests}\n\n"
        "Reply with the code in one ```python code block."
    )


def _lcb_prompt(problem: Problem) -> str:
    head = (
        "You will be given a question (problem specification) and will generate a correct "
        "Python program that matches the specification and passes all tests.\n\n"
        f"Question: {problem.question}\n\n"
    )
    starter = problem.extra.get("starter_code") or ""
    if starter:
        return head + (
            "You will use the following starter code to write the solution to the problem "
            f"and enclose your code within delimiters.\n```python\n{starter}\n```"
        )
    return head + (
        "Read the inputs from stdin, solve the problem and write the answer to stdout. "
        "Enclose your code within delimiters as follows.\n```python\n# YOUR CODE HERE\n```"
    )


def _gpqa_prompt(problem: Problem) -> str:
    choices = "\n".join(
        f"{letter}) {choice}"
        for letter, choice in zip(user_loaders.LETTERS, problem.extra["choices"], strict=True)
    )
    return (
        "Answer the following multiple choice question. The last line of your response "
        "should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER "
        f"is one of ABCD. Think step by step before answering.\n\n{problem.question}\n\n"
        f"{choices}"
    )


def _text_prompt(problem: Problem) -> str:
    return problem.question


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        Benchmark(
            "gsm8k", "GSM8K", "gsm8k", 320, _gsm8k_prompt, lambda s: loaders.load_gsm8k(s.data_dir)
        ),
        Benchmark(
            "math500",
            "MATH-500",
            "math",
            768,
            _math_prompt,
            lambda s: loaders.load_math500(s.data_dir),
        ),
        Benchmark(
            "aime24",
            "AIME 2024",
            "math",
            1024,
            _math_prompt,
            lambda s: loaders.load_aime24(s.data_dir),
        ),
        Benchmark(
            "humaneval",
            "HumanEval",
            "code",
            384,
            _humaneval_prompt,
            lambda s: loaders.load_humaneval(s.data_dir),
        ),
        Benchmark(
            "mbpp",
            "MBPP (sanitized)",
            "code",
            384,
            _mbpp_prompt,
            lambda s: loaders.load_mbpp(s.data_dir, s.mbpp_split),
        ),
        Benchmark(
            "lcb",
            "LiveCodeBench",
            "code",
            1024,
            _lcb_prompt,
            lambda s: user_loaders.load_lcb(s.lcb_file),
        ),
        Benchmark(
            "gpqa",
            "GPQA-Diamond",
            "choice",
            768,
            _gpqa_prompt,
            lambda s: user_loaders.load_gpqa(s.gpqa_file, s.gpqa_seed),
        ),
        Benchmark(
            "dolly",
            "DollyEval",
            "text",
            256,
            _text_prompt,
            lambda s: user_loaders.load_dolly(s.dolly_file),
            MINILLM_SEEDS,
        ),
        Benchmark(
            "vicuna",
            "VicunaEval",
            "text",
            256,
            _text_prompt,
            lambda s: user_loaders.load_vicuna(s.vicuna_file, s.data_dir),
            MINILLM_SEEDS,
        ),
    ]
}

ALIASES = {
    "math-500": "math500",
    "math": "math500",
    "aime": "aime24",
    "aime2024": "aime24",
    "livecodebench": "lcb",
    "gpqa-diamond": "gpqa",
    "gpqa_diamond": "gpqa",
    "dollyeval": "dolly",
    "vicunaeval": "vicuna",
}


def resolve_benchmarks(spec: str) -> list[Benchmark]:
    """Benchmarks named in a comma-separated list (case-insensitive, aliases allowed)."""
    names = [part.strip().lower() for part in spec.split(",") if part.strip()]
    if not names:
        raise ValueError(f"--bench is empty: choose from {', '.join(BENCHMARKS)}")
    chosen: list[Benchmark] = []
    for name in names:
        key = ALIASES.get(name, name)
        if key not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {name!r}: choose from {', '.join(BENCHMARKS)}")
        if BENCHMARKS[key] not in chosen:
            chosen.append(BENCHMARKS[key])
    return chosen
