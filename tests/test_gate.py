"""The skill gate through the real graph: real SQLite, the exact teacher, the tiny
student trained for real. Only the student's answers are set (the one seam faked), so
the test decides which skills it has mastered in each round and checks the route:
mastered → next stage, a passed skill that falls re-enters the curriculum, each round
scores only the probes the gate reads, and the last round scores every probe.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import tiny_config, write_config

from ioa_agent.cli import main
from ioa_agent.config import parse_config
from ioa_agent.drive import advance, snapshot
from ioa_agent.organizer.skills import skill_id
from ioa_agent.run import create_run, find_run


def answering(right: Callable[[Any, int], set[str]]) -> Callable[..., list[str]]:
    """The student's answers to the probes, set by the test: right on the skills
    `right(run, round)` names, "no idea" elsewhere (the one seam faked)."""

    def answers(run: Any, rnd: int, prompts: list[str], progress: Any) -> list[str]:
        gold = {p.prompt: p for p in run.store.items("probe")}
        skills = right(run, rnd)
        out = []
        for q in prompts:
            p = gold.get(q)
            ok = p is not None and skill_id(p.module, p.level) in skills
            out.append(f"{p.answer}." if ok else "no idea")
        return out

    return answers


def test_gate_passes_a_skill_and_a_fallen_skill_is_taught_again(
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import ioa_agent.probe_scores as assessment

    config = parse_config(
        tiny_config(
            tiny_model,
            max_rounds=3,
            organizer={"max_remedial": 0},
            assess={"scope": "needed"},
        )
    )
    run = create_run(config, tmp_path, "gate")
    right: dict[int, set[str]] = {0: set(), 1: {"arithmetic/addition@1"}, 2: set(), 3: set()}

    monkeypatch.setattr(assessment, "student_outputs", answering(lambda run, rnd: right[rnd]))
    assert advance(run).done
    probes = run.store.items("probe")
    skill_of = {p.id: skill_id(p.module, p.level) for p in probes}
    gates = {e["payload"]["round"]: e["payload"] for e in run.store.events("gate")}

    # round 1 taught addition@1 and scored only its probes: 2 of 2 right, passed
    assert gates[1]["skills"] == ["arithmetic/addition@1"]
    assessed_1 = {r["item_id"] for r in run.store.assessment(1)}
    assert {skill_of[i] for i in assessed_1} == {"arithmetic/addition@1"}
    row = gates[1]["gate"][0]
    assert row["passed"] and row["n"] == 2 and set(row["probes"]) == assessed_1
    assert gates[1]["mastered"] and gates[1]["decision"] == "organize"

    # round 2: the next stage, plus the passed skill re-checked; it fell, so it is
    # taught again next (the stage failed and moved on by escalation)
    stage_2 = set(gates[2]["skills"])
    assessed_2 = {skill_of[r["item_id"]] for r in run.store.assessment(2)}
    assert assessed_2 == stage_2 | {"arithmetic/addition@1"}
    assert gates[2]["forgotten"] == ["arithmetic/addition@1"] and not gates[2]["mastered"]
    advances = [e["payload"] for e in run.store.events("advance")]
    assert [a.get("reentered") for a in advances] == [None, ["arithmetic/addition@1"]]
    stages = snapshot(run).values["curriculum"]["stages"]
    again = [s for s in stages if s.get("again")]
    assert again == [{"skills": ["arithmetic/addition@1"], "bridge": False, "again": True}]
    assert gates[3]["skills"] == ["arithmetic/addition@1"]

    # the run's last assessment scores every probe
    assert {r["item_id"] for r in run.store.assessment(3)} == {p.id for p in probes}
    assert gates[3]["decision"] == "end"

    # `ioa status` shows the last gate's count per skill, and no skill as passed: the
    # one that passed fell and was taught again
    capsys.readouterr()
    assert main(["status", "gate", "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "passed the gate:" not in out
    assert "last gate (round 3): arithmetic/addition@1 0/2 probes, P_S/P_T 0.00, not yet" in out


def test_a_run_planned_in_modules_is_refused_with_one_line(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run checkpointed before stages were skills stops with a clear error."""
    from ioa_agent.drive import compiled, thread

    run = create_run(parse_config(tiny_config(tiny_model)), tmp_path, "old")
    old = {"cycle": 1, "stages": [{"modules": ["arithmetic/addition"], "bridge": False}]}
    with compiled(run) as app:
        app.update_state(thread(run), {"curriculum": {**old, "stage": 0, "levels": {}}})
    assert main(["resume", "old", "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "planned by an older ioa" in err and "run old" in err


def test_a_stage_already_at_the_gate_is_passed_over_not_taught(
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import ioa_agent.probe_scores as assessment

    over = {"max_rounds": 2, "organizer": {"max_remedial": 0}, "assess": {"scope": "all"}}
    cfg = write_config(tmp_path / "cfg.yaml", tiny_config(tiny_model, **over))

    def right(run: Any, rnd: int) -> set[str]:  # from round 1 on: what stages 1 and 2 teach
        if rnd == 0:
            return set()
        stages = run.store.events("plan")[0]["payload"]["stages"]
        return set(stages[0]["skills"]) | set(stages[1]["skills"])

    monkeypatch.setattr(assessment, "student_outputs", answering(right))
    capsys.readouterr()
    assert main(["run", "--config", str(cfg), "--runs", str(tmp_path), "--name", "s"]) == 0
    printed = capsys.readouterr().out
    run = find_run(tmp_path, "s")
    plan = run.store.events("plan")[0]["payload"]["stages"]
    first, second, third = (s["skills"] for s in plan[:3])
    gates = {e["payload"]["round"]: e["payload"] for e in run.store.events("gate")}
    assert gates[1]["skills"] == first and gates[1]["decision"] == "organize"
    # stage 2 scored at the gate already in round 1: round 2 teaches stage 3
    assert gates[2]["skills"] == third
    moved = run.store.events("advance")[0]["payload"]
    assert moved["skipped"] == sorted(second) and moved["stage"] == 2
    assert set(second) <= set(moved["passed"])
    stages = snapshot(run).values["curriculum"]["stages"]
    assert stages[1].get("skipped") is True and not stages[2].get("skipped")
    taught = {k for e in run.store.events("data") for k in e["payload"]["renderings"]}
    assert taught and not taught & set(second), taught
    assert f"stage 2: {', '.join(second)} at the gate already: not taught" in printed
