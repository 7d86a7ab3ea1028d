"""What a crash, a Ctrl-C or a full disk must not change in a run, and how to start one.

`fingerprint` is a run's decisions and data: store events (without wall times and
losses), train.jsonl hashes, items, teacher answers, per-probe scores. Two runs with
the same config and seed have equal fingerprints however often they were interrupted.
`spawn` starts `ioa` in its own session (its own process group, as a terminal
would), after an optional Python prelude that sets up the fault.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from ioa_agent.run import find_run, sha256_file

ROOT = Path(__file__).resolve().parents[1]


def fingerprint(run_dir: Path) -> dict[str, Any]:
    """What must not depend on a crash: decisions, data, items, answers and scores."""
    run = find_run(run_dir.parent, run_dir.name)
    events = []
    for e in run.store.events():
        payload = dict(e["payload"])
        if e["kind"] == "train":
            # wall time and loss vary between runs; the key must hold a real duration
            runtime = payload.pop("train_runtime_s")
            assert isinstance(runtime, float) and runtime > 0, payload
            payload.pop("final_loss")
        events.append((e["key"], e["kind"], payload))
    data = {p.parent.name: sha256_file(p) for p in sorted(run_dir.glob("rounds/*/train.jsonl"))}
    items = sorted(
        (r["role"], r["round"], r["id"])
        for r in run.store.db.query("select role, round, id from items")
    )
    answers = sorted(
        (r["key"], r["response"], r["error"])
        for r in run.store.db.query("select key, response, error from teacher_cache")
    ) + sorted((k, v["answer"], v["correct"]) for k, v in run.store.teacher_answers().items())
    scores = sorted(
        (r["round"], r["item_id"], r["correct"])
        for r in run.store.db.query("select round, item_id, correct from assessments")
    )
    return {"events": events, "data": data, "items": items, "answers": answers, "scores": scores}


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The parts of two fingerprints that differ (empty: nothing lost or changed)."""
    return [key for key in a if a[key] != b.get(key)]


def assert_no_repeated_teacher_calls(run_dir: Path) -> dict[str, int]:
    usage = find_run(run_dir.parent, run_dir.name).store.teacher_usage()
    assert usage["calls"] > 0
    assert usage["calls"] == usage["distinct"], usage
    return usage


def spawn(args: list[str], log: Path, prelude: str = "", stderr: Path | None = None) -> Any:
    """`ioa ARGS` in a new session; stdout (and stderr, unless given) to `log`."""
    code = prelude + "\nimport sys\nfrom ioa_agent.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=open(log, "w"),  # noqa: SIM115
        stderr=open(stderr, "w") if stderr else subprocess.STDOUT,  # noqa: SIM115
        start_new_session=True,
    )


def last_line(text: str) -> str:
    """The last non-blank line of a command's output."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
