"""Padded batches or packed rows for the demo's own training data, side by side.

Trains the demo student (SmolLM2-135M-Instruct, the demo's LoRA and batch size) for
the same steps on the same `train.jsonl` twice, once with padded length-grouped
batches and once with packed rows (per-document attention, exact: the same loss, see
tests/test_train_fast.py), each in its own subprocess as a run does, and prints
seconds per step and real tokens per second of both and their ratio. The data is a
round of a demo run (`--data`), by default round 2 of the newest run under
checkpoints/demo-seeds: short direct equations, replayed round-1 items and the
student's own longer answers, the mix whose padding packing removes.

    .venv/bin/python benchmarks/demo_packing.py --data RUN/rounds/0002/train.jsonl

Writes docs/results/demo_packing.json unless --results says otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ioa_agent.config_file import load_config  # noqa: E402
from ioa_agent.results import markdown_table, write_results  # noqa: E402
from ioa_agent.run import sha256_file  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--model", default="smollm2-135m-instruct", help="student (name or folder)")
    p.add_argument("--results", type=Path, default=ROOT / "docs" / "results" / "demo_packing.json")
    args = p.parse_args()
    if args.data is None:
        found = sorted((ROOT / "checkpoints" / "demo-seeds").glob("*/rounds/0002/train.jsonl"))
        if not found:
            p.error("no demo run found: pass --data RUN/rounds/0002/train.jsonl")
        args.data = found[-1]

    from ioa_agent.student.models import resolve_model
    from ioa_agent.student.train import TrainJob
    from ioa_agent.student.train_runner import run_training

    cfg = load_config().train
    model = resolve_model(args.model)
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for packing in ("off", "on"):
            job = TrainJob.from_config(
                cfg,
                base_model=str(model),
                data_path=str(args.data),
                output_dir=str(Path(tmp) / packing),
                max_steps=args.steps,
                packing=packing,
            )
            m = run_training(job, log_path=Path(tmp) / f"{packing}.log")
            figures[packing] = {
                "seconds_per_step": float(m["seconds_per_step"]),
                "tokens_per_s": float(m["tokens_per_s"]),
                "final_loss": float(m["final_loss"]),
            }
            print(f"packing {packing}: {m['seconds_per_step']:.2f} s/step", flush=True)
    ratio = figures["off"]["seconds_per_step"] / figures["on"]["seconds_per_step"]
    config = {
        "data": str(args.data.resolve().relative_to(ROOT))
        if args.data.resolve().is_relative_to(ROOT)
        else str(args.data),
        "data_sha256": sha256_file(args.data),
        "steps": args.steps,
        "model": args.model,
        **cfg.model_dump(mode="json"),
    }
    write_results(
        args.results, config=config, seed=0, figures={**figures, "speedup": ratio}, table=table
    )
    print(table({**figures, "speedup": ratio}))
    return 0


def table(figures: dict[str, Any]) -> str:
    """demo_packing.json's table, from its figures."""
    off, on = figures["off"], figures["on"]
    return markdown_table(
        ["batches", "s/step", "real tokens/s"],
        [
            ["padded", f"{off['seconds_per_step']:.2f}", f"{off['tokens_per_s']:.0f}"],
            ["packed", f"{on['seconds_per_step']:.2f}", f"{on['tokens_per_s']:.0f}"],
            ["packed / padded speed", f"{figures['speedup']:.2f}x", ""],
        ],
    )


if __name__ == "__main__":
    raise SystemExit(main())
