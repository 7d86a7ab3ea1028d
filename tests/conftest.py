"""Shared fixtures: a tiny real student (random-weight Llama, local tokenizer) and configs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"  # full sets, optional
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"  # small slices, always here


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few-layer Llama with a BPE tokenizer trained on the arithmetic domain's text."""
    from ioa_agent.student.models import make_arithmetic_tiny_model

    return make_arithmetic_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def benchmark(name: str) -> Any:
    """A script under benchmarks/, imported as a module (its `main` does not run)."""
    from ioa_agent.results import ROOT, load_script

    return load_script(ROOT / "benchmarks" / f"{name}.py")


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def tiny_config(model: Path, **over: Any) -> dict[str, Any]:
    """A run sized for seconds: few probes, few items, two training steps a round."""
    base = {
        "seed": 0,
        "max_rounds": 2,
        "max_cycles": 1,
        "student": {"model": str(model)},
        "identifier": {"probes_per_level": 2},
        "organizer": {"max_remedial": 1, "on_escalation": "move_on"},
        "adapter": {"seeds_per_module": 1, "j": 3},
        "train": {"steps_per_round": 2, "batch_size": 4, "max_length": 96, "learning_rate": 1e-3},
        # every probe every round: the loop tests compare whole rounds
        "assess": {"batch_size": 64, "max_new_tokens": 12, "scope": "all"},
    }
    return merge(base, over)


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="session")
def reference(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted tiny run (`ref`), the yardstick for the crash and fault tests."""
    from ioa_agent.cli import main

    root = tmp_path_factory.mktemp("runs")
    cfg = write_config(root / "cfg.yaml", tiny_config(tiny_model))
    assert main(["run", "--config", str(cfg), "--runs", str(root), "--name", "ref"]) == 0
    return root / "ref"
