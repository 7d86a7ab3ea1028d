"""What the web pages show, read from runs on disk as plain values.

`list_runs` and `summary` give the runs page its rows (state, node, stage, round,
overall P_S/P_T, teacher tokens and cost); `detail` the run page (curriculum, P_S/P_T
per module across rounds with the paired change against the untrained student,
teacher spend per node, rounds, renderings, recent steps). Runs are opened
read-only and without their lock (reading.py), so watching never blocks a writer;
the report's data functions (report.data) are reused on them. Nothing here writes
to a run or renders HTML (app.py and the templates do).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ioa_agent.organizer.skills import skill_ratios
from ioa_agent.probe_scores import paired_by_module
from ioa_agent.report.data import gather
from ioa_agent.run import Run
from ioa_agent.serve import reading

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
LOG_DIR = ".serve-logs"
"""Under the runs root: the output of the processes `ioa serve` started, one file a run."""
FIGURE_DIR = ".serve-figures"
"""Under the runs root: the page's figures and reports, one folder a run, redrawn when
the run's store changes (the previous drawing is removed)."""


class BadName(ValueError):
    """A run id or file name that is not a plain name."""


def check_name(name: str) -> str:
    """`name` when it is a safe run id (letters, digits, `.`, `_`, `-`; no `..`)."""
    if not RUN_ID.match(name or "") or ".." in name:
        raise BadName(f"{name!r} is not a run id: use letters, digits, '.', '_' and '-'")
    return name


def run_dir(root: Path, run_id: str) -> Path | None:
    """The directory of run `run_id` under `root`, or None when there is none."""
    check_name(run_id)
    path = Path(root) / run_id
    if path.resolve().parent != Path(root).resolve() or not (path / "config.yaml").is_file():
        return None
    return path


@contextmanager
def opened(path: Path) -> Iterator[Run]:
    """The run at `path` for reading (store and checkpoints read-only, no lock taken)."""
    with reading.open_watched(path) as run:
        yield run


def log_path(root: Path, run_id: str) -> Path:
    return Path(root) / LOG_DIR / f"{check_name(run_id)}.log"


def last_error(root: Path, run_id: str) -> str:
    """The error line of the last process `ioa serve` started for the run, if it failed."""
    path = log_path(root, run_id)
    if not path.is_file():
        return ""
    lines = path.read_text(errors="replace").splitlines()[-200:]
    start = max((i for i, s in enumerate(lines) if s.startswith("--- start")), default=0)
    section = [s.strip() for s in lines[start:] if s.strip()]
    exit_line = next((s for s in reversed(section) if s.startswith("--- exit")), "")
    if not exit_line or exit_line == "--- exit 0":
        return ""
    body = [s for s in section if not s.startswith("---")]
    errors = [
        s for s in body if s.startswith("ioa: error:") or re.match(r"^\w*(Error|Exception)", s)
    ]
    return (errors or body or [exit_line])[-1][:400]


def _state(run: Run, snap: Any, pid: int | None) -> str:
    if pid is not None:
        return "running"
    if snap.interrupt is not None:
        return "waiting for review"
    if snap.done:
        return "done"
    if not snap.values and not snap.next:
        return "not started"
    return "failed"


def _overall(values: dict[str, Any]) -> float | None:
    p_s, p_t = values.get("p_s") or {}, values.get("p_t") or {}
    total_t = sum(p_t.values())
    return sum(p_s.get(m, 0.0) for m in p_t) / total_t if total_t else None


def _stage(values: dict[str, Any]) -> str:
    cur = values.get("curriculum")
    if not cur:
        return "-"
    n = len(cur["stages"])
    if cur["stage"] >= n:
        return f"{n}/{n} (all done)"
    skills = ", ".join(cur["stages"][cur["stage"]]["skills"])
    return f"{cur['stage'] + 1}/{n} [{skills}]"


def summary(root: Path, path: Path) -> dict[str, Any]:
    """One row of the runs page."""
    with opened(path) as run:
        snap = reading.snapshot(run)
        pid = reading.writer(run.dir)
        use = run.store.teacher_usage()
        cost = sum(r["cost"] for r in run.store.teacher_usage_by_node())
        state = _state(run, snap, pid)
        v = snap.values
        return {
            "id": run.id,
            "strategy": run.config.strategy,
            "state": state,
            "pid": pid,
            "error": last_error(root, run.id) if state == "failed" else "",
            "node": ",".join(snap.next) or ("-" if snap.done else ""),
            "stage": _stage(v),
            "cycle": v.get("cycle", 0),
            "round": v.get("round", 0),
            "overall": _overall(v),
            "tokens": use["tokens_in"] + use["tokens_out"],
            "cost": cost,
            "checkpoint": snap.checkpoint,
        }


def list_runs(root: Path) -> list[dict[str, Any]]:
    """Every run under `root`, newest directory first."""
    root = Path(root)
    paths = [p.parent for p in root.glob("*/config.yaml") if RUN_ID.match(p.parent.name)]
    paths.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [summary(root, p) for p in paths]


def history(run: Run, limit: int = 12) -> list[dict[str, str]]:
    """The last steps of the run, newest first: the node each checkpoint led to, and when."""
    return reading.history(run, limit)


def _renderings(run: Run) -> list[dict[str, Any]]:
    rows = []
    for e in run.store.events("renderings"):
        p = e["payload"]
        for g in p.get("groups", []):
            for name, sc in sorted(g.get("scores", {}).items()):
                rows.append(
                    {
                        "round": p.get("round"),
                        "rule": p.get("rule", ""),
                        "module": g.get("module"),
                        "level": g.get("level"),
                        "rendering": name,
                        "picked": name == g.get("picked"),
                        **{k: sc.get(k) for k in ("s_aq", "s_a", "ifd", "n")},
                    }
                )
    return rows


def _losses(run: Run) -> dict[int, Any]:
    return {e["payload"]["round"]: e["payload"] for e in run.store.events("train")}


def detail(root: Path, path: Path) -> dict[str, Any]:
    """Everything the run page shows."""

    row = summary(root, path)
    with opened(path) as run:
        snap = reading.snapshot(run)
        v = snap.values
        cur = v.get("curriculum")
        stages = []
        if cur:
            for i, st in enumerate(cur["stages"]):
                mark = "current" if i == cur["stage"] else ("done" if i < cur["stage"] else "")
                scores = skill_ratios(v.get("level_ratios", {}))
                skills = [
                    {"id": sk, "ratio": scores.get(sk), "passed": sk in cur.get("passed", [])}
                    for sk in st["skills"]
                ]
                stages.append(
                    {
                        "n": i + 1,
                        "mark": mark,
                        "bridge": st.get("bridge", False),
                        "again": st.get("again", False),
                        "skipped": st.get("skipped", False),
                        "skills": skills,
                    }
                )
        try:
            data = gather(run)
        except ValueError as exc:
            data, why = None, str(exc)
        else:
            why = ""
        modules, paired, rounds = [], {}, []
        if data is not None:
            modules = sorted(data.p_t)
            paired = paired_by_module(run, data.final.round)
            losses = _losses(run)
            rounds = [
                {**r.__dict__, "loss": losses.get(r.round, {}).get("final_loss")}
                for r in data.rounds
            ]
        return {
            **row,
            "config": run.config,
            "stages": stages,
            "data": data,
            "why_no_data": why,
            "modules": modules,
            "paired": paired,
            "rounds": rounds,
            "spend": run.store.teacher_usage_by_node(),
            "renderings": _renderings(run),
            "history": history(run),
            "tau": run.config.organizer.tau_mastery,
        }
