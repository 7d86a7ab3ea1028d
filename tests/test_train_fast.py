"""The training fast path: packing is exact, the plan follows the machine, launches resolve.

Real tiny Llama in fp32 on CPU: a packed, document-masked batch gives the same loss and
LoRA gradients as the padded batch of the same examples, and a packed batch without
per-document positions does not. Plus unit tests of the plan and launch helpers, and
one real training round on the packed path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ioa_agent.student.launch import (
    SHIPPED_CONFIGS,
    accelerate_config_path,
    launch_command,
    shipped_config_names,
)
from ioa_agent.student.packing import (
    activation_bytes,
    needs_checkpointing,
    pack_length_for,
    plan_fast_path,
    round_up,
)
from ioa_agent.student.train import TrainJob, build_trainer
from ioa_agent.student.train_runner import run_training


def _examples() -> list[dict[str, str]]:
    # Lengths differ, so padded batches carry padding and packed rows hold uneven documents.
    return [
        {
            "prompt": f"What is {a} + {b}?" + " Show the steps." * (a % 3),
            "completion": f"{a} + {b} = {a + b}" + f". Check: {a + b} - {b} = {a}" * (b % 2),
        }
        for a in range(2, 10)
        for b in range(1, 3)
    ]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fast") / "train.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in _examples()), encoding="utf-8")
    return path


def _job(model: Path, data: Path, out: Path, **over: Any) -> TrainJob:
    fields: dict[str, Any] = {
        "base_model": str(model),
        "data_path": str(data),
        "output_dir": str(out),
        "max_steps": 1,
        "lora_dropout": 0.0,
        "batch_size": 16,
        "max_length": 96,
        "seed": 0,
    }
    return TrainJob(**(fields | over))


def _loss_and_grads(trainer: Any, batch: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    model = trainer.model
    model.train()
    model.zero_grad()
    loss = trainer.compute_loss(model, dict(batch))
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    return float(loss.detach()), grads


def _whole_batch(trainer: Any) -> dict[str, Any]:
    dataset = trainer.train_dataset
    return trainer.data_collator([dataset[i] for i in range(len(dataset))])


@pytest.fixture(scope="module")
def both(tiny_model: Path, data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("fast-out") / "adapter"
    packed = build_trainer(_job(tiny_model, data, out, packing="on", pack_length=2048))
    padded = build_trainer(_job(tiny_model, data, out, packing="off"))
    return {"packed": packed, "padded": padded}


def test_packed_loss_and_gradients_equal_padded(both: dict[str, Any]) -> None:
    packed, padded = both["packed"], both["padded"]
    assert len(packed.train_dataset) == 1  # every example in one row
    assert len(padded.train_dataset) == len(_examples())
    packed_batch, padded_batch = _whole_batch(packed), _whole_batch(padded)
    assert "attention_mask" not in packed_batch and "position_ids" in packed_batch
    assert int((padded_batch["attention_mask"] == 0).sum()) > 0  # the padded side does pad
    # The same completion tokens are trained on both sides.
    n_packed = int((packed_batch["labels"] != -100).sum())
    n_padded = int((padded_batch["labels"] != -100).sum())
    assert n_packed == n_padded > 0

    loss_packed, grads_packed = _loss_and_grads(packed, packed_batch)
    loss_padded, grads_padded = _loss_and_grads(padded, padded_batch)
    assert abs(loss_packed - loss_padded) / abs(loss_padded) < 1e-5
    assert grads_packed.keys() == grads_padded.keys()
    moved = 0
    for name, grad in grads_padded.items():
        norm = float(grad.norm())
        diff = float((grads_packed[name] - grad).norm())
        if norm > 0:
            moved += 1
            assert diff / norm < 1e-5, name
        else:
            assert diff == 0, name
    assert moved > 0  # lora_B gets a gradient at step 0


def test_packing_without_document_positions_changes_loss(both: dict[str, Any]) -> None:
    import torch

    packed = both["packed"]
    batch = _whole_batch(packed)
    positions = batch["position_ids"]
    starts = int((positions[0] == 0).sum())
    assert starts >= len(_examples())  # one restart per example (plus row padding)
    masked, _ = _loss_and_grads(packed, batch)
    unmasked_batch = dict(batch)
    unmasked_batch["position_ids"] = torch.arange(positions.shape[1]).unsqueeze(0)
    unmasked, _ = _loss_and_grads(packed, unmasked_batch)
    assert abs(unmasked - masked) / abs(masked) > 1e-3


def test_packed_rows_keep_completion_only_labels(both: dict[str, Any]) -> None:
    packed = both["packed"]
    tokenizer = packed.processing_class
    batch = _whole_batch(packed)
    trained = tokenizer.decode([t for t in batch["labels"][0].tolist() if t != -100])
    for example in _examples():
        assert example["completion"] in trained
        assert example["prompt"] not in trained


def test_training_on_packed_path_records_fast_path(
    tiny_model: Path, data: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    job = _job(
        tiny_model,
        data,
        tmp_path / "round-1",
        max_steps=3,
        batch_size=4,
        learning_rate=5e-3,
        lr_scheduler="constant",
        warmup_ratio=0.0,
    )
    metrics = run_training(job, log_path=tmp_path / "train.log")
    assert metrics["steps"] == 3
    fast = metrics["fast_path"]
    assert fast["packing"] is True
    assert fast["per_device_batch"] == 1
    assert fast["pack_length"] >= job.max_length and fast["pack_length"] % 64 == 0
    assert fast["attn_implementation"] == "sdpa"
    assert fast["compile"] is False and fast["liger"] is False
    assert fast["gradient_checkpointing"] is False
    assert metrics["launch"] == {
        "launcher": "python",
        "accelerate_config": None,
        "world_size": 1,
        "distributed_type": "NO",
    }
    assert metrics["tokens_seen"] > 0 and metrics["tokens_per_s"] > 0
    tensors = load_file(str(tmp_path / "round-1" / "adapter_model.safetensors"))
    lora_b = [t for name, t in tensors.items() if "lora_B" in name]
    assert lora_b and all(float(t.norm()) > 0 for t in lora_b)
    assert "fast path: packed rows" in (tmp_path / "train.log").read_text()


# --- the plan -------------------------------------------------------------------------


def _plan(**over: Any) -> Any:
    fields: dict[str, Any] = {
        "packing": "auto",
        "pack_length": None,
        "batch_size": 8,
        "max_length": 128,
        "examples": 100,
        "lengths": [40, 60, 80, 100],
        "attn_implementation": "auto",
        "compile": False,
        "liger": "auto",
        "gradient_checkpointing": "auto",
        "pad_to_multiple_of": 64,
        "cuda": False,
        "bf16": False,
        "flash_attn": False,
        "liger_installed": False,
    }
    return plan_fast_path(**(fields | over))


def test_round_up_and_pack_length() -> None:
    assert round_up(1, 64) == 64
    assert round_up(64, 64) == 64
    assert round_up(65, 64) == 128
    with pytest.raises(ValueError, match="positive"):
        round_up(3, 0)
    # mean 70 x 8 examples = 560 -> 576
    assert pack_length_for([40, 60, 80, 100], batch_size=8, max_length=128) == 576
    # never below max_length; lengths over max_length count as max_length
    assert pack_length_for([10, 10], batch_size=2, max_length=300) == 320
    assert pack_length_for([1000], batch_size=1, max_length=128) == 128
    with pytest.raises(ValueError, match="at least one"):
        pack_length_for([], batch_size=8, max_length=128)


def test_plan_packs_by_default_and_pads_when_off() -> None:
    packed = _plan()
    assert packed.packing and packed.pack_length == 576 and packed.per_device_batch == 1
    assert not packed.group_by_length
    assert packed.attn_implementation == "sdpa"
    padded = _plan(packing="off")
    assert not padded.packing and padded.pack_length is None
    assert padded.per_device_batch == 8 and padded.group_by_length
    assert padded.pad_to_multiple_of == 64
    assert not _plan(examples=1).packing  # nothing to pack with
    assert _plan(examples=1, packing="on", pack_length=256).pack_length == 256
    with pytest.raises(ValueError, match="raise pack_length"):
        _plan(pack_length=64)


def test_plan_kernels_follow_the_machine() -> None:
    assert _plan(cuda=True, flash_attn=True).attn_implementation == "flash_attention_2"
    assert _plan(cuda=True, flash_attn=False).attn_implementation == "sdpa"
    assert _plan(cuda=False, flash_attn=True).attn_implementation == "sdpa"
    with pytest.raises(ValueError, match="flash-attn"):
        _plan(attn_implementation="flash_attention_2")
    assert _plan(attn_implementation="eager").attn_implementation == "eager"
    assert _plan(cuda=True, liger_installed=True).liger
    assert not _plan(cuda=True, liger_installed=True, liger="off").liger
    assert not _plan(cuda=False, liger_installed=True).liger
    assert not _plan(cuda=True, liger_installed=False).liger
    assert _plan(compile=True).compile


def test_gradient_checkpointing_only_when_memory_needs_it() -> None:
    dims = {"layers": 36, "hidden": 2048, "vocab": 151936, "params": 3_000_000_000}
    gib = 2**30
    # 4096 tokens: 4096 * (36*2048*34 + 151936*8) = ~15 GiB + 6 GB weights
    assert activation_bytes(4096, 36, 2048, 151936) == 4096 * (36 * 2048 * 34 + 151936 * 8)
    assert not needs_checkpointing(4096, gpu_bytes=141 * gib, **dims)
    assert needs_checkpointing(4096, gpu_bytes=16 * gib, **dims)
    on_gpu = {"cuda": True, "model_dims": dims, "pack_length": 4096}
    assert not _plan(gpu_bytes=141 * gib, **on_gpu).gradient_checkpointing
    assert _plan(gpu_bytes=16 * gib, **on_gpu).gradient_checkpointing
    forced_off = _plan(gpu_bytes=16 * gib, gradient_checkpointing="off", **on_gpu)
    assert not forced_off.gradient_checkpointing
    assert _plan(gradient_checkpointing="on").gradient_checkpointing
    assert not _plan().gradient_checkpointing  # CPU, auto


# --- launching ------------------------------------------------------------------------


def test_shipped_accelerate_configs() -> None:
    names = shipped_config_names()
    assert {"ddp", "fsdp", "zero2", "zero3", "cpu_ddp"} <= set(names)
    kinds = {
        n: yaml.safe_load((SHIPPED_CONFIGS / f"{n}.yaml").read_text())["distributed_type"]
        for n in names
    }
    assert kinds["ddp"] == "MULTI_GPU" and kinds["fsdp"] == "FSDP"
    assert kinds["zero2"] == kinds["zero3"] == "DEEPSPEED"
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert "student/accelerate/*.yaml" in pyproject  # shipped in the wheel


def test_accelerate_config_by_name_or_path(tmp_path: Path) -> None:
    assert accelerate_config_path("fsdp") == SHIPPED_CONFIGS / "fsdp.yaml"
    own = tmp_path / "mine.yaml"
    own.write_text("distributed_type: MULTI_GPU\n")
    assert accelerate_config_path(str(own)) == own
    with pytest.raises(FileNotFoundError, match="use one of .*ddp"):
        accelerate_config_path("zero4")


def test_launch_command(tmp_path: Path) -> None:
    import sys

    job = tmp_path / "job.json"
    module = ["-m", "ioa_agent.student.train", str(job)]
    assert launch_command("python", job) == [sys.executable, *module]
    argv = launch_command("accelerate", job, "ddp", num_processes=4)
    assert argv[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert argv[3:7] == ["--config_file", str(SHIPPED_CONFIGS / "ddp.yaml"), "--num_processes", "4"]
    assert argv[-3:] == module
    with pytest.raises(ValueError, match="unknown launcher"):
        launch_command("torchrun", job)


def test_job_from_config_takes_every_shared_setting_and_overrides() -> None:
    from ioa_agent.config import TrainConfig

    cfg = TrainConfig(
        lora_r=4,
        learning_rate=3e-4,
        steps_per_round=7,
        packing="off",
        target_modules=["q_proj"],
        accelerate_config="ddp",
        report_to="tensorboard",
    )
    job = TrainJob.from_config(
        cfg, base_model="m", data_path="d.jsonl", output_dir="o", seed=5, learning_rate=1e-3
    )
    assert (job.lora_r, job.max_steps, job.packing, job.seed) == (4, 7, "off", 5)
    assert job.target_modules == ["q_proj"]
    assert (job.accelerate_config, job.report_to) == ("ddp", "tensorboard")
    assert job.learning_rate == 1e-3  # the override wins
    shared = set(TrainJob.model_fields) & set(TrainConfig.model_fields)
    assert all(getattr(job, f) == getattr(cfg, f) for f in shared - {"learning_rate"})
