"""`ioa export`, TensorBoard curves and `python -m ioa_agent`, on one tiny real run.

The run is the offline arithmetic demo sized for seconds (tiny random Llama, two
training rounds) with `train.report_to: tensorboard`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import tiny_config, write_config

from ioa_agent.cli import main
from ioa_agent.export import features, final_adapter
from ioa_agent.run import find_run

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    config = tiny_config(tiny_model, train={"report_to": "tensorboard"})
    cfg = write_config(root / "cfg.yaml", config)
    assert main(["run", "--config", str(cfg), "--runs", str(root), "--name", "exp"]) == 0
    return root / "exp"


@pytest.fixture()
def datasets_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_event_files_hold_each_rounds_loss_and_learning_rate(run_dir: Path) -> None:
    rounds = sorted(p for p in (run_dir / "rounds").iterdir() if (p / "adapter").is_dir())
    assert len(rounds) == 2
    for folder in rounds:
        events = list((folder / "tensorboard").glob("events.out.tfevents.*"))
        assert events, f"no event file under {folder}"
        metrics = json.loads((folder / "adapter" / "metrics.json").read_text())
        logged = scalars(folder / "tensorboard")
        steps = metrics["steps"]  # 2, and round 2's replay rows add their share on top
        assert steps >= 2 and [step for step, _ in logged["train/loss"]] == [*range(1, steps + 1)]
        assert [v for _, v in logged["train/loss"]] == pytest.approx(metrics["losses"], rel=1e-5)
        assert len(logged["train/learning_rate"]) == steps
        assert all(v >= 0 for _, v in logged["train/learning_rate"])
        assert not list((folder / "adapter").rglob("events.out.tfevents.*"))


def store_rows(run_dir: Path, role: str) -> list[dict[str, Any]]:
    run = find_run(run_dir.parent, run_dir.name)
    rows = run.store.db["items"].rows_where("role = ?", [role], order_by="round, rowid")
    return [{**r, "tests": json.loads(r["tests"] or "[]")} for r in rows]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_round_trips_through_load_dataset(
    run_dir: Path, tmp_path: Path, fmt: str, datasets_cache: None
) -> None:
    from datasets import load_dataset

    out = tmp_path / "export"
    argv = ["export", run_dir.name, "--runs", str(run_dir.parent), "--out", str(out)]
    assert main([*argv, "--format", fmt]) == 0
    data = load_dataset(str(out))
    assert set(data) == {"train", "probes"}
    train, probes = store_rows(run_dir, "train"), store_rows(run_dir, "probe")
    assert data["train"].num_rows == len(train) > 0
    assert data["probes"].num_rows == len(probes) > 0
    assert data["train"].features == features() == data["probes"].features
    fields = ["id", "round", "module", "level", "prompt", "answer", "rationale", "strategy"]
    for split, rows in (("train", train), ("probes", probes)):
        got = data[split].to_list()
        assert [{k: r[k] for k in [*fields, "tests"]} for r in got] == [
            {k: r[k] for k in [*fields, "tests"]} for r in rows
        ]
        assert [r["teacher"] for r in got] == [r["teacher"] for r in rows]
        assert all(r["held_out"] == (split == "probes") for r in got)
    got = data["train"].to_list()
    assert all(r["verified"] and r["verifier"] == "arithmetic" for r in got)
    assert {r["stage"] for r in got} <= {1, 2, 3} and all(r["stage"] >= 1 for r in got)
    assert {r["origin"] for r in got} <= {"seed", "synthesized", "rewritten"}
    assert all(r["completion"].endswith(f"The answer is {r['answer']}.") for r in got)
    assert all(r["teacher_correct"] is not None for r in data["probes"].to_list())

    card = (out / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    run = find_run(run_dir.parent, run_dir.name)
    usage = run.store.teacher_usage()
    ioa = meta["ioa"]
    assert ioa["domain"] == "arithmetic" and ioa["teacher"]["model"] == "builtin"
    assert ioa["teacher"]["tokens_in"] == usage["tokens_in"]
    assert ioa["student"] == run.config.student.model
    assert [r["round"] for r in ioa["results"]] == run.store.assessed_rounds() == [0, 1, 2]
    assert {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]} == {
        "train": len(train),
        "probes": len(probes),
    }
    assert "| module | teacher | round 0 | round 1 | round 2 |" in card


def test_exported_adapter_loads_with_peft_and_answers_as_the_run(
    run_dir: Path, tiny_model: Path, tmp_path: Path, datasets_cache: None
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from ioa_agent.student.generate import generate

    out = tmp_path / "export"
    assert main(["export", str(run_dir), "--out", str(out)]) == 0
    run = find_run(run_dir.parent, run_dir.name)
    adapter = out / "adapter"
    assert final_adapter(run) == run.adapter_dir(2)
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md"} <= {
        p.name for p in adapter.iterdir()
    }
    card = (adapter / "README.md").read_text()
    assert yaml.safe_load(card.split("---")[1])["library_name"] == "peft"

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), adapter)
    same = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_model), run.adapter_dir(2)
    )
    ids = torch.tensor([[1, 5, 9, 13, 2]])
    with torch.no_grad():
        assert torch.equal(model(ids).logits, same(ids).logits)

    probes = run.store.items("probe")
    stored = {r["item_id"]: r["output"] for r in run.store.assessment(2)}
    outputs = generate(
        tiny_model,
        [p.prompt for p in probes],
        adapter_dir=adapter,
        batch_size=run.config.assess.batch_size,
        max_new_tokens=run.config.assess.max_new_tokens,
    )
    assert outputs == [stored[p.id] for p in probes]


def test_export_refuses_a_non_empty_folder(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("keep me")
    assert main(["export", str(run_dir), "--out", str(tmp_path / "busy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err
    assert (tmp_path / "busy" / "x").read_text() == "keep me"


def test_python_dash_m_ioa_agent_is_the_ioa_command(run_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ioa_agent", "status", "--runs", str(run_dir.parent)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{run_dir.name}  done")
    usage = subprocess.run(
        [sys.executable, "-m", "ioa_agent", "--help"], capture_output=True, text=True, timeout=300
    )
    assert usage.returncode == 0 and usage.stdout.startswith("usage: ioa ")
    assert "export" in usage.stdout
