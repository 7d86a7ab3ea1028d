"""Evaluation throughput on this machine: sandboxed code runs and answer scoring.

Prints, side by side with the 2-vs-1 ratio:
- sandbox: reference solutions (MBPP's, or HumanEval's with `--code humaneval`) run
  with their tests in the sandbox, samples/s with 1 and 2 workers;
- scoring: MATH-500 solutions checked with math-verify, items/s in-process (1) and with
  2 worker processes (including their start-up, which imports sympy), and GSM8K's
  regex scoring (single process).

Usage: python benchmarks/eval_speed.py [--n 164] [--items N] [--data-dir DIR]
Reads the shared benchmark data (or $IOA_DATA_DIR); writes its results file to
docs/results/eval_speed.json (`--results PATH` to change it).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from ioa_agent.evaluation.code_scoring import score_code
from ioa_agent.evaluation.loaders import load_gsm8k, load_humaneval, load_math500, load_mbpp
from ioa_agent.evaluation.math_scoring import score_gsm8k, score_math_batch
from ioa_agent.evaluation.sandbox import isolation
from ioa_agent.results import markdown_table, write_results

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "eval_speed.json"


def _rate(count: int, work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=164, help="code samples per setting")
    parser.add_argument("--code", choices=["mbpp", "humaneval"], default="mbpp")
    parser.add_argument("--data-dir", type=Path, help="shared benchmark folder")
    parser.add_argument("--items", type=int, help="MATH-500 and GSM8K items scored (all)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results file to write")
    args = parser.parse_args()

    code = load_mbpp(args.data_dir) if args.code == "mbpp" else load_humaneval(args.data_dir)
    pairs = [(p, p.gold) for p in (code * (args.n // len(code) + 1))[: args.n]]
    score_code(pairs[:4], workers=1)  # warm-up: isolation probe, page cache
    sandbox = {w: _rate(len(pairs), lambda w=w: score_code(pairs, workers=w)) for w in (1, 2)}

    math = [(p.extra["solution"], p.gold) for p in load_math500(args.data_dir)][: args.items]
    scoring = {w: _rate(len(math), lambda w=w: score_math_batch(math, workers=w)) for w in (1, 2)}
    gsm8k = [(p.extra["solution"], p.gold) for p in load_gsm8k(args.data_dir)][: args.items]
    gsm8k_rate = _rate(len(gsm8k), lambda: [score_gsm8k(o, g) for o, g in gsm8k])

    print(f"sandbox isolation: {isolation().mode} (python {isolation().python})")
    path = write_results(
        args.results,
        config={
            "n": args.n,
            "code": args.code,
            "items": args.items,
            "data_dir": str(args.data_dir) if args.data_dir else None,
        },
        seed=None,
        figures={
            "isolation": isolation().mode,
            "counts": {"code": len(pairs), "math500": len(math), "gsm8k": len(gsm8k)},
            "code_set": {"mbpp": "MBPP", "humaneval": "HumanEval"}[args.code],
            "sandbox_samples_per_s": sandbox,
            "math_verify_items_per_s": scoring,
            "gsm8k_items_per_s": gsm8k_rate,
        },
        table=table,
    )
    print(json.loads(path.read_text())["readme_table"])
    print(f"wrote {path}")


def table(figures: dict) -> str:
    """eval_speed.json's table, from its figures (rates keyed by worker count)."""
    n = figures["counts"]
    rows = [
        (
            f"sandbox: {figures['code_set']} reference code, {n['code']} samples/s",
            "sandbox_samples_per_s",
        ),
        (f"math-verify: MATH-500 solutions, {n['math500']} items/s", "math_verify_items_per_s"),
    ]
    body = [
        [label, f"{r['1']:.1f}", f"{r['2']:.1f}", f"{r['2'] / r['1']:.2f}x"]
        for label, r in ((label, figures[key]) for label, key in rows)
    ]
    gsm8k = f"GSM8K regex scoring, {n['gsm8k']} items/s"
    body.append([gsm8k, f"{figures['gsm8k_items_per_s']:.0f}", "", ""])
    return markdown_table(["what", "1 worker", "2 workers", "ratio"], body)


if __name__ == "__main__":
    main()
