"""HumanEval and MBPP reference solutions pass in the sandbox; mutated ones fail."""

from __future__ import annotations

import ast
import json
import math
import time
import warnings
from pathlib import Path

import pytest

from ioa_agent.evaluation.code_programs import extract_code, humaneval_program, mbpp_program
from ioa_agent.evaluation.code_scoring import score_code
from ioa_agent.evaluation.loaders import load_humaneval, load_mbpp
from ioa_agent.evaluation.passk import counts_by_problem, mean_pass_at_k, pass_at_k
from ioa_agent.evaluation.records import Problem

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"  # HumanEval: the bundled copy
needs_mbpp = pytest.mark.skipif(
    not (DATA / "mbpp" / "sanitized-mbpp.json").is_file(),
    reason=f"shared benchmark data absent at {DATA}",
)

# Appended after a reference solution, this rebinds the tested functions so that every
# result is changed (a wrong value of the same kind where possible).
PERTURB = """

def _ioa_perturb(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float, complex)):
        return value * 2 + 1 if value != -1 else 0
    if isinstance(value, str):
        return value + "\\x00"
    if isinstance(value, tuple):
        return value + (object(),)
    if isinstance(value, list):
        return value + [object()]
    if isinstance(value, (set, frozenset)):
        return set(value) | {object()}
    if isinstance(value, dict):
        return {**value, object(): None}
    if value is None:
        return "mutant"
    return None if value else object()


def _ioa_mutate(function):
    def mutated(*args, **kwargs):
        return _ioa_perturb(function(*args, **kwargs))
    return mutated
"""


def _mutated(code: str, names: list[str]) -> str:
    rebinds = "".join(f"\n{name} = _ioa_mutate({name})" for name in names)
    return f"```python\n{code}\n{PERTURB}{rebinds}\n```"


def _tested_functions(problem: Problem) -> list[str]:
    with warnings.catch_warnings():  # some references have invalid escapes in regexes
        warnings.simplefilter("ignore")
        tree = ast.parse(problem.gold)
    defined = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    tests = "\n".join(problem.extra["test_list"])
    return [name for name in defined if f"{name}(" in tests]


def _report(label: str, verdicts: list, started: float) -> None:
    passed = sum(bool(v.correct) for v in verdicts)
    print(f"\n  {label}: {passed}/{len(verdicts)} pass in {time.monotonic() - started:.1f}s")


def test_all_humaneval_canonical_solutions_pass_and_mutants_fail() -> None:
    problems = load_humaneval(FIXTURES)
    assert len(problems) == 164
    full = [
        f"```python\n{p.extra['prompt']}{p.gold}```" for p in problems
    ]  # a chat-style answer: the whole function in a fence
    mutants = [_mutated(p.extra["prompt"] + p.gold, [p.extra["entry_point"]]) for p in problems]
    pairs = (
        [(p, p.gold) for p in problems]
        + list(zip(problems, full, strict=True))
        + list(zip(problems, mutants, strict=True))
    )
    started = time.monotonic()
    verdicts = score_code(pairs, workers=2)
    body, whole, mutated = verdicts[:164], verdicts[164:328], verdicts[328:]
    _report("HumanEval canonical (completion)", body, started)
    _report("HumanEval canonical (fenced function)", whole, started)
    _report("HumanEval mutated", mutated, started)
    # Measured: 164/164, 164/164 and 0/164 pass, about 15 s for all 492 runs on 2 shared cores.
    assert [p.id for p, v in zip(problems, body, strict=True) if not v.correct] == []
    assert [p.id for p, v in zip(problems, whole, strict=True) if not v.correct] == []
    assert [p.id for p, v in zip(problems, mutated, strict=True) if v.correct] == []
    assert all(v.failing_test or v.error for v in mutated)


@needs_mbpp
def test_all_mbpp_reference_solutions_pass_and_mutants_fail() -> None:
    problems = load_mbpp(DATA, split="all")
    assert len(problems) == 427
    assert len(load_mbpp(DATA)) == 257  # the test split (task ids 11-510)
    mutants = [_mutated(p.gold, _tested_functions(p)) for p in problems]
    started = time.monotonic()
    verdicts = score_code(
        [(p, p.gold) for p in problems] + list(zip(problems, mutants, strict=True)), workers=2
    )
    reference, mutated = verdicts[:427], verdicts[427:]
    _report("MBPP reference", reference, started)
    _report("MBPP mutated", mutated, started)
    # Measured: 427/427 and 0/427 pass, about 25-30 s for all 854 runs on 2 shared cores.
    assert [p.id for p, v in zip(problems, reference, strict=True) if not v.correct] == []
    assert [p.id for p, v in zip(problems, mutated, strict=True) if v.correct] == []
    failing = [v.failing_test for v in mutated]
    assert sum(bool(f and f.startswith("assert")) for f in failing) >= 0.95 * len(failing)


