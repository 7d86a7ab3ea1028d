"""The whole loop through real parts: real SQLite, the exact teacher, a tiny real student.

A run goes to the end; a run killed with SIGKILL during `train` or `adapt` and then
resumed ends with the same decisions and data as an uninterrupted one, with no
teacher call repeated and no item lost or duplicated; checkpoints stay small.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from conftest import tiny_config, write_config
from run_checks import (
    assert_no_repeated_teacher_calls,
    assert_same_run,
    differences,
    fingerprint,
    spawn,
)

from ioa_agent.cli import main
from ioa_agent.drive import snapshot
from ioa_agent.run import find_run


def test_full_run_completes(reference: Path) -> None:
    snap = snapshot(find_run(reference.parent, "ref"))
    assert snap.done and snap.interrupt is None
    v = snap.values
    assert v["round"] == 2 and v["decision"] == "end"
    run = find_run(reference.parent, "ref")
    assert run.store.assessed_rounds() == [0, 1, 2]
    steps = []
    for rnd in (1, 2):
        metrics = reference / "rounds" / f"{rnd:04d}" / "adapter" / "metrics.json"
        rows = (reference / "rounds" / f"{rnd:04d}" / "train.jsonl").read_text().splitlines()
        replayed = sum(json.loads(r)["replay"] for r in rows)
        steps.append((json.loads(metrics.read_text())["steps"], len(rows) - replayed, replayed))
    # round 1 has nothing to replay: the config's 2 steps; round 2's replay rows add
    # their share on top of the new items' 2 steps, rounded half up
    (s1, _, r1), (s2, new2, r2) = steps
    assert r1 == 0 and s1 == 2
    assert r2 > 0 and s2 == int(2 * (new2 + r2) / new2 + 0.5) > 2
    kinds = [e["kind"] for e in run.store.events()]
    assert kinds[0] == "diagnosis" and "gate" in kinds and "train" in kinds
    # every probe was scored for the teacher (P_T measured, not assumed)
    probes = run.store.items("probe")
    assert len(run.store.teacher_answers()) == len(probes) == 9 * 4 * 2
    assert_no_repeated_teacher_calls(reference)


def test_checkpoints_stay_small_and_hold_no_data(reference: Path) -> None:
    run = find_run(reference.parent, "ref")
    state = snapshot(run).values
    assert len(json.dumps(state)) < 64 * 1024
    prompts = [p.prompt for p in run.store.items("probe")] + [
        i.prompt for i in run.store.items("train")
    ]
    with sqlite3.connect(reference / "graph.db") as conn:
        blobs = [r[0] for r in conn.execute("select checkpoint from checkpoints")]
        blobs += [r[0] for r in conn.execute("select value from writes")]
    assert blobs and max(len(b) for b in blobs) < 64 * 1024
    joined = b"".join(bytes(b) for b in blobs)
    assert not any(p.encode() in joined for p in prompts[:50])


def test_sigkill_during_train_then_resume(
    reference: Path, tiny_model: Path, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "cfg.yaml", tiny_config(tiny_model))
    proc = spawn(
        ["run", "--config", str(cfg), "--runs", str(tmp_path), "--name", "b"], tmp_path / "log"
    )
    train_log = tmp_path / "b" / "rounds" / "0001" / "train.log"
    deadline = time.time() + 300
    while not train_log.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert train_log.exists(), (tmp_path / "log").read_text()
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    assert not (tmp_path / "b" / "rounds" / "0001" / "adapter" / "metrics.json").exists()
    assert snapshot(find_run(tmp_path, "b")).next == ("train",)

    assert main(["resume", "b", "--runs", str(tmp_path)]) == 0
    assert snapshot(find_run(tmp_path, "b")).done
    assert_same_run(fingerprint(reference), fingerprint(tmp_path / "b"))
    assert_no_repeated_teacher_calls(tmp_path / "b")


CRASH_IN_ADAPT = """
import os, signal
from ioa_agent.teacher import exact
_rewrite = exact.ArithmeticTeacher.rewrite
_calls = [0]
def rewrite(self, *args, **kwargs):
    _calls[0] += 1
    if _calls[0] > 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return _rewrite(self, *args, **kwargs)
