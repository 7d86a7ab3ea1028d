"""The real demo student (SmolLM2-135M-Instruct) learns: slow, run with `pytest -m slow`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import merge, write_config

from ioa_agent.assessment import paired_by_module
from ioa_agent.cli import main
from ioa_agent.config import load_config
from ioa_agent.items import SELF
from ioa_agent.run import find_run


@pytest.mark.slow
def test_demo_first_stage_teaches_and_keeps(tmp_path: Path) -> None:
    """The demo's first round raises the taught module by a paired, significant margin and
    no untaught module falls by more than its interval."""
    demo = load_config(None).model_dump(mode="json")
    cfg = merge(demo, {"max_rounds": 1})  # the first stage's first round
    path = write_config(tmp_path / "cfg.yaml", cfg)
    assert main(["run", "--config", str(path), "--runs", str(tmp_path), "--name", "demo"]) == 0
    run = find_run(tmp_path, "demo")
    gate = run.store.events("gate")[0]["payload"]
    paired = paired_by_module(run, 1)
    print({m: (c["before"], c["after"], c["lo"], c["hi"]) for m, c in paired.items()})
    taught = gate["modules"]
    for m in taught:
        assert paired[m]["diff"] >= 0.3, (m, paired[m])
        assert paired[m]["lo"] > 0, (m, paired[m])
    for m, change in paired.items():
        if m not in taught:
            assert change["hi"] >= 0, (m, change)
    # the Adapter scored renderings and the round trained on its pick
    picks = run.store.events("renderings")[0]["payload"]["groups"]
    assert picks and all(g["scores"] for g in picks)
    trained = run.store.items("train")
    for g in picks:
        made = [it for it in trained if (it.module, it.level) == (g["module"], g["level"])]
        want = "" if g["picked"] == "teacher" else g["picked"]
        assert made and all(it.rendering == want for it in made), g
    # the student's own verified answers on untaught modules joined the round
    own = [it for it in trained if it.rendering == SELF]
    assert own and all(it.module not in taught for it in own)
    # the untrained student's answer to a taught probe, and the trained one, are stored
    rows = {r["item_id"]: r for r in run.store.assessment(1)}
    assert all(rows[p.id]["output"] for p in run.store.items("probe", taught[0]))
