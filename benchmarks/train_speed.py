"""Training speed: plain TRL SFTTrainer + PEFT with padded batches against the project's path.

Run: `python benchmarks/train_speed.py` (CPU: a tiny random Llama; CUDA: a
Qwen2.5-3B-shaped random Qwen2). Options: `--steps`, `--warmup`, `--compile`, `--shape`.

Both sides train the same random-weight model (built in memory, no download), LoRA
r16 a32 on q,k,v,o, AdamW, bf16 on GPUs that have it, on the same prompt-completion
examples whose token lengths are lognormal (mean ~500, 64..2048 on GPU; mean ~60,
8..256 on CPU), like the LoRA anchor benchmark this is compared with. The baseline is TRL's defaults
with padded batches of 8 (gradient checkpointing off, as in the anchor's padded run);
the project's side is `ioa_agent.student.train.build_trainer` with its fast path
(packed rows of about 8 examples with per-document attention, and whatever kernels
the machine has). Printed per side: real (non-padding) tokens/s over the timed steps
(the trainer's own non-padding token count), peak GPU memory, MFU (GPU only: the
anchor's LoRA FLOPs, 4·N·T + 12·L·d·Σs², with Σs² estimated from the data's length
distribution, the same on both sides), and the ratio. Nothing here checks learning;
tests/test_train_fast.py shows the packed path's loss equals the padded one's.
Writes its results file to docs/results/train_speed-SHAPE.json (`--results PATH`).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ioa_agent.results import markdown_table, write_results  # noqa: E402
from ioa_agent.student.models import make_tiny_model  # noqa: E402
from ioa_agent.student.train import TrainJob, build_trainer  # noqa: E402

PEAK_FLOPS = 790e12  # bf16 dense matmul rate measured on an H200 (the anchor's figure)
ATTN = ["q_proj", "k_proj", "v_proj", "o_proj"]
SHAPES: dict[str, dict[str, Any]] = {
    "tiny": {
        "model": {
            "hidden_size": 128,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
        },
        "len_mean": 60,
        "len_min": 8,
        "len_max": 256,
    },
    "qwen2.5-3b": {
        "model": {
            "hidden_size": 2048,
            "intermediate_size": 11008,
            "num_hidden_layers": 36,
            "num_attention_heads": 16,
            "num_key_value_heads": 2,
            "vocab_size": 151936,
        },
        "len_mean": 500,
        "len_min": 64,
        "len_max": 2048,
    },
}
BATCH = 8


def doc_lengths(n: int, mean: int, low: int, high: int, seed: int = 1234) -> list[int]:
    """Lognormal token lengths (sigma 0.8) with the given mean, clipped to [low, high]."""
    rng = random.Random(seed)
    sigma = 0.8
    mu = math.log(mean) - sigma * sigma / 2
    return [min(high, max(low, round(rng.lognormvariate(mu, sigma)))) for _ in range(n)]


def make_examples(lengths: list[int], overhead: int, seed: int = 0) -> list[dict[str, str]]:
    """Prompt-completion pairs of random digits (one token each) totalling `lengths` tokens."""
    rng = random.Random(seed)
    rows = []
    for n in lengths:
        body = max(2, n - overhead)
        prompt = max(1, body // 4)
        digits = "".join(rng.choice("0123456789") for _ in range(body))
        rows.append({"prompt": digits[:prompt], "completion": digits[prompt:]})
    return rows


def model_config(shape: dict[str, Any], vocab: int) -> Any:
    """A Qwen2 config for shapes that name their vocabulary (Qwen2.5), else a Llama one."""
    from transformers import LlamaConfig, Qwen2Config

    config_cls = Qwen2Config if "vocab_size" in shape["model"] else LlamaConfig
    dims = {"vocab_size": vocab} | shape["model"]
    return config_cls(**dims, tie_word_embeddings=True, max_position_embeddings=32768)


def build_model(shape: dict[str, Any], vocab: int, cuda: bool) -> Any:
    """Random weights, bf16 on GPUs that have it, built on the device."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float32
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device("cuda" if cuda else "cpu"):
            model = AutoModelForCausalLM.from_config(model_config(shape, vocab))
    finally:
        torch.set_default_dtype(previous)
    return model


def base_params(model: Any) -> int:
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


class StepClock:
    """A TrainerCallback-like recorder of step wall times and non-padding tokens."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.times: list[float] = []
        self.tokens: list[int] = []
        self._t0 = 0.0
        self._seen = 0

    def callback(self) -> Any:
        import torch
        from transformers import TrainerCallback

        clock = self

        class _Clock(TrainerCallback):
            def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if clock.cuda:
                    torch.cuda.synchronize()
                clock._t0 = time.perf_counter()
                clock._seen = state.num_input_tokens_seen

            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                if clock.cuda:
                    torch.cuda.synchronize()
                clock.times.append(time.perf_counter() - clock._t0)
                clock.tokens.append(state.num_input_tokens_seen - clock._seen)

        return _Clock()


def plain_trl(model: Any, tokenizer: Any, rows: list[dict[str, str]], args: Any, cuda: bool) -> Any:
    """TRL's SFTTrainer + PEFT as its docs show it: padded batches, defaults otherwise."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    dataset = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": r["prompt"]}],
                "completion": [{"role": "assistant", "content": r["completion"]}],
            }
            for r in rows
        ]
    )
    config = SFTConfig(
        output_dir=args.out,
        max_steps=args.warmup + args.steps,
        per_device_train_batch_size=BATCH,
        max_length=args.max_length,
        learning_rate=1e-4,
        gradient_checkpointing=False,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        use_cpu=not cuda,
        include_num_input_tokens_seen="non_padding",
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=ATTN)
    return SFTTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora,
    )


