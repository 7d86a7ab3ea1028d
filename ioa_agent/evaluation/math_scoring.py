"""Answer extraction and checking for GSM8K, MATH-500 and AIME 2024.

GSM8K follows lm-evaluation-harness exactly: "strict-match" takes the first
`#### <number>` (task `gsm8k`), else the first `The answer is <number>.` (task
`gsm8k-cot-zeroshot`); "flexible-extract" takes the last number-like match of
`(-?[$0-9.,]{2,})|(-?[0-9]+)`. Both are compared by exact match after deleting `,`,
`$`, everything up to `#### ` and a trailing `.`, ignoring case; the regexes are
lm-eval's own (gsm8k.yaml, gsm8k-cot-zeroshot.yaml). Both verdicts are reported; the
flexible one is the sample's `correct`.

MATH-500 and AIME take the content of the last `\\boxed{...}` (or `\\fbox{...}`), else
the final answer line (a Minerva-style "The final answer is X", else the last
non-empty line), and check it with math-verify as `verify(parse(gold), parse(pred))`.
math-verify bounds its own time with SIGALRM, which only works on a process's main
thread; elsewhere its timeouts are switched off, and `score_math_batch` then scores
in worker processes (each on its main thread) instead.

Nothing here generates answers or runs code.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from ioa_agent.evaluation.records import Verdict

GSM8K_STRICT_PATTERNS = (r"#### (\-?[0-9\.\,]+)", r"The answer is (\-?[0-9\.\,]+).")
GSM8K_FLEXIBLE_PATTERN = r"(-?[$0-9.,]{2,})|(-?[0-9]+)"
GSM8K_IGNORE = (",", r"\$", r"(?s).*#### ", r"\.$")
INVALID = "[invalid]"
MATH_TIMEOUT_SECONDS = 5


def _regex_filter(text: str, pattern: str, group_select: int) -> str:
    """lm-eval's RegexFilter for one response."""
    matches = re.findall(pattern, text)
    if not matches:
        return INVALID
    match = matches[group_select]
    if isinstance(match, tuple):
        parts = [m for m in match if m]
        match = parts[0] if parts else INVALID
    return match.strip()


def gsm8k_strict(text: str) -> str | None:
    """The strict-match answer, or None when no pattern matches."""
    for pattern in GSM8K_STRICT_PATTERNS:
        found = _regex_filter(text, pattern, 0)
        if found != INVALID:
            return found
    return None


def gsm8k_flexible(text: str) -> str | None:
    """The flexible-extract answer (last number-like match), or None."""
    found = _regex_filter(text, GSM8K_FLEXIBLE_PATTERN, -1)
    return None if found == INVALID else found


def gsm8k_normalize(text: str) -> str:
    """lm-eval's exact-match normalisation for GSM8K (regexes_to_ignore, ignore_case)."""
    for pattern in GSM8K_IGNORE:
        text = re.sub(pattern, "", text)
    return text.lower()


def gsm8k_gold(answer_field: str) -> str:
    """The gold number of a GSM8K `answer` field (text after the last `#### `)."""
    return gsm8k_normalize(answer_field).strip()


def score_gsm8k(output: str, gold: str) -> Verdict:
    """Both lm-eval verdicts; `correct` is flexible-extract, strict goes in details."""
    start = time.perf_counter()
    target = gsm8k_normalize(gold)
    strict, flexible = gsm8k_strict(output), gsm8k_flexible(output)
    strict_ok = strict is not None and gsm8k_normalize(strict) == target
    flexible_ok = flexible is not None and gsm8k_normalize(flexible) == target
    return Verdict(
        extracted=flexible,
        correct=flexible_ok,
        error=None if flexible is not None else "no number in the output",
        seconds=time.perf_counter() - start,
        details={"extracted_strict": strict, "correct_strict": strict_ok},
    )