def test_failing_test_and_error_are_reported() -> None:
    problem = Problem(
        bench="mbpp",
        id="1",
        question="add",
        gold="def add(a, b):\n    return a + b\n",
        extra={"test_list": ["assert add(1, 2) == 3", "assert add(2, 2) == 5"], "test_imports": []},
    )
    (verdict,) = score_code([(problem, "def add(a, b):\n    return a + b\n")])
    assert verdict.correct is False
    assert verdict.failing_test == "assert add(2, 2) == 5"
    assert verdict.error == "AssertionError"
    (crash,) = score_code([(problem, "def add(a, b):\n    return a + c\n")])
    assert crash.failing_test == "assert add(1, 2) == 3"
    assert crash.error.startswith("NameError")


def test_code_extraction_and_program_assembly() -> None:
    text = "Here you go:\n```python\nimport math\n\ndef f(x):\n    return x\n```\nDone."
    assert extract_code(text) == "import math\n\ndef f(x):\n    return x\n"
    assert extract_code("```\nprint(1)\n```") == "print(1)\n"
    assert extract_code("    return 1\n") == "    return 1\n"
    problem = load_humaneval(FIXTURES)[0]
    program = humaneval_program(problem, "```python\ndef has_close_elements(n, t):\n  pass\n```")
    assert "from typing import List" in program.source
    tests = "\n".join(program.source.splitlines()[program.test_start_line - 1 :])
    assert tests.lstrip().startswith("METADATA")
    mbpp = Problem("mbpp", "2", "q", "", (), {"test_list": ["assert f() == 1"], "test_imports": []})
    assembled = mbpp_program(mbpp, "def f():\n    return 1")
    assert assembled.source.splitlines()[assembled.test_start_line - 1] == "assert f() == 1"


def _lcb_problem(tests: list[dict], func: str | None = None) -> Problem:
    return Problem("lcb", "p1", "q", extra={"tests": tests, "func_name": func})


def test_livecodebench_stdin_and_functional_tests() -> None:
    stdin_tests = [
        {"input": "1 2\n", "output": "3\n", "testtype": "stdin"},
        {"input": "2.5 0.25\n", "output": "2.75", "testtype": "stdin"},
    ]
    good = "a, b = input().split()\nprint(float(a) + float(b) if '.' in a else int(a) + int(b))"
    bad = "print(0)"
    functional = [{"input": "[1, 2]\n3", "output": "[0, 1]", "testtype": "functional"}]
    solution = (
        "class Solution:\n    def twoSum(self, nums, target):\n"
        "        return [0, 1] if nums[0] + nums[1] == target else []\n"
    )
    verdicts = score_code(
        [
            (_lcb_problem(stdin_tests), f"```python\n{good}\n```"),
            (_lcb_problem(stdin_tests), bad),
            (_lcb_problem(functional, "twoSum"), solution),
            (_lcb_problem(functional, "twoSum"), solution.replace("[0, 1] if", "[1, 0] if")),
        ]
    )
    assert [v.correct for v in verdicts] == [True, False, True, False]
    assert "test 0 failed" in (verdicts[1].failing_test or "")


def test_pass_at_k_unbiased_estimator() -> None:
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 5) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    expected = 1 - math.comb(10 - 3, 5) / math.comb(10, 5)
    assert pass_at_k(10, 3, 5) == pytest.approx(expected)
    assert pass_at_k(5, 4, 2) == 1.0  # n - c < k
    counts = counts_by_problem([("a", True), ("a", False), ("b", False), ("b", False)])
    assert counts == {"a": (2, 1), "b": (2, 0)}
    assert mean_pass_at_k(counts, (1, 2, 5)) == {"pass@1": 0.25, "pass@2": 0.5}
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_results_are_json_plain() -> None:
    problem = load_humaneval(FIXTURES)[0]
    (verdict,) = score_code([(problem, problem.gold)])
    json.dumps(verdict.__dict__)
