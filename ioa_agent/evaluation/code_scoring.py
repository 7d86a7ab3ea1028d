"""Score code samples by running them against their benchmark's tests in the sandbox.

Each sample becomes one program (`code_programs`) run in its own sandboxed process
(`sandbox.run_many`, a small worker pool). A sample passes when its program runs to its
end with exit status 0; otherwise the verdict carries the error (last traceback line,
limit hit, early exit) and the failing test where one can be located.

pass@k over the verdicts is computed by `passk`; this module does not load data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ioa_agent.evaluation.code_programs import (
    Program,
    extract_code,
    failing_test,
    humaneval_program,
    lcb_program,
    mbpp_program,
)
from ioa_agent.evaluation.records import Problem, Verdict
from ioa_agent.evaluation.sandbox import SandboxLimits, SandboxResult, run_many

PROGRAM_BUILDERS: dict[str, Callable[[Problem, str], Program]] = {
    "humaneval": humaneval_program,
    "mbpp": mbpp_program,
    "lcb": lcb_program,
}


def build_program(problem: Problem, output: str) -> Program:
    try:
        builder = PROGRAM_BUILDERS[problem.bench]
    except KeyError:
        raise ValueError(f"{problem.bench!r} is not a code benchmark") from None
    return builder(problem, output)


def limits_for(problem: Problem, base: SandboxLimits) -> SandboxLimits:
    """LiveCodeBench runs all of a problem's tests in one process: scale its time."""
    if problem.bench != "lcb":
        return base
    tests = len(problem.extra.get("tests", ())) or 1
    return SandboxLimits(
        cpu_seconds=base.cpu_seconds + 2 * tests,
        wall_seconds=base.wall_seconds + 3 * tests,
        memory_bytes=base.memory_bytes,
        file_size_bytes=base.file_size_bytes,
        max_processes=base.max_processes,
        max_open_files=base.max_open_files,
        output_bytes=base.output_bytes,
    )


def verdict_from_run(program: Program, output: str, run: SandboxResult) -> Verdict:
    passed = run.passed
    return Verdict(
        extracted=extract_code(output),
        correct=passed,
        error=None if passed else run.reason,
        failing_test=None if passed else failing_test(program, run.stderr),
        seconds=run.wall_seconds,
    )


def score_code(
    pairs: Sequence[tuple[Problem, str]],
    limits: SandboxLimits | None = None,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> list[Verdict]:
    """One verdict per (problem, output), in order."""
    base = limits or SandboxLimits()
    programs = [build_program(problem, output) for problem, output in pairs]
    runs = run_many(
        [program.source for program in programs],
        [limits_for(problem, base) for problem, _ in pairs],
        workers=workers,
        progress=progress,
    )
    return [
        verdict_from_run(program, output, run)
        for program, (_, output), run in zip(programs, pairs, runs, strict=True)
    ]
