"""The command line: review pauses and answers, status, and clear errors (exit 2)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from conftest import tiny_config, write_config

from ioa_agent.cli import main
from ioa_agent.drive import snapshot
from ioa_agent.run import find_run
from ioa_agent.store import RunStore


def test_review_pauses_and_is_answered(
    tiny_model: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = write_config(
        tmp_path / "cfg.yaml",
        tiny_config(tiny_model, review="required", max_rounds=1),
    )
    opened: list[sqlite3.Connection] = []
    real_init = RunStore.__init__

    def tracked(self: RunStore, path: Path) -> None:
        real_init(self, path)
        opened.append(self.db.conn)

    monkeypatch.setattr(RunStore, "__init__", tracked)
    assert main(["run", "--config", str(cfg), "--runs", str(tmp_path), "--name", "r"]) == 0
    # every store connection is closed when the command returns, not left to the garbage
    # collector (a sqlite3 connection is in a cycle with its statement cache): a paused
    # run holds no open file and its folder can be copied or moved while it waits
    assert len(opened) >= 3
    for conn in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("select 1")
    assert sorted(p.name for p in (tmp_path / "r").glob("*.db*")) == ["graph.db", "store.db"]
    run = find_run(tmp_path, "r")
    snap = snapshot(run)
    assert snap.next == ("review",)
    req = snap.interrupt
    assert req["review_configs"] == [
        {"action_name": "curriculum_step", "allowed_decisions": ["approve", "edit", "reject"]}
    ]
    args = req["action_requests"][0]["args"]
    assert args["kind"] == "plan" and req["action_requests"][0]["name"] == "curriculum_step"
    assert not (tmp_path / "r" / "rounds").exists()  # nothing taught before approval
    first = args["stages"]

    # showing the pending step changes nothing: a table, or the raw payload with --json
    assert main(["review", "r", "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    head_skill = first[0]["skills"][0]
    assert "stages" in out and "◀ this step" in out and head_skill in out
    assert args["skills"][0]["skill"] == head_skill and args["skills"][0]["probes"] == 2
    assert args["skills"][0]["sample"].split()[0] in out
    assert main(["review", "r", "--runs", str(tmp_path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (
        shown["checkpoint"] == snap.checkpoint
        and shown["action_requests"] == req["action_requests"]
    )

    # a bad edit is refused, and the run is untouched
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"stages": [{"skills": ["arithmetic/nope@1"]}]}))
    assert main(["review", "r", "--runs", str(tmp_path), "--edit", str(bad)]) == 2
    assert "unknown module" in capsys.readouterr().err
    assert main(["review", "r", "--runs", str(tmp_path), "--reject", "make it fun"]) == 2
    assert snapshot(run).values == snap.values

    # reject with feedback: the organizer re-plans and asks again
    assert main(["review", "r", "--runs", str(tmp_path), "--reject", "split"]) == 0
    again = snapshot(run).interrupt["action_requests"][0]["args"]
    head = first[0]["skills"]
    assert again["stages"][0]["skills"] == head[:1]
    assert len(again["stages"]) == len(first) + len(head) - 1

    # an edited plan is validated and taught (a skill it leaves out does not block)
    module = again["stages"][0]["skills"][0].rsplit("@", 1)[0]
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump({"stages": [{"skills": [f"{module}@2"]}]}))
    assert main(["review", "r", "--runs", str(tmp_path), "--edit", str(plan)]) == 0
    snap = snapshot(run)
    assert snap.done
    assert snap.values["curriculum"]["stages"][-1]["skills"] == [f"{module}@2"]
    kinds = [e["payload"]["answer"]["action"] for e in run.store.events("review")]
    assert kinds == ["reject", "edit"]
    data = (tmp_path / "r" / "rounds" / "0001" / "train.jsonl").read_text()
    assert module in data

    assert main(["status", "r", "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "run r: done" in out and "teacher (builtin):" in out
    assert "(requests and answers counted with the student's tokenizer)" in out
    assert main(["status", "--runs", str(tmp_path)]) == 0
    assert "r  done" in capsys.readouterr().out


def test_errors_are_one_line_with_exit_2(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("organizer:\n  tau_mastery: 2\n")
    assert main(["run", "--config", str(bad), "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "organizer.tau_mastery" in err and err.count("\n") == 1

    missing = write_config(tmp_path / "m.yaml", tiny_config(tmp_path / "no-model"))
    assert main(["run", "--config", str(missing), "--runs", str(tmp_path / "runs")]) == 2
    assert "no-model" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # nothing created

    for cmd in (["resume", "nope"], ["status", "nope"], ["review", "nope", "--approve"]):
        assert main([*cmd, "--runs", str(tmp_path)]) == 2
        assert "unknown run `nope`" in capsys.readouterr().err

    good = write_config(tmp_path / "g.yaml", tiny_config(tiny_model))
    (tmp_path / "runs2" / "taken").mkdir(parents=True)
    assert (
        main(["run", "--config", str(good), "--runs", str(tmp_path / "runs2"), "--name", "taken"])
        == 2
    )
    assert "already exists" in capsys.readouterr().err
