"""Data-parallel training under `accelerate launch`: 2 CPU processes (gloo) learn what 1 does.

The same packed data, seed and global batch (1 process x 2 accumulated micro-batches
against 2 processes x 1 micro-batch) must give the same adapter within float tolerance,
and metrics.json must say how the run was launched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ioa_agent.student.launch import SHIPPED_CONFIGS
from ioa_agent.student.train import TrainJob
from ioa_agent.student.train_runner import run_training

pytestmark = pytest.mark.slow


def _examples() -> list[dict[str, str]]:
    return [
        {
            "prompt": f"What is {a} + {b}?" + " Show the steps." * (a % 3),
            "completion": f"{a} + {b} = {a + b}",
        }
        for a in range(2, 10)
        for b in range(1, 4)
    ]


def _job(model: Path, data: Path, out: Path, **over: Any) -> TrainJob:
    fields: dict[str, Any] = {
        "base_model": str(model),
        "data_path": str(data),
        "output_dir": str(out),
        "max_steps": 3,
        "batch_size": 4,
        "max_length": 96,
        "learning_rate": 5e-3,
        "lr_scheduler": "constant",
        "warmup_ratio": 0.0,
        "lora_dropout": 0.0,
        "packing": "on",
        "seed": 0,
    }
    return TrainJob(**(fields | over))


def test_two_process_ddp_matches_one_process(tiny_model: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in _examples()), encoding="utf-8")
    one = _job(tiny_model, data, tmp_path / "one", grad_accum=2)
    two = _job(
        tiny_model,
        data,
        tmp_path / "two",
        grad_accum=1,
        launcher="accelerate",
        accelerate_config="cpu_ddp",
        num_processes=2,
    )
    m1 = run_training(one, log_path=tmp_path / "one.log")
    m2 = run_training(two, log_path=tmp_path / "two.log")

    assert m2["launch"] == {
        "launcher": "accelerate",
        "accelerate_config": str(SHIPPED_CONFIGS / "cpu_ddp.yaml"),
        "world_size": 2,
        "distributed_type": "MULTI_CPU",
    }
    assert m1["launch"]["world_size"] == 1
    assert m1["fast_path"] == m2["fast_path"]
    assert m1["steps"] == m2["steps"] == 3
    # Both saw the same tokens in total (the count is gathered across processes).
    assert m1["tokens_seen"] == m2["tokens_seen"] > 0
    for a, b in zip(m1["losses"], m2["losses"], strict=True):
        assert abs(a - b) <= 1e-4 * abs(a)

    w1 = load_file(str(tmp_path / "one" / "adapter_model.safetensors"))
    w2 = load_file(str(tmp_path / "two" / "adapter_model.safetensors"))
    assert w1.keys() == w2.keys()
    lora_b = [t for n, t in w1.items() if "lora_B" in n]
    assert lora_b and all(float(t.norm()) > 0 for t in lora_b)  # it trained
    for name, t1 in w1.items():
        t2 = w2[name]
        assert torch.allclose(t1, t2, rtol=1e-3, atol=1e-5), (
            f"{name}: max diff {float((t1 - t2).abs().max()):.3g}"
        )