def project(model: Any, model_dir: Path, data: Path, args: Any) -> Any:
    job = TrainJob(
        base_model=str(model_dir),
        data_path=str(data),
        output_dir=args.out,
        max_steps=args.warmup + args.steps,
        batch_size=BATCH,
        max_length=args.max_length,
        compile=args.compile,
    )
    return build_trainer(job, model=model)


def measure(
    name: str,
    trainer: Any,
    args: Any,
    cuda: bool,
    n_params: int,
    sq_per_tok: float,
    layers: int,
    hidden: int,
) -> dict[str, Any]:
    import torch
    from transformers import PrinterCallback

    clock = StepClock(cuda)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(clock.callback())
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    times, tokens = clock.times[args.warmup :], clock.tokens[args.warmup :]
    seconds, real = sum(times), sum(tokens)
    result: dict[str, Any] = {
        "name": name,
        "steps": len(times),
        "tokens": real,
        "seconds": round(seconds, 3),
        "tokens_per_s": real / seconds,
        "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
    }
    flops = 4 * n_params * real + 12 * layers * hidden * sq_per_tok * real
    result["mfu"] = flops / seconds / PEAK_FLOPS if cuda else None
    return result


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cuda = torch.cuda.is_available()
    parser.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-3b" if cuda else "tiny")
    parser.add_argument("--steps", type=int, default=10 if cuda else 8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="regional torch.compile (ours)")
    parser.add_argument(
        "--results", type=Path, help="results file (default docs/results/train_speed-SHAPE.json)"
    )
    args = parser.parse_args()
    shape = SHAPES[args.shape]
    args.max_length = shape["len_max"]
    torch.backends.cuda.matmul.allow_tf32 = True

    with tempfile.TemporaryDirectory(prefix="train-speed-") as tmp:
        root = Path(tmp)
        args.out = str(root / "out")
        rng = random.Random(0)
        digits = ["".join(rng.choice("0123456789") for _ in range(64)) for _ in range(50)]
        tok_dir = make_tiny_model(root / "tok", digits)  # its tokenizer; the model is rebuilt
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(tok_dir)
        overhead = len(
            tokenizer.apply_chat_template(
                [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}],
                tokenize=True,
                return_dict=False,
            )
        )
        n_examples = BATCH * (args.warmup + args.steps) * 3
        lengths = doc_lengths(n_examples, shape["len_mean"], shape["len_min"], shape["len_max"])
        rows = make_examples(lengths, overhead)
        data = root / "train.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        vocab = shape["model"].get("vocab_size", len(tokenizer))
        model_dir = root / "model"
        model_config(shape, vocab).save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)

        layers, hidden = shape["model"]["num_hidden_layers"], shape["model"]["hidden_size"]
        sq_per_tok = sum(n * n for n in lengths) / sum(lengths)
        print(
            f"device {'cuda: ' + torch.cuda.get_device_name(0) if cuda else 'cpu'}, shape "
            f"{args.shape}, {n_examples} examples, mean {sum(lengths) / len(lengths):.0f} tokens, "
            f"{args.warmup} warm-up + {args.steps} timed steps per side",
            flush=True,
        )
        results = []
        for name in ("plain TRL padded", "ioa fast path"):
            model = build_model(shape, vocab, cuda)
            n_params = base_params(model)
            t0 = time.perf_counter()
            if name.startswith("plain"):
                trainer = plain_trl(model, tokenizer, rows, args, cuda)
            else:
                trainer = project(model, model_dir, data, args)
            print(f"{name}: trainer built in {time.perf_counter() - t0:.1f}s", flush=True)
            results.append(measure(name, trainer, args, cuda, n_params, sq_per_tok, layers, hidden))
            del trainer, model
            gc.collect()
            if cuda:
                torch.cuda.empty_cache()

    print()
    header = ("side", "tokens/s", "tokens", "seconds", "peak GiB", "MFU")
    print("{:20s} {:>10s} {:>8s} {:>8s} {:>9s} {:>6s}".format(*header))
    for r in results:
        peak = f"{r['peak_gib']:.1f}" if r["peak_gib"] is not None else "n/a"
        mfu = f"{r['mfu']:.3f}" if r["mfu"] is not None else "n/a"
        print(
            f"{r['name']:20s} {r['tokens_per_s']:10.0f} {r['tokens']:8d} {r['seconds']:8.2f} "
            f"{peak:>9s} {mfu:>6s}"
        )
    ratio = results[1]["tokens_per_s"] / results[0]["tokens_per_s"]
    print(f"ratio (ioa / plain TRL), real tokens/s: {ratio:.2f}x")
    default = Path(__file__).resolve().parents[1] / "docs" / "results"
    path = write_results(
        args.results or default / f"train_speed-{args.shape}.json",
        config={k: v for k, v in vars(args).items() if k not in ("out", "results")},
        seed=0,
        figures={"sides": results, "ratio": ratio},
        table=table,
    )
    print(f"wrote {path}")


def table(figures: dict[str, Any]) -> str:
    """train_speed-SHAPE.json's table, from its figures."""
    header = ["side", "tokens/s", "tokens", "seconds", "peak GiB", "MFU"]
    rows = [
        [
            r["name"],
            f"{r['tokens_per_s']:.0f}",
            r["tokens"],
            f"{r['seconds']:.2f}",
            f"{r['peak_gib']:.1f}" if r["peak_gib"] is not None else "n/a",
            f"{r['mfu']:.3f}" if r["mfu"] is not None else "n/a",
        ]
        for r in figures["sides"]
    ]
    return markdown_table(header, rows)


if __name__ == "__main__":
    main()
