"""Student assessment through the real vLLM server, with two trained LoRA rounds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ioa_agent.config import parse_config
from ioa_agent.items import Item
from ioa_agent.probe_scores import student_scores
from ioa_agent.run import Run, create_run
from ioa_agent.student.train import TrainJob
from ioa_agent.student.train_runner import run_training
from ioa_agent.student.vllm_client import VLLMStudent, adapter_name
from ioa_agent.student.vllm_server import VLLMServer

pytestmark = pytest.mark.slow

# Each adapter learns to answer every question with one fixed word, so its outputs show
# that it, and not the base model or the other adapter, answered.
WORDS = {1: "banana", 2: "cherry"}
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _probes() -> list[Item]:
    from ioa_agent.teacher.exact import ArithmeticTeacher

    teacher = ArithmeticTeacher()
    modules = teacher.decompose("arithmetic")[:3]
    return [item for m in modules for item in teacher.write_items(m, 1, 2, seed=7)]


def _train(base: Path, root: Path, word: str) -> Path:
    from ioa_agent.teacher.exact import ArithmeticTeacher

    teacher = ArithmeticTeacher()
    prompts = [
        item.prompt
        for m in teacher.decompose("arithmetic")
        for item in teacher.write_items(m, 1, 4, seed=1)
    ]
    data = root / f"{word}.jsonl"
    data.write_text("".join(json.dumps({"prompt": p, "completion": word}) + "\n" for p in prompts))
    job = TrainJob(
        base_model=str(base),
        data_path=str(data),
        output_dir=str(root / word),
        lora_r=8,
        lora_alpha=16,
        lora_dropout=0.0,
        target_modules=ALL_LINEAR,
        learning_rate=3e-3,
        lr_scheduler="constant",
        warmup_ratio=0.0,
        max_steps=6,
        batch_size=8,
        max_length=96,
    )
    run_training(job, log_path=root / f"{word}.log")
    return root / word


@pytest.fixture(scope="module")
def vllm_run(
    smollm2_dir: Path, vllm_server: VLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    root = tmp_path_factory.mktemp("vllm-student")
    config = parse_config(
        {
            "student": {
                "model": str(smollm2_dir),
                "backend": "vllm",
                "vllm_url": vllm_server.base_url,
                "vllm_concurrency": 4,
            },
            "train": {"lora_r": 8},
            "assess": {"max_new_tokens": 12},
        }
    )
    run = create_run(config, root / "runs", name="vllmrun")
    for round, word in WORDS.items():
        adapter = _train(smollm2_dir, root, word)
        target = run.adapter_dir(round)
        assert target is not None
        target.parent.mkdir(parents=True)
        shutil.copytree(adapter, target)
    return run


def _outputs(run: Run, round: int) -> dict[str, Any]:
    return {row["item_id"]: row["output"] for row in run.store.assessment(round)}


def test_rounds_load_under_new_names_and_change_the_answers(
    vllm_run: Run, vllm_server: VLLMServer
) -> None:
    probes = _probes()
    client = VLLMStudent(vllm_server.base_url)
    try:
        base_scores = student_scores(vllm_run, 0, probes)
        assert set(base_scores) == {p.id for p in probes}
        base = _outputs(vllm_run, 0)
        assert client.loaded_adapters() == []

        student_scores(vllm_run, 1, probes)
        name1 = adapter_name(vllm_run.id, 1, vllm_run.adapter_dir(1))
        assert client.loaded_adapters() == [name1]
        first = _outputs(vllm_run, 1)

        student_scores(vllm_run, 2, probes)
        name2 = adapter_name(vllm_run.id, 2, vllm_run.adapter_dir(2))
        assert name1 != name2
        assert client.loaded_adapters() == [name2]  # round 1's adapter was unloaded
        second = _outputs(vllm_run, 2)
    finally:
        client.close()

    assert all(WORDS[1] not in out and WORDS[2] not in out for out in base.values())
    assert sum(WORDS[1] in out for out in first.values()) >= len(probes) // 2
    assert sum(WORDS[2] in out for out in second.values()) >= len(probes) // 2
    assert first != base and second != base and first != second


def test_new_weights_under_an_old_round_get_a_new_name(
    vllm_run: Run, vllm_server: VLLMServer, tmp_path: Path
) -> None:
    """Round 1 retrained (here: round 2's weights copied in) is never served as before."""
    probes = _probes()[:2]
    before = adapter_name(vllm_run.id, 1, vllm_run.adapter_dir(1))
    retrained = tmp_path / "adapter"
    shutil.copytree(vllm_run.adapter_dir(2), retrained)
    with VLLMStudent(vllm_server.base_url) as client:
        after = client.use_adapter(vllm_run.id, 1, retrained)
        assert after != before
        assert after.startswith(f"{vllm_run.id}-r1-")
        assert client.loaded_adapters() == [after]
        outputs = client.generate(after, [p.prompt for p in probes], max_new_tokens=12)
    assert all(WORDS[2] in out for out in outputs)


def test_generate_returns_answers_in_prompt_order(vllm_server: VLLMServer) -> None:
    words = ["giraffe", "piano", "volcano", "lemon", "rocket", "tulip"]
    prompts = [f"Reply with exactly one word, the word {w}, and nothing else." for w in words]
    with VLLMStudent(vllm_server.base_url, concurrency=3) as client:
        model = client.base_model()
        outputs = client.generate(model, prompts, max_new_tokens=8)
        alone = [client.generate(model, [p], max_new_tokens=8)[0] for p in prompts]
    assert outputs == alone
    assert len(set(outputs)) > 1