exact.ArithmeticTeacher.rewrite = rewrite
"""


def test_sigkill_during_adapt_then_resume(
    reference: Path, tiny_model: Path, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "cfg.yaml", tiny_config(tiny_model))
    args = ["run", "--config", str(cfg), "--runs", str(tmp_path), "--name", "c"]
    proc = spawn(args, tmp_path / "log", prelude=CRASH_IN_ADAPT)
    assert proc.wait(timeout=300) == -signal.SIGKILL, (tmp_path / "log").read_text()
    run = find_run(tmp_path, "c")
    assert snapshot(run).next == ("adapt",)
    assert not (tmp_path / "c" / "rounds" / "0001" / "train.jsonl").exists()
    before = run.store.teacher_usage()["calls"]
    assert before > 0

    assert main(["resume", "c", "--runs", str(tmp_path)]) == 0
    assert snapshot(find_run(tmp_path, "c")).done
    assert_same_run(fingerprint(reference), fingerprint(tmp_path / "c"))
    usage = assert_no_repeated_teacher_calls(tmp_path / "c")
    assert usage["calls"] == assert_no_repeated_teacher_calls(reference)["calls"]


def test_same_config_and_seed_give_the_same_run(
    reference: Path, tiny_model: Path, tmp_path: Path
) -> None:
    """Determinism on one machine: decisions, data (train.jsonl hashes) and scores."""
    cfg = write_config(tmp_path / "cfg.yaml", tiny_config(tiny_model))
    assert main(["run", "--config", str(cfg), "--runs", str(tmp_path), "--name", "again"]) == 0
    again = fingerprint(tmp_path / "again")
    assert again["data"] and again["scores"]
    assert_same_run(fingerprint(reference), again)
    first = json.loads((reference / "summary.json").read_text())["figures"]
    second = json.loads((tmp_path / "again" / "summary.json").read_text())["figures"]
    for key in ("p_t", "overall", "decisions"):
        assert first[key] == second[key], key
    strip = ("train_seconds",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in first["rounds"]] == [
        {k: v for k, v in r.items() if k not in strip} for r in second["rounds"]
    ]


def test_summary_json_and_report_results(reference: Path, tmp_path: Path) -> None:
    from ioa_agent.results import REQUIRED, rebuild_table

    summary = json.loads((reference / "summary.json").read_text())
    assert set(REQUIRED) <= set(summary)
    assert summary["seed"] == 0 and summary["config"]["max_rounds"] == 2
    assert summary["machine"]["cores"] >= 1 and summary["versions"]["torch"]
    figures = summary["figures"]
    run = find_run(reference.parent, "ref")
    assert [r["round"] for r in figures["rounds"]] == run.store.assessed_rounds()
    for row in figures["rounds"]:
        scores = [r["correct"] for r in run.store.assessment(row["round"])]
        assert row["overall"] == pytest.approx(sum(scores) / len(scores))
        assert set(row["p_s"]) == {m.id for m in run.store.modules()}
        assert (row["train_seconds"] > 0) == (row["round"] > 0), row
    assert figures["wall_seconds"] > 0
    assert figures["teacher"]["tokens_in"] == run.store.teacher_usage()["tokens_in"] > 0
    assert [d["kind"] for d in figures["decisions"]].count("gate") == 2
    assert summary["readme_table"].splitlines()[0] == "| module | round 0 | round 1 | round 2 |"
    assert len(summary["readme_table"].splitlines()) == 2 + 9 + 1
    assert summary["table"] == "ioa_agent/results.py:run_table"
    assert rebuild_table(summary) == summary["readme_table"]

    out = tmp_path / "results"
    args = ["report", "ref", "--runs", str(reference.parent), "--out", str(tmp_path / "r")]
    assert main([*args, "--results", str(out)]) == 0
    assert json.loads((out / "ref.json").read_text()) == summary


def test_builtin_teacher_tokens_are_counted_with_the_student_tokenizer(
    reference: Path, tiny_model: Path
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))

    def tokens(text: str) -> int:
        obj = json.loads(text)
        dumped = json.dumps(obj, sort_keys=True, ensure_ascii=False)
        return len(tokenizer(dumped, add_special_tokens=False)["input_ids"])

    run = find_run(reference.parent, "ref")
    rows = list(
        run.store.db.query(
            "select c.request, c.response, k.tokens_in, k.tokens_out"
            " from teacher_calls k join teacher_cache c on c.key = k.key"
        )
    )
    assert len(rows) == run.store.teacher_usage()["calls"] > 0
    for row in rows:
        assert (row["tokens_in"], row["tokens_out"]) == (
            tokens(row["request"]),
            tokens(row["response"]),
        )
    # a character estimate would differ: the tokenizer splits every digit
    assert sum(r["tokens_out"] for r in rows) != sum(len(r["response"]) // 4 for r in rows)


def test_fingerprints_forgive_only_a_floats_last_bits() -> None:
    from run_checks import same

    assert same({"s": [6.652475652330026]}, {"s": [6.652475652330027]})
    assert not same({"s": [6.6524]}, {"s": [6.6525]})
    assert not same({"s": [1.0]}, {"s": [1.0, 2.0]}) and not same(1, 1.0)
    assert differences({"events": [("k", {"x": 0.5})]}, {"events": [("k", {"x": 0.25})]}) == [
        "events"
    ]
