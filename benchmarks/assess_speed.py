"""Assessment speed on this machine: Transformers one at a time, batched, and vLLM.

Run: `python benchmarks/assess_speed.py [--probes 36] [--max-new-tokens 64]`
(vLLM from `make vllm-setup`, or $IOA_VLLM_PYTHON). Writes its results file to
docs/results/assess_speed.json (`--results PATH` to change it).

The same arithmetic probes (the built-in exact teacher's items, levels 1-2 of every
module) are answered greedily by SmolLM2-135M-Instruct three ways: Transformers
`generate` one prompt at a time, Transformers batched (`--batch-size`, the assessment
path without vLLM), and a local vLLM server (started here, `--concurrency` requests in
flight, the assessment path with vLLM). Model load and server start-up are timed apart
and left out of the rates; each way gets a warm-up call first. Generated tokens are
counted the same way for all three: the answer text re-tokenized with the model's
tokenizer. Accuracy is the scorer's, so the three can be compared for agreement too.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ioa_agent.answers import answers_match, extract_answer  # noqa: E402
from ioa_agent.items import Item  # noqa: E402
from ioa_agent.results import markdown_table, write_results  # noqa: E402
from ioa_agent.student.models import resolve_model  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "assess_speed.json"


def probes(n: int) -> list[Item]:
    from ioa_agent.teacher.exact import ArithmeticTeacher

    teacher = ArithmeticTeacher()
    items: list[Item] = []
    seed = 0
    while len(items) < n:
        for module in teacher.decompose("arithmetic"):
            for level in (1, 2):
                items += teacher.write_items(module, level, 1, seed=seed)
        seed += 1
    return items[:n]


def timed(work: Callable[[], list[str]]) -> tuple[list[str], float]:
    start = time.perf_counter()
    out = work()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--probes", type=int, default=36)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-vllm", action="store_true", help="the Transformers ways only")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results file to write")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from ioa_agent.student.generate import generate_loaded, load_model
    from ioa_agent.student.vllm_client import VLLMStudent
    from ioa_agent.student.vllm_server import VLLMServer

    model_dir = resolve_model(args.model)
    items = probes(args.probes)
    prompts = [p.prompt for p in items]
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    results: dict[str, tuple[list[str], float]] = {}
    setup: dict[str, float] = {}

    start = time.perf_counter()
    model, tok = load_model(model_dir, dtype="float32")
    setup["transformers"] = time.perf_counter() - start
    generate_loaded(model, tok, prompts[:2], 2, 4)  # warm-up
    print(f"model loaded in {setup['transformers']:.1f}s; timing...", flush=True)
    results["hf one-at-a-time"] = timed(
        lambda: generate_loaded(model, tok, prompts, 1, args.max_new_tokens)
    )
    results[f"hf batched ({args.batch_size})"] = timed(
        lambda: generate_loaded(model, tok, prompts, args.batch_size, args.max_new_tokens)
    )

    if not args.no_vllm:
        start = time.perf_counter()
        with (
            VLLMServer(model_dir, max_num_seqs=args.concurrency) as server,
            VLLMStudent(server.base_url, concurrency=args.concurrency) as client,
        ):
            setup["vllm server start"] = time.perf_counter() - start
            name = client.base_model()
            client.generate(name, prompts[:2], max_new_tokens=4)  # warm-up
            results[f"vllm ({args.concurrency} in flight)"] = timed(
                lambda: client.generate(name, prompts, max_new_tokens=args.max_new_tokens)
            )

    print(f"{len(prompts)} arithmetic probes, greedy, max_new_tokens {args.max_new_tokens}")
    print("set-up (not in the rates): " + ", ".join(f"{k} {v:.1f}s" for k, v in setup.items()))
    rows = report(
        items, results, lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])
    )
    path = write_results(
        args.results,
        config=vars(args) | {"results": str(args.results), "probes": len(prompts)},
        seed=0,
        figures={"setup_seconds": setup, "ways": rows},
        table=table,
    )
    print(f"wrote {path}")


def table(figures: dict[str, Any]) -> str:
    """assess_speed.json's table, from its figures."""
    header = ["way", "tokens", "wall s", "tok/s", "accuracy", "vs 1-at-a-time"]
    rows = [
        [r["way"], r["tokens"], f"{r['seconds']:.1f}", f"{r['tok_s']:.1f}",
         f"{r['accuracy']:.1%}", f"{r['speedup']:.1f}x"]
        for r in figures["ways"]
    ]  # fmt: skip
    return markdown_table(header, rows)


def report(
    items: list[Item],
    results: dict[str, tuple[list[str], float]],
    count_tokens: Callable[[str], int],
) -> list[dict[str, Any]]:
    header = ("way", "tokens", "wall s", "tok/s", "accuracy", "vs 1-at-a-time")
    print("{:>24} {:>7} {:>7} {:>7} {:>9} {:>15}".format(*header))
    base_rate = 0.0
    reference = next(iter(results.values()))[0]
    rows: list[dict[str, Any]] = []
    for way, (outputs, seconds) in results.items():
        tokens = sum(count_tokens(o) for o in outputs)
        rate = tokens / seconds
        base_rate = base_rate or rate
        pairs = zip(outputs, items, strict=True)
        correct = sum(answers_match(extract_answer(o), p.answer) for o, p in pairs)
        print(
            f"{way:>24} {tokens:>7} {seconds:>7.1f} {rate:>7.1f} "
            f"{correct / len(items):>9.1%} {rate / base_rate:>14.1f}x"
        )
        rows.append(
            {
                "way": way,
                "tokens": tokens,
                "seconds": seconds,
                "tok_s": rate,
                "accuracy": correct / len(items),
                "speedup": rate / base_rate,
            }
        )
    for way, (outputs, _) in list(results.items())[1:]:
        same = sum(a == b for a, b in zip(outputs, reference, strict=True))
        print(f"answers identical to one-at-a-time: {way}: {same}/{len(reference)}")
        next(r for r in rows if r["way"] == way)["identical_answers"] = same
    return rows


if __name__ == "__main__":
    main()
