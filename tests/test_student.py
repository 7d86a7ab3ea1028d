"""The student: model resolution, LoRA training in a subprocess, batched generation.

Uses a tiny random Llama built in a temp dir (seconds); the test that converts the
real SmolLM2 is marked slow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ioa_agent.answers import extract_answer  # noqa: E402
from ioa_agent.student.generate import generate  # noqa: E402
from ioa_agent.student.models import make_tiny_model, resolve_model  # noqa: E402
from ioa_agent.student.train import TrainJob, build_trainer  # noqa: E402
from ioa_agent.student.train_runner import run_training  # noqa: E402

PAIRS = [(a, b) for a in range(2, 10) for b in range(1, 5)]  # 32 sums


def _examples() -> list[dict[str, str]]:
    return [
        {"prompt": f"What is {a} + {b}?", "completion": f"{a} + {b} = {a + b}"} for a, b in PAIRS
    ]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("student")
    examples = _examples()
    texts = [f"{e['prompt']}\n{e['completion']}" for e in examples] * 4
    model_dir = make_tiny_model(root / "tiny", texts, seed=0)
    data = root / "train.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in examples), encoding="utf-8")
    job = TrainJob(
        base_model=str(model_dir),
        data_path=str(data),
        output_dir=str(root / "round-1"),
        learning_rate=5e-3,
        lr_scheduler="constant",
        warmup_ratio=0.0,
        lora_dropout=0.0,
        max_steps=8,
        batch_size=8,
        max_length=64,
        seed=0,
    )
    metrics = run_training(job, log_path=root / "train.log")
    return {"root": root, "model": model_dir, "job": job, "metrics": metrics, "data": data}


def _lora_tensors(adapter_dir: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(adapter_dir / "adapter_model.safetensors"))


def test_training_changes_lora_weights_and_lowers_loss(workspace: dict[str, Any]) -> None:
    metrics = workspace["metrics"]
    out = Path(workspace["job"].output_dir)
    assert (out / "metrics.json").is_file()
    assert not Path(str(out) + ".tmp").exists()
    assert metrics["steps"] == 8
    assert metrics["examples"] == 32
    assert len(metrics["losses"]) == 8
    assert metrics["final_loss"] < metrics["losses"][0]
    tensors = _lora_tensors(out)
    lora_b = [t for name, t in tensors.items() if "lora_B" in name]
    assert lora_b, f"no lora_B weights in {sorted(tensors)}"
    # lora_B starts at zero: every one of them must have moved.
    assert all(float(t.norm()) > 0 for t in lora_b)
    assert "training 8 steps" in (workspace["root"] / "train.log").read_text()


def test_run_training_is_idempotent(workspace: dict[str, Any]) -> None:
    out = Path(workspace["job"].output_dir)
    before = (out / "adapter_model.safetensors").stat().st_mtime_ns
    again = run_training(workspace["job"])
    assert again == workspace["metrics"]
    assert (out / "adapter_model.safetensors").stat().st_mtime_ns == before


def test_continue_from_init_adapter(workspace: dict[str, Any]) -> None:
    first = workspace["job"]
    job = first.model_copy(
        update={
            "init_adapter": first.output_dir,
            "output_dir": str(workspace["root"] / "round-2"),
            "max_steps": 4,
        }
    )
    metrics = run_training(job, log_path=workspace["root"] / "train.log")
    assert metrics["steps"] == 4
    assert metrics["init_adapter"] == first.output_dir
    # It continues where round 1 stopped, not from a fresh adapter.
    assert metrics["losses"][0] < workspace["metrics"]["losses"][0]
    old, new = _lora_tensors(Path(first.output_dir)), _lora_tensors(Path(job.output_dir))
    assert old.keys() == new.keys()
    assert any(not bool((old[k] == new[k]).all()) for k in old)


def test_prompt_tokens_are_masked(workspace: dict[str, Any]) -> None:
    # Padded batches here; packed rows are checked in test_train_fast.py.
    trainer = build_trainer(workspace["job"].model_copy(update={"packing": "off"}))
    tokenizer = trainer.processing_class
    rows = [trainer.train_dataset[i] for i in range(3)]
    batch = trainer.data_collator(rows)
    examples = _examples()
    for row_index, (ids, labels) in enumerate(
        zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True)
    ):
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": examples[row_index]["prompt"]}],
            add_generation_prompt=True,
            tokenize=False,
        )
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        n = len(prompt_ids)
        assert ids[:n] == prompt_ids
        assert all(label == -100 for label in labels[:n])
        trained = [t for t in labels if t != -100]
        assert tokenizer.decode(trained) == examples[row_index]["completion"] + "<|im_end|>\n"


def test_generate_order_batch_invariance_and_adapter(workspace: dict[str, Any]) -> None:
    prompts = [e["prompt"] for e in _examples()[:6]] + ["What is 12 + 7? Show the sum."]
    model, adapter = workspace["model"], Path(workspace["job"].output_dir)
    seen: list[int] = []
    one = generate(model, prompts, adapter_dir=adapter, batch_size=1, max_new_tokens=12)
    four = generate(
        model, prompts, adapter_dir=adapter, batch_size=4, max_new_tokens=12, progress=seen.append
    )
    assert len(one) == len(prompts)
    assert one == four
    assert seen == [4, 3]
    base = generate(model, prompts, batch_size=4, max_new_tokens=12)
    assert len(base) == len(prompts)
    assert base != four
    # Each answer belongs to its own prompt: the same prompt alone gives the same answer.
    assert generate(model, [prompts[2]], adapter_dir=adapter, max_new_tokens=12) == [one[2]]


def test_make_tiny_model_tokenizer(workspace: dict[str, Any]) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(workspace["model"]))
    assert 256 < len(tokenizer) <= 600  # byte alphabet, specials and the merges found
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    digits = tokenizer("123 + 45", add_special_tokens=False)["input_ids"]
    assert [tokenizer.decode([t]) for t in digits][:3] == ["1", "2", "3"]
    assert tokenizer.decode(digits) == "123 + 45"
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_resolve_model_errors_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        resolve_model(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        resolve_model(str(tmp_path / "empty"))


def test_resolve_model_returns_local_folder(workspace: dict[str, Any]) -> None:
    assert resolve_model(str(workspace["model"])) == workspace["model"]


def test_failed_training_raises_with_output(workspace: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x"}\n', encoding="utf-8")
    job = workspace["job"].model_copy(
        update={"data_path": str(bad), "output_dir": str(tmp_path / "out")}
    )
    with pytest.raises(RuntimeError, match="need string fields"):
        run_training(job, log_path=tmp_path / "log.txt")
    assert not (tmp_path / "out").exists()


def test_accelerate_launcher(workspace: dict[str, Any], tmp_path: Path) -> None:
    config = tmp_path / "accelerate.yaml"
    config.write_text(
        "compute_environment: LOCAL_MACHINE\ndistributed_type: 'NO'\nnum_processes: 1\n"
        "num_machines: 1\nmachine_rank: 0\nuse_cpu: true\nmixed_precision: 'no'\n",
        encoding="utf-8",
    )
    job = workspace["job"].model_copy(
        update={
            "output_dir": str(tmp_path / "accelerated"),
            "launcher": "accelerate",
            "accelerate_config": str(config),
            "max_steps": 2,
        }
    )
    metrics = run_training(job, log_path=tmp_path / "log.txt")
    assert metrics["steps"] == 2
    assert (tmp_path / "accelerated" / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_smollm2_converts_once_and_answers(tmp_path: Path) -> None:
    cache = Path(os.environ.get("IOA_CACHE", Path.home() / ".cache" / "ioa"))
    path = resolve_model("smollm2-135m-instruct", cache_dir=cache)
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    config = json.loads((path / "config.json").read_text())
    assert "quantization_config" not in config
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    assert resolve_model("SmolLM2-135M-Instruct", cache_dir=cache) == path
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp
    questions = ["What is 2 + 3?", "What is 10 + 10?", "What is the capital of France?"]
    answers = generate(path, questions, max_new_tokens=16)
    # greedy decoding of the converted weights answers these right (checked: "2 + 3 = 5",
    # "10 + 10 = 20.", "The capital of France is Paris."); a broken conversion does not
    assert [extract_answer(a) for a in answers[:2]] == ["5", "20"], answers
    assert "Paris" in answers[2], answers
