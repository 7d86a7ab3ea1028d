"""The `ioa` command line: run, resume, status, review, serve, graph, report, export (and eval).

Parses arguments, opens runs and prints; the work is done by the graph (drive.py).
Bad input (a malformed config, an unknown run, a missing model, an invalid plan)
ends with a one-line error saying what to fix and exit code 2, before anything of an
existing run is touched; so do a damaged run file, a full disk and a teacher that
fails for good, naming what to fix. Ctrl-C ends with exit code 130: the run resumes
from its last checkpoint. Heavy libraries load only when a command needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sqlite3
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from ioa_agent.cli.progress import paired_so_far, print_teacher_usage, progress_printer
from ioa_agent.config import ConfigError
from ioa_agent.config_file import ConfigWarning, load_config
from ioa_agent.display import console, mastery_table
from ioa_agent.domains.seed import SeedDataError
from ioa_agent.evaluation.cli import add_eval_parser
from ioa_agent.export import ExportError, export_run
from ioa_agent.lock import RunBusy, StaleAnswer
from ioa_agent.organizer.plan_edits import PlanError
from ioa_agent.report.html import write_report
from ioa_agent.results import write_run_summary
from ioa_agent.run import (
    DamagedFile,
    DiskFull,
    Run,
    RunNotFound,
    atomic_write_text,
    create_run,
    disk_full,
    find_run,
    open_run,
)
from ioa_agent.state import OldRun
from ioa_agent.student.models import resolve_model
from ioa_agent.teacher.base import TeacherFailure, TeacherUnreachable

DEFAULT_RUNS = "checkpoints"


class UsageError(ValueError):
    """Bad command-line input; the message says what to fix."""


def runs_root(args: argparse.Namespace) -> Path:
    return Path(args.runs or os.environ.get("IOA_RUNS", DEFAULT_RUNS))


def _drive(run: Run, resume: Any | None = None, command: str | None = None) -> int:
    from ioa_agent.drive import advance

    start = time.monotonic()
    with run:
        out = advance(run, resume=resume, on_update=progress_printer(run))
        _said(run, out, time.monotonic() - start, console, command)
    return 0


def _said(run: Run, out: Any, took: float, console: Any, command: str | None = None) -> None:
    if out.interrupt is not None:
        console.print(f"run {run.id} waits for review: `ioa review {run.id}`")
    elif out.done:
        summary = write_run_summary(run, command)
        console.print(f"run {run.id} finished in {took / 60:.1f} min ({run.dir}); {summary}")


# commands -------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConfigWarning)
        config = load_config(Path(args.config) if args.config else None)
    for warning in caught:
        print(f"ioa: warning: {warning.message}", file=sys.stderr)
    resolve_model(config.student.model)
    run = create_run(config, runs_root(args), args.name)
    print(f"run {run.id} in {run.dir}", flush=True)
    return _drive(run, command=args.command_line)


def cmd_resume(args: argparse.Namespace) -> int:
    run = find_run(runs_root(args), args.run)
    return _drive(run, command=args.command_line)


def _where(snap: Any) -> str:
    if snap.done:
        return "done"
    if snap.interrupt is not None:
        return "waiting for review"
    return "at " + ",".join(snap.next) if snap.next else "not started"


def cmd_status(args: argparse.Namespace) -> int:
    from ioa_agent.drive import snapshot

    root = runs_root(args)
    if not args.run:
        runs = sorted(p for p in root.glob("*") if (p / "config.yaml").is_file())
        if not runs:
            print(f"no runs in {root}")
        for path in runs:
            snap = snapshot(open_run(path))
            v = snap.values
            cycle, rnd = v.get("cycle", 0), v.get("round", 0)
            print(f"{path.name}  {_where(snap)}  cycle {cycle}  round {rnd}")
        return 0
    run = find_run(root, args.run)
    snap = snapshot(run)
    v = snap.values
    print(f"run {run.id}: {_where(snap)}")
    cur = v.get("curriculum")
    if cur:
        n = len(cur["stages"])
        mods = ", ".join(cur["stages"][cur["stage"]]["skills"]) if cur["stage"] < n else "-"
        stage = f"stage {min(cur['stage'] + 1, n)}/{n} [{mods}]"
        print(f"cycle {v['cycle']}  {stage}  round {v.get('round', 0)}  remedial {v['remedial']}")
        if cur.get("passed"):
            print(f"passed the gate: {', '.join(cur['passed'])}")
    for gate in run.store.events("gate")[-1:]:
        for row in gate["payload"].get("gate", []):
            verdict = "passed" if row["passed"] else "not yet"
            print(
                f"last gate (round {gate['payload']['round']}): {row['skill']} "
                f"{row['correct']}/{row['n']} probes, P_S/P_T {row['ratio']:.2f}, {verdict}"
            )
    if v.get("p_s"):
        rnd = v.get("round", 0)
        console.print(
            mastery_table("per module", v["p_t"], v["p_s"], paired=paired_so_far(run, rnd))
        )
    print_teacher_usage(run)
    return 0


def _review_decision(args: argparse.Namespace, run: Run, step: Any) -> dict:
    from ioa_agent.review_answers import make_decision, parse_plan_text

    if args.decision:  # a HITL decision as JSON (`ioa serve` answers this way)
        from ioa_agent.nodes.review import answer_of

        try:
            got = answer_of({"decisions": [json.loads(args.decision)]})
        except json.JSONDecodeError as exc:
            raise UsageError(f"--decision is not valid JSON: {exc}") from exc
        return make_decision(run, step, got["action"], got.get("feedback"), got.get("plan"))
    if args.approve:
        return make_decision(run, step, "approve")
    if args.reject is not None:
        return make_decision(run, step, "reject", feedback=args.reject)
    if args.edit == "-":
        return make_decision(run, step, "edit", plan=parse_plan_text(sys.stdin.read()))
    path = Path(args.edit)
    if not path.is_file():
        raise UsageError(f"plan file {path} does not exist")
    return make_decision(run, step, "edit", plan=parse_plan_text(path.read_text(), str(path)))


def cmd_review(args: argparse.Namespace) -> int:
    from ioa_agent.review_answers import answer, pending

    run = find_run(runs_root(args), args.run)
    step = pending(run)
    if step is None and not args.checkpoint:
        raise UsageError(f"run {run.id} is not waiting for review (`ioa status {run.id}`)")
    if step is None or (args.checkpoint and args.checkpoint != step.checkpoint):
        raise StaleAnswer(f"run {run.id}: that step was already answered (`ioa status {run.id}`)")
    if not (args.approve or args.reject is not None or args.edit or args.decision):
        if args.json:
            print(json.dumps({"checkpoint": step.checkpoint, **step.request}, indent=1))
        else:
            from ioa_agent.cli.review import pending_view

            console.print(pending_view(step))
        return 0
    decision = _review_decision(args, run, step)

    start = time.monotonic()
    out = answer(run, step.checkpoint, decision, on_update=progress_printer(run))
    _said(run, out, time.monotonic() - start, console, args.command_line)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ioa_agent.serve.server import serve

    root = runs_root(args)
    if not root.is_dir():
        raise UsageError(f"runs directory {root} does not exist: pass --runs DIR")
    configs = [Path(d).expanduser() for d in args.configs] if args.configs else None
    for d in configs or []:
        if not d.is_dir():
            raise UsageError(f"--configs {d} is not a folder: pass a folder of YAML configs")
    try:
        serve(root, args.host, args.port, no_token=args.no_token, configs=configs)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from ioa_agent.graph import build_graph

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mermaid = build_graph().compile().get_graph().draw_mermaid()
    (out / "graph.mmd").write_text(mermaid)
    print(f"wrote {out / 'graph.mmd'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:

    runs = [find_run(runs_root(args), r) for r in args.run]
    default = runs[0].dir / "report" if len(runs) == 1 else runs_root(args) / "report"
    try:
        page = write_report(runs, Path(args.out) if args.out else default)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(f"wrote {page}")
    if args.results:
        for run in runs:
            print(f"wrote {copy_summary(run, Path(args.results))}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:

    run = find_run(runs_root(args), args.run)
    out = Path(args.out) if args.out else run.dir / "export"
    try:
        done = export_run(run, out, args.format)
    except ExportError as exc:
        raise UsageError(str(exc)) from exc
    counts = done["counts"]
    print(f"wrote {out}: train {counts['train']} rows, probes {counts['probes']} rows")
    if done["adapter"] is not None:
        print(f"adapter ({done['adapter']}) in {out / 'adapter'}")
    else:
        print("no trained adapter yet: the dataset only")
    print(f'load it with datasets.load_dataset("{out}")')
    return 0


def copy_summary(run: Run, folder: Path) -> Path:
    """The run's summary.json as FOLDER/<run id>.json (written first for an older run)."""
    from ioa_agent.drive import snapshot

    source = run.dir / "summary.json"
    if not source.is_file():
        if not snapshot(run).done:
            raise UsageError(f"run {run.id} is not finished, so it has no results to copy")
        write_run_summary(run)
    target = folder / f"{run.id}.json"
    atomic_write_text(target, source.read_text())
    return target


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ioa", description="Distil a teacher into a student, IOA-style."
    )
    sub = p.add_subparsers(dest="command", required=True)

    def with_runs(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--runs", help=f"runs directory (default $IOA_RUNS or ./{DEFAULT_RUNS})")
        return sp

    r = with_runs(sub.add_parser("run", help="start a run (the offline demo without --config)"))
    r.add_argument("--config", help="YAML config; default: the built-in offline demo")
    r.add_argument("--name", help="run id (default: run-<time>-<random>)")
    r.set_defaults(func=cmd_run)

    r = with_runs(sub.add_parser("resume", help="continue a run that was killed or paused"))
    r.add_argument("run")
    r.set_defaults(func=cmd_resume)

    r = with_runs(sub.add_parser("status", help="list runs, or show one"))
    r.add_argument("run", nargs="?")
    r.set_defaults(func=cmd_status)

    r = with_runs(sub.add_parser("review", help="show or answer a pending curriculum step"))
    r.add_argument("run")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--approve", action="store_true")
    g.add_argument("--reject", metavar="FEEDBACK")
    g.add_argument("--edit", metavar="PLAN", help="a YAML/JSON plan file, or - for stdin")
    g.add_argument("--decision", metavar="JSON", help="a decision in LangChain's HITL shape")
    r.add_argument("--json", action="store_true", help="print the pending step as raw JSON")
    r.add_argument("--checkpoint", help="answer only if this checkpoint's step is still pending")
    r.set_defaults(func=cmd_review)

    r = sub.add_parser("graph", help="write the Mermaid diagram of the graph")
    r.add_argument("--out", default="graph")
    r.set_defaults(func=cmd_graph)

    r = with_runs(sub.add_parser("report", help="write an HTML report of runs (side by side)"))
    r.add_argument("run", nargs="+")
    r.add_argument("--out", help="folder for report.html and its figures (default: RUN/report)")
    r.add_argument(
        "--results", metavar="DIR", help="also copy each run's summary.json to DIR/<run>.json"
    )
    r.set_defaults(func=cmd_report)

    r = with_runs(
        sub.add_parser("export", help="write a run's curriculum as a Hugging Face dataset folder")
    )
    r.add_argument("run")
    r.add_argument("--out", help="folder to write (default: RUN/export)")
    r.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    r.set_defaults(func=cmd_export)
    r = with_runs(sub.add_parser("serve", help="a local web page to watch and steer runs"))
    r.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    r.add_argument("--port", type=int, default=8765)
    r.add_argument(
        "--configs",
        metavar="DIR",
        action="append",
        help="a folder the page may start runs from (repeatable; default: the shipped "
        "configs); the runs folder is always one",
    )
    r.add_argument(
        "--no-token",
        action="store_true",
        help="no token (loopback --host only): any user of this machine can use the page",
    )
    r.set_defaults(func=cmd_serve)

    add_eval_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.command_line = shlex.join(["ioa", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except (
        ConfigError,
        RunNotFound,
        PlanError,
        UsageError,
        FileNotFoundError,
        SeedDataError,
        TeacherUnreachable,
        TeacherFailure,
        RunBusy,
        StaleAnswer,
        OldRun,
        DamagedFile,
        DiskFull,
    ) as exc:
        print(f"ioa: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if not disk_full(exc):
            raise
        where = exc.filename or runs_root(args)
        print(
            f"ioa: error: no space left writing {where}: free space and try again", file=sys.stderr
        )
        return 2
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and not disk_full(exc):
            raise
        print(
            f"ioa: error: a run database could not be read or written ({exc}): "
            "`ioa resume RUN` names the damaged file",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("ioa: interrupted; `ioa resume` continues from the last checkpoint", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
