"""`ioa eval`: scoring prediction files, bad input, and generation end to end."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ioa_agent.evaluation.cli import add_eval_parser, main, run_eval
from ioa_agent.evaluation.loaders import load_gsm8k, load_humaneval

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "fixtures" / "data"  # small slices; see tests/fixtures/README.md


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("IOA_DATA_DIR", str(DATA))


def _ioa_eval(argv: list[str]) -> int:
    """Run through an argparse parser with subcommands, as the main `ioa` CLI does."""
    parser = argparse.ArgumentParser(prog="ioa")
    add_eval_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["eval", *argv])
    assert args.func is run_eval
    return args.func(args)


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _results(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def check_against_rescoring(results: list[dict], summary: dict, n: int) -> None:
    """Every GSM8K and HumanEval verdict and figure re-derived from the outputs alone.

    The first `n` items of each, their golds, each output re-scored on its own, and the
    summary equal to the mean of the verdicts.
    """
    from ioa_agent.evaluation.code_scoring import score_code
    from ioa_agent.evaluation.math_scoring import score_gsm8k

    gsm8k = [r for r in results if r["bench"] == "gsm8k"]
    golds = {p.id: p.gold for p in load_gsm8k(DATA)[:n]}
    assert sorted(str(r["id"]) for r in gsm8k) == sorted(golds)
    for r in gsm8k:
        verdict = score_gsm8k(r["output"], golds[str(r["id"])])
        assert (r["correct"], r["extracted"]) == (verdict.correct, verdict.extracted), r
    flexible = sum(r["correct"] for r in gsm8k) / n
    assert summary["gsm8k"]["flexible_extract"] == pytest.approx(flexible)
    code = [r for r in results if r["bench"] == "humaneval"]
    problems = {p.id: p for p in load_humaneval()[:n]}
    assert sorted(r["id"] for r in code) == sorted(problems)
    verdicts = score_code([(problems[r["id"]], r["output"]) for r in code])
    assert [r["correct"] for r in code] == [v.correct for v in verdicts]
    assert summary["humaneval"]["pass@1"] == pytest.approx(sum(r["correct"] for r in code) / n)


def test_humaneval_predictions_are_scored_with_pass_at_k(tmp_path: Path) -> None:
    problems = load_humaneval()[:6]
    rows = []
    for problem in problems:
        rows += [{"id": problem.id, "output": problem.gold}] * 2
        rows.append({"id": problem.id, "output": "    return None\n"})
    out = tmp_path / "out"
    code = _ioa_eval(
        ["--bench", "humaneval", "--predictions", str(_write(tmp_path / "p.jsonl", rows))]
        + ["--out", str(out), "--k", "1,2,3", "--no-progress"]
    )
    assert code == 0
    results = _results(out)
    assert len(results) == 18 and [r["sample"] for r in results[:3]] == [0, 1, 2]
    assert [r["correct"] for r in results[:3]] == [True, True, False]
    assert results[2]["failing_test"].startswith("assert") and results[2]["error"]
    assert {"id", "output", "extracted", "correct", "time"} <= set(results[0])
    summary = json.loads((out / "summary.json").read_text())["humaneval"]
    assert summary["n"] == 6 and summary["samples"] == 18
    assert summary["pass@1"] == pytest.approx(2 / 3)
    assert summary["pass@2"] == pytest.approx(1.0)  # 1 - C(1,2)/C(3,2) = 1
    assert summary["pass@3"] == pytest.approx(1.0)
    assert "pass@1 66.7%" in (out / "summary.md").read_text()


def test_gsm8k_predictions_report_strict_and_flexible(tmp_path: Path) -> None:
    golds = [p.gold for p in load_gsm8k(DATA)[:4]]
    rows = [
        {"id": 0, "output": f"The answer is {golds[0]}."},
        {"id": 1, "output": f"so it costs ${golds[1]}"},
        {"id": 2, "output": "I do not know"},
        {"id": "3", "output": f"#### {golds[3]}"},
    ]
    out = tmp_path / "out"
    argv = ["--bench", "gsm8k", "--predictions", str(_write(tmp_path / "g.jsonl", rows))]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())["gsm8k"]
    assert summary["n"] == 4 and summary["missing"] == 16  # of the 20 fixture rows
    assert summary["strict_match"] == 0.5 and summary["flexible_extract"] == 0.75
    results = _results(out)
    assert results[1]["correct"] is True and results[1]["correct_strict"] is False
    assert results[2]["error"] == "no number in the output"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bench", "nosuch", "--model", "m"], "unknown benchmark 'nosuch'"),
        (["--bench", "gsm8k"], "exactly one of --model"),
        (["--bench", "gsm8k,mbpp", "--predictions", "{p}"], "single --bench"),
        (["--bench", "gsm8k", "--predictions", "{missing}"], "does not exist"),
        (["--bench", "gsm8k", "--predictions", "{p}", "--limit", "0"], "--limit must be"),
        (["--bench", "gsm8k", "--model", "m", "--seeds", "1,x"], "--seeds takes"),
        (["--bench", "dolly", "--predictions", "{p}"], "--dolly-file"),
        (["--bench", "humaneval", "--predictions", "{p}"], "is not a HumanEval id"),
        (["--bench", "gsm8k", "--model", "{missing}"], "not found"),
        (["--bench", "humaneval", "--predictions", "{bad}"], "not valid JSON"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preds = _write(tmp_path / "p.jsonl", [{"id": 0, "output": "1"}])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    names = {"p": preds, "missing": tmp_path / "missing", "bad": bad}
    argv = [arg.format(**names) for arg in argv]
    assert _ioa_eval([*argv, "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ioa eval: error: ")
    assert message in err


def test_module_entry_point_runs(tmp_path: Path) -> None:
    problem = load_humaneval()[0]
    preds = _write(tmp_path / "p.jsonl", [{"id": problem.id, "output": problem.gold}])
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "ioa_agent.evaluation.cli", "--bench", "humaneval"]
        + ["--predictions", str(preds), "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "pass@1 100.0%" in done.stdout


def test_generation_end_to_end_with_a_tiny_model(tmp_path: Path) -> None:
    from ioa_agent.student.models import make_tiny_model

    model = make_tiny_model(tmp_path / "tiny", ["1 + 1 = 2", "def f(x):\n    return x"], seed=0)
    out = tmp_path / "out"
    argv = ["--model", str(model), "--bench", "gsm8k,humaneval,vicuna", "--limit", "2"]
    assert _ioa_eval([*argv, "--max-new-tokens", "6", "--out", str(out), "--no-progress"]) == 0
    results = _results(out)
    by_bench = {
        b: [r for r in results if r["bench"] == b] for b in ("gsm8k", "humaneval", "vicuna")
    }
    assert len(by_bench["gsm8k"]) == 2 and len(by_bench["humaneval"]) == 2
    assert len(by_bench["vicuna"]) == 10  # 2 questions x MiniLLM's 5 seeds
    assert {r["seed"] for r in by_bench["vicuna"]} == {10, 20, 30, 40, 50}
    assert all(isinstance(r["correct"], bool) for r in by_bench["gsm8k"] + by_bench["humaneval"])
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["vicuna"]["rougeL_per_seed"]) == {"10", "20", "30", "40", "50"}
    assert summary["humaneval"]["n"] == 2 and "pass@1" in summary["humaneval"]
    assert (out / "summary.md").read_text().startswith("# Evaluation summary")
    check_against_rescoring(results, summary, 2)


@pytest.mark.slow
def test_smollm2_on_gsm8k_and_humaneval(tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["--model", "smollm2-135m-instruct", "--bench", "gsm8k,humaneval", "--limit", "20"]
    assert _ioa_eval([*argv, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    print(json.dumps({k: v for k, v in summary.items() if k != "_run"}, indent=1))
    assert summary["gsm8k"]["n"] == 20 and summary["humaneval"]["n"] == 20
    results = _results(out)
    assert len(results) == 40
    assert (out / "summary.md").is_file()
    check_against_rescoring(results, summary, 20)


def test_code_benchmarks_say_once_which_sandbox_protections_are_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ioa_agent.evaluation import cli, confinement

    weak = confinement.Isolation(
        confinement.RLIMITS_ONLY, False, False, False, sys.executable, ["no unshare"]
    )
    monkeypatch.setattr(cli, "isolation", lambda: weak)
    problem = load_humaneval()[0]
    rows = [{"id": problem.id, "output": problem.gold}]
    argv = ["--bench", "humaneval", "--predictions", str(_write(tmp_path / "p.jsonl", rows))]
    assert _ioa_eval([*argv, "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.count("ioa eval: warning:") == 1
    assert "without network isolation, a PID namespace, a separate unprivileged user" in err
    assert "(no unshare)" in err

    strong = confinement.Isolation(
        confinement.ROOT_NAMESPACES, True, True, True, sys.executable, []
    )
    monkeypatch.setattr(cli, "isolation", lambda: strong)
    assert _ioa_eval([*argv, "--out", str(tmp_path / "o2"), "--no-progress"]) == 0
    assert "warning" not in capsys.readouterr().err
