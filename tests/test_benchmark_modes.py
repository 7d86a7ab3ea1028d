"""Every benchmark's smallest mode runs, as a user would run it, and writes a results file
that passes the same checks as the committed ones: every required field, and a table
that its figures render again (tests/test_results.py). The figures themselves are a
tiny random-weight student's and mean nothing; the machinery is what is tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, tiny_config, write_config

from ioa_agent.results import REQUIRED, rebuild_table

ROOT = Path(__file__).resolve().parents[1]


def small_mode(name: str, model: Path, tmp: Path) -> tuple[list[str], Path]:
    """The benchmark's command line in its smallest mode, and the results file it writes."""
    out = tmp / f"{name}.json"
    m = str(model)
    if name == "pedagogy":
        out = tmp / "pedagogy.json"
        args = ["--tiny", "--seeds", "1", "--strategies", "ioa", "uniform+pick", "--rounds", "2"]
        args += ["--out", str(tmp / "p"), "--results-dir", str(tmp / "runs"), "--results", str(out)]
    elif name == "demo_seeds":
        cfg = write_config(tmp / "cfg.yaml", tiny_config(model))
        args = ["--seeds", "0", "--config", str(cfg), "--runs", str(tmp / "runs")]
        args += ["--results", str(tmp)]
        out = tmp / "demo_skills.json"
    elif name == "representation":
        args = ["--model", m, "--items", "16", "--probes", "4", "--seeds", "0", "--steps", "1"]
        args += ["--sample", "4", "--tokens", "8", "--out", str(out), "--work", str(tmp / "w")]
    elif name == "demo_packing":
        data = tmp / "train.jsonl"
        rows = [
            {"prompt": f"What is {a} + 7?", "completion": f"{a} + 7 = {a + 7}."} for a in range(40)
        ]
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        args = ["--model", m, "--data", str(data), "--steps", "1", "--results", str(out)]
    elif name == "reliability":
        args = ["--tiny", "--results", str(out)]
    elif name == "serve_speed":
        args = ["--rounds", "3", "--repeats", "1", "--approve-repeats", "1", "--out", str(out)]
    elif name == "train_speed":
        args = ["--shape", "tiny", "--steps", "2", "--warmup", "1", "--results", str(out)]
    elif name == "assess_speed":
        args = ["--model", m, "--probes", "4", "--max-new-tokens", "4", "--no-vllm"]
        args += ["--results", str(out)]
    elif name == "student_speed":
        args = ["--model", m, "--questions", "4", "--max-new-tokens", "4", "--train-steps", "2"]
        args += ["--results", str(out)]
    elif name == "eval_speed":
        args = ["--n", "4", "--items", "8", "--data-dir", str(FIXTURES), "--results", str(out)]
    else:
        raise AssertionError(f"no small mode for {name}")
    return [sys.executable, f"benchmarks/{name}.py", *args], out


BENCHMARKS = sorted(
    p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem != "pedagogy_table"
)


def test_every_benchmark_has_a_small_mode(tiny_model: Path, tmp_path: Path) -> None:
    for name in BENCHMARKS:
        assert small_mode(name, tiny_model, tmp_path)[0][1] == f"benchmarks/{name}.py"


@pytest.mark.parametrize("name", BENCHMARKS)
def test_small_mode_writes_a_valid_results_file(
    name: str, tiny_model: Path, tmp_path: Path
) -> None:
    argv, out = small_mode(name, tiny_model, tmp_path)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads(out.read_text())
    assert set(REQUIRED) <= set(record), sorted(set(REQUIRED) - set(record))
    assert record["command"].startswith(f"python benchmarks/{name}.py")
    assert record["table"].split(":")[0] in (f"benchmarks/{name}.py", f"benchmarks/{name}_table.py")
    assert record["figures"] and record["readme_table"].startswith("| ")
    assert rebuild_table(record) == record["readme_table"]
    if name == "pedagogy":  # and ioa minus uniform+pick per module and round, beside it
        where = json.loads(out.with_name("pedagogy_by_module.json").read_text())
        assert where["figures"]["seeds"] == [0] and where["figures"]["rounds"] == [1, 2]
        assert rebuild_table(where) == where["readme_table"]