def last_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` / `\\fbox{...}` (braces balanced), or None.

    Also accepts the brace-less form `\\boxed 5`.
    """
    index = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if index < 0:
        return None
    rest = text[index:]
    rest = rest[len("\\boxed") :] if rest.startswith("\\boxed") else rest[len("\\fbox") :]
    if rest.startswith(" ") and not rest.lstrip().startswith("{"):
        token = rest.strip().split()[0] if rest.strip() else ""
        return token.rstrip("$.") or None
    rest = rest.lstrip()
    if not rest.startswith("{"):
        return None
    depth = 0
    for position, char in enumerate(rest):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return rest[1:position].strip()
    return None


_FINAL_ANSWER = re.compile(r"final answer is[:\s]*(.+?)(?:\.\s*I hope it is correct\.?)?\s*$", re.I)


def final_answer_line(text: str) -> str | None:
    """The answer on the last non-empty line (after "The final answer is", if present)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    last = lines[-1]
    found = _FINAL_ANSWER.search(last)
    answer = found.group(1) if found else last
    answer = answer.strip().rstrip(".").strip()
    if answer.startswith("$") and answer.endswith("$") and len(answer) > 1:
        answer = answer.strip("$").strip()
    return answer or None


def extract_math_answer(text: str) -> str | None:
    """The last boxed answer, else the final answer line."""
    boxed = last_boxed(text)
    return boxed if boxed is not None else final_answer_line(text)


def _timeout() -> int | None:
    return MATH_TIMEOUT_SECONDS if threading.current_thread() is threading.main_thread() else None


def math_equal(gold: str, prediction: str, boxed_prediction: bool = True) -> bool:
    """math-verify's verdict: `verify(parse(gold), parse(prediction))`.

    Both are parsed as LaTeX math (`$...$`); a prediction that did not come from a box
    and does not parse as LaTeX is parsed as free text, letting math-verify find an
    expression in it.
    """
    from math_verify import parse, verify

    seconds = _timeout()
    gold_parsed = parse(f"${gold}$", parsing_timeout=seconds)
    pred_parsed = parse(f"${prediction}$", parsing_timeout=seconds)
    if not pred_parsed and not boxed_prediction:
        pred_parsed = parse(prediction, parsing_timeout=seconds)
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=seconds))


def score_math(output: str, gold: str) -> Verdict:
    """Verdict for a MATH-500 or AIME output against its gold answer."""
    start = time.perf_counter()
    boxed = last_boxed(output)
    extracted = boxed if boxed is not None else final_answer_line(output)
    if extracted is None:
        return Verdict(None, False, error="no answer found", seconds=time.perf_counter() - start)
    try:
        correct = math_equal(gold, extracted, boxed_prediction=boxed is not None)
        error = None
    except Exception as exc:  # a parser failure is a wrong answer, not a crash
        correct, error = False, f"math-verify failed: {type(exc).__name__}: {exc}"[:300]
    return Verdict(extracted, correct, error=error, seconds=time.perf_counter() - start)


def _score_math_pair(pair: tuple[str, str]) -> Verdict:
    return score_math(*pair)


def score_math_batch(
    pairs: Sequence[tuple[str, str]],
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[Verdict]:
    """`score_math(output, gold)` for each pair, in order.

    In this process when `workers` <= 1 and this is the main thread; otherwise in
    worker processes (at least one), each scoring on its main thread, so that
    math-verify's own timeouts always apply. `progress` gets 1 per scored pair.
    """
    on_main = threading.current_thread() is threading.main_thread()
    if not pairs or (workers <= 1 and on_main):
        verdicts = []
        for output, gold in pairs:
            verdicts.append(score_math(output, gold))
            if progress is not None:
                progress(1)
        return verdicts

    context = multiprocessing.get_context("forkserver")
    verdicts = []
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context) as pool:
        for verdict in pool.map(_score_math_pair, pairs, chunksize=8):
            verdicts.append(verdict)
            if progress is not None:
                progress(1)
    return verdicts
