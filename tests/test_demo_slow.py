"""The real demo student (SmolLM2-135M-Instruct) learns: slow, run with `pytest -m slow`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import merge, write_config

from ioa_agent.cli import main
from ioa_agent.config_file import load_config
from ioa_agent.items import SELF
from ioa_agent.organizer.skills import skill_id
from ioa_agent.pedagogy.measures import paired_change
from ioa_agent.probe_scores import paired_by_module
from ioa_agent.run import find_run


@pytest.mark.slow
def test_demo_masters_its_first_stages_and_keeps_the_rest(tmp_path: Path) -> None:
    """The demo's first two rounds, as the README states them: the first stage's skill
    passes the gate on its 16 held-out probes and the route "mastered → next stage"
    runs; the passed skill rises by at least 0.3 with a paired interval above 0 and every
    taught skill rises; no untouched module falls beyond its interval; no training item
    shares a probe's operands or works them out on the way."""
    demo = load_config(None).model_dump(mode="json")
    cfg = merge(demo, {"max_rounds": 2})
    path = write_config(tmp_path / "cfg.yaml", cfg)
    assert main(["run", "--config", str(path), "--runs", str(tmp_path), "--name", "demo"]) == 0
    run = find_run(tmp_path, "demo")
    gates = [e["payload"] for e in run.store.events("gate")]
    first = gates[0]
    assert first["mastered"] and first["decision"] == "organize", first["gate"]
    assert all(row["n"] >= 16 and row["ratio"] >= 0.9 for row in first["gate"])

    last = run.store.assessed_rounds()[-1]
    probes = run.store.items("probe")
    before = {r["item_id"]: r for r in run.store.assessment(0)}
    after = {r["item_id"]: r for r in run.store.assessment(last)}
    assert set(after) == {p.id for p in probes}  # the last round scored every probe
    taught = sorted({s for g in gates for s in g["skills"]})
    passed = {row["skill"] for row in first["gate"]}
    for s in taught:
        ids = [p.id for p in probes if skill_id(p.module, p.level) == s]
        change = paired_change(
            [before[i]["correct"] for i in ids], [after[i]["correct"] for i in ids]
        )
        assert change["diff"] > 0 and change["gained"] > change["lost"], (s, change)
        if s in passed:  # the README's +0.3 with an interval above 0 is pooled over seeds;
            # one run's 16 probes hold it for the skill the gate passed
            assert change["diff"] >= 0.3 and change["lo"] > 0, (s, change)
    data = [e["payload"] for e in run.store.events("data")]
    touched = {s.rsplit("@", 1)[0] for s in taught}
    for d in data:
        touched |= set(d["self_replay_modules"]) | set(d["replay_modules"])
    paired = paired_by_module(run, last)
    untouched = [m for m in paired if m not in touched]
    for m in untouched:
        assert paired[m]["hi"] >= 0, (m, paired[m])

    # no training item shares a probe's operation and operands (the filter's own count
    # is in the data events; this counts again from the store)
    keys = {run.scorer.content_key(p.prompt) for p in probes}
    trained = run.store.items("train")
    assert trained and not [t.prompt for t in trained if run.scorer.content_key(t.prompt) in keys]
    stated = [t for t in trained if run.scorer.stated_keys(f"{t.prompt}\n{t.completion()}") & keys]
    assert not stated  # nor works one out on the way ("3 * 4 = 12" in a money problem)
    # the Adapter scored renderings and each round trained on its pick
    for event in run.store.events("renderings"):
        rnd = event["payload"]["round"]
        earlier = {it.id for it in run.store.items("train", before_round=rnd)}
        new = [it for it in run.store.items("train", before_round=rnd + 1) if it.id not in earlier]
        for g in event["payload"]["groups"]:
            made = [it for it in new if (it.module, it.level) == (g["module"], g["level"])]
            made = [it for it in made if it.rendering != SELF]
            want = "" if g["picked"] == "teacher" else g["picked"]
            assert g["scores"] and made and all(it.rendering == want for it in made), g
    # the student's own verified answers on modules outside the round joined it
    own = [it for it in trained if it.rendering == SELF]
    assert own
    # what a reader sees: the taught skill's probes answered in the taught form
    s = taught[0]
    shown = [after[p.id]["output"] for p in probes if skill_id(p.module, p.level) == s]
    assert all(out.strip() for out in shown)
