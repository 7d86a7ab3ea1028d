"""Student speed on this machine: generation tokens/s by batch size, LoRA seconds/step.

Run: `python benchmarks/student_speed.py [--model smollm2-135m-instruct]`.

Generation: 32 short arithmetic questions, greedy, 48 new tokens at most, batch 1 vs
batch 16 with the same loaded model (load time excluded; a warm-up call first).
Training: 10 LoRA steps (q,k,v,o; r=16), batch 8, max_length 128, in the training
subprocess exactly as a run does; seconds/step is the trainer's own runtime, and the
wall time adds the subprocess start and model load. Nothing here checks answers.
Writes its results file to docs/results/student_speed.json (`--results PATH`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ioa_agent.results import markdown_table, write_results  # noqa: E402
from ioa_agent.student.generate import DType, generate_tokens, load_model  # noqa: E402
from ioa_agent.student.models import resolve_model  # noqa: E402
from ioa_agent.student.train import TrainJob  # noqa: E402
from ioa_agent.student.train_runner import run_training  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "student_speed.json"


def questions(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    ops = ["+", "-", "*"]
    return [
        f"What is {rng.randint(2, 99)} {rng.choice(ops)} {rng.randint(2, 99)}?" for _ in range(n)
    ]


def bench_generation(
    model_dir: Path,
    prompts: list[str],
    max_new_tokens: int,
    dtype: DType,
    batch_sizes: tuple[int, ...],
) -> dict[int, dict]:
    model, tokenizer = load_model(model_dir, dtype=dtype)
    generate_tokens(model, tokenizer, prompts[:2], batch_size=2, max_new_tokens=4)  # warm-up
    results: dict[int, dict] = {}
    for batch_size in batch_sizes:
        start = time.perf_counter()
        ids = generate_tokens(model, tokenizer, prompts, batch_size, max_new_tokens)
        seconds = time.perf_counter() - start
        tokens = sum(len(x) for x in ids)
        results[batch_size] = {"tokens": tokens, "seconds": seconds, "tok_s": tokens / seconds}
    return results


def bench_training(model_dir: Path, steps: int) -> dict:
    rng = random.Random(1)
    rows = []
    for _ in range(200):
        a, b = rng.randint(2, 999), rng.randint(2, 999)
        rows.append({"prompt": f"What is {a} + {b}?", "completion": f"{a} + {b} = {a + b}"})
    with tempfile.TemporaryDirectory(prefix="ioa-bench-") as tmp:
        data = Path(tmp) / "train.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        job = TrainJob(
            base_model=str(model_dir),
            data_path=str(data),
            output_dir=str(Path(tmp) / "adapter"),
            max_steps=steps,
            batch_size=8,
            max_length=128,
        )
        start = time.perf_counter()
        metrics = run_training(job, log_path=Path(tmp) / "train.log")
        wall = time.perf_counter() - start
    return {"seconds_per_step": metrics["seconds_per_step"], "wall_s": wall, "metrics": metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--questions", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument(
        "--bf16", action="store_true", help="also time bf16 generation at batch 16 (CPU bf16)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="results file to write")
    args = parser.parse_args()

    start = time.perf_counter()
    model_dir = resolve_model(args.model)
    print(f"model: {model_dir} (resolved in {time.perf_counter() - start:.1f}s)")

    prompts = questions(args.questions)
    fp32 = bench_generation(model_dir, prompts, args.max_new_tokens, "float32", (1, 16))
    rows = [("float32", bs, row) for bs, row in fp32.items()]
    if args.bf16:
        bf16 = bench_generation(model_dir, prompts, args.max_new_tokens, "bfloat16", (16,))
        rows.append(("bfloat16", 16, bf16[16]))
    print(f"\ngeneration, {args.questions} questions, max_new_tokens {args.max_new_tokens}")
    print(f"{'dtype':>9} {'batch':>6} {'tokens':>7} {'seconds':>8} {'tok/s':>7}")
    for dtype, bs, row in rows:
        line = f"{dtype:>9} {bs:>6} {row['tokens']:>7} {row['seconds']:>8.1f} {row['tok_s']:>7.1f}"
        print(line)
    print(f"float32 batch 16 / batch 1 throughput: {fp32[16]['tok_s'] / fp32[1]['tok_s']:.1f}x")

    if not args.skip_train:
        train = bench_training(model_dir, args.train_steps)
        losses = ", ".join(f"{x:.3f}" for x in train["metrics"]["losses"])
        print(f"\nLoRA training, batch 8, max_length 128, {args.train_steps} steps")
        print(f"seconds/step {train['seconds_per_step']:.2f}, wall {train['wall_s']:.1f}s")
        print(f"losses: {losses}")
    figures: dict = {"generation": [{"dtype": d, "batch": b, **r} for d, b, r in rows]}
    if not args.skip_train:
        figures["training"] = {k: v for k, v in train.items() if k != "metrics"}
        figures["training"]["losses"] = train["metrics"]["losses"]
    path = write_results(
        args.results,
        config=vars(args) | {"results": str(args.results)},
        seed=0,
        figures=figures,
        table=table,
    )
    print(f"wrote {path}")


def table(figures: dict) -> str:
    """student_speed.json's table, from its figures."""
    rows = [
        [r["dtype"], r["batch"], r["tokens"], f"{r['seconds']:.1f}", f"{r['tok_s']:.1f}"]
        for r in figures["generation"]
    ]
    return markdown_table(["dtype", "batch", "tokens", "seconds", "tok/s"], rows)


if __name__ == "__main__":
    main()
