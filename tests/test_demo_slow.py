"""The real demo student (SmolLM2-135M-Instruct) learns: slow, run with `pytest -m slow`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import merge, write_config

from ioa_agent.assessment import per_module
from ioa_agent.cli import main
from ioa_agent.config import load_config
from ioa_agent.run import find_run


@pytest.mark.slow
def test_demo_student_improves(tmp_path: Path) -> None:
    demo = load_config(None).model_dump(mode="json")
    cfg = merge(demo, {"max_rounds": 2})  # the demo's first stage: a round and a remedial one
    path = write_config(tmp_path / "cfg.yaml", cfg)
    assert main(["run", "--config", str(path), "--runs", str(tmp_path), "--name", "demo"]) == 0
    run = find_run(tmp_path, "demo")
    probes = run.store.items("probe")
    before = per_module(probes, {r["item_id"]: r["correct"] for r in run.store.assessment(0)})
    after = per_module(probes, {r["item_id"]: r["correct"] for r in run.store.assessment(2)})
    gate = run.store.events("gate")[0]["payload"]
    gains = {m: after[m] - before[m] for m in gate["modules"]}
    print("before", before, "after", after, "gains", gains)
    # the taught module rises (a broken trainer or adapter loses it instead)
    assert max(gains.values()) > 0, gains
