"""What a crash, a Ctrl-C or a full disk must not change in a run, and how to start one.

`fingerprint` is a run's decisions and data: store events (without wall times and
losses), train.jsonl hashes, items, teacher answers, per-probe scores. Two runs with
the same config and seed have the same fingerprint however often they were interrupted;
`differences` compares two of them, floats to a relative 1e-6: the student's scores of
the candidate renderings (in the `renderings` events) come from CPU matrix products,
whose last bits MKL does not reproduce from one process or memory layout to the next.
`spawn` starts `ioa` in its own session (its own process group, as a terminal
would), after an optional Python prelude that sets up the fault.
"""

from __future__ import annotations

import math
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


def same(a: Any, b: Any) -> bool:
    """Equal, floats to a relative 1e-6 (a float's last bits vary with the BLAS)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The parts of two fingerprints that differ (empty: nothing lost or changed)."""
    return [key for key in a if not same(a[key], b.get(key))]


def parting(a: Any, b: Any, path: str = "") -> str:
    """The path to the first place where `a` and `b` differ, and the two values there."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(a.keys() | b.keys(), key=str):
            if not same(a.get(k), b.get(k)):
                return parting(a.get(k), b.get(k), f"{path}[{k!r}]")
    if isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if not same(x, y):
                return parting(x, y, f"{path}[{i}]")
    return f"{path}: {a!r:.800} != {b!r:.800}"


def first_differences(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Where two fingerprints part: a line per differing part."""
    return "\n".join(parting(a[key], b.get(key), key) for key in differences(a, b))


def assert_same_run(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Two fingerprints agree; if not, the message shows where they first part."""
    assert not differences(a, b), first_differences(a, b)


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
