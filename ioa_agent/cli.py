"""The `ioa` command line: run, resume, status, review, graph, report (and eval).

Parses arguments, opens runs and prints; the work is done by the graph (runner.py).
Bad input (a malformed config, an unknown run, a missing model, an invalid plan)
ends with a one-line error saying what to fix and exit code 2, before anything of an
existing run is touched. Heavy libraries load only when a command needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from ioa_agent.config import ConfigError, load_config
from ioa_agent.domains.seed import SeedDataError
from ioa_agent.evaluation.cli import add_eval_parser
from ioa_agent.pedagogy.plans import PlanError, parse_feedback, validate_plan
from ioa_agent.run import Run, RunNotFound, create_run, find_run, open_run
from ioa_agent.teacher.base import TeacherUnreachable

DEFAULT_RUNS = "checkpoints"


class UsageError(ValueError):
    """Bad command-line input; the message says what to fix."""


def runs_root(args: argparse.Namespace) -> Path:
    return Path(args.runs or os.environ.get("IOA_RUNS", DEFAULT_RUNS))


# printing -------------------------------------------------------------------------
def _baseline(run: Run) -> dict[str, float] | None:
    from ioa_agent.assessment import per_module

    rows = {r["item_id"]: r["correct"] for r in run.store.assessment(0)}
    probes = run.store.items("probe")
    if not probes or not all(p.id in rows for p in probes):
        return None
    return per_module(probes, rows)


def _printer(run: Run):
    from ioa_agent.display import console, mastery_table
    from ioa_agent.runner import snapshot

    state: dict[str, Any] = dict(snapshot(run).values)  # a resumed run's state so far
    tau = run.config.organizer.tau_mastery

    def on_update(node: str, update: dict[str, Any]) -> None:
        state.update(update)
        if node == "diagnose":
            d = update["diagnosis"]
            console.print(
                mastery_table(
                    f"diagnosis {update['cycle']} (round {update['round']})",
                    update["p_t"],
                    update["p_s"],
                    tau_mastery=tau,
                )
            )
            console.print(f"deficient: {', '.join(d['deficient']) or 'none'}")
            console.print(f"targets:   {', '.join(d['targets']) or 'none'}")
        elif node == "organize":
            cur = update["curriculum"]
            stages = " → ".join("[" + ", ".join(s["modules"]) + "]" for s in cur["stages"])
            console.print(f"curriculum: {stages or 'nothing to teach'}", markup=False)
            if cur["stage"] < len(cur["stages"]):
                mods = cur["stages"][cur["stage"]]["modules"]
                lv = ", ".join(f"{m} L{cur['levels'].get(m, 1)}" for m in mods)
                console.print(f"stage {cur['stage'] + 1}/{len(cur['stages'])}: {lv}")
        elif node == "assess":
            cur = update["curriculum"]
            stage = cur["stages"][cur["stage"]]["modules"]
            console.print(
                mastery_table(
                    f"after round {state.get('round')}",
                    state.get("p_t", {}),
                    update["p_s"],
                    baseline=_baseline(run),
                    stage=stage,
                    tau_mastery=tau,
                )
            )
            console.print(f"gate: {update['decision']} (remedial rounds {update['remedial']})")
        elif node == "review" and update.get("review", {}).get("action") == "move_on":
            console.print("remedial rounds used up: moving on")

    return on_update


def _drive(run: Run, resume: Any | None = None) -> int:
    from ioa_agent.display import console
    from ioa_agent.runner import advance

    start = time.monotonic()
    out = advance(run, resume=resume, on_update=_printer(run))
    took = time.monotonic() - start
    if out.interrupt is not None:
        console.print(f"run {run.id} waits for review: `ioa review {run.id}`")
    elif out.done:
        console.print(f"run {run.id} finished in {took / 60:.1f} min ({run.dir})")
    return 0


# commands -------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from ioa_agent.student.models import resolve_model

    config = load_config(Path(args.config) if args.config else None)
    resolve_model(config.student.model)
    run = create_run(config, runs_root(args), args.name)
    print(f"run {run.id} in {run.dir}", flush=True)
    return _drive(run)


def cmd_resume(args: argparse.Namespace) -> int:
    run = find_run(runs_root(args), args.run)
    return _drive(run)


def _where(snap: Any) -> str:
    if snap.done:
        return "done"
    if snap.interrupt is not None:
        return "waiting for review"
    return "at " + ",".join(snap.next) if snap.next else "not started"


def cmd_status(args: argparse.Namespace) -> int:
    from ioa_agent.display import console, mastery_table
    from ioa_agent.runner import snapshot

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
        mods = ", ".join(cur["stages"][cur["stage"]]["modules"]) if cur["stage"] < n else "-"
        stage = f"stage {min(cur['stage'] + 1, n)}/{n} [{mods}]"
        print(f"cycle {v['cycle']}  {stage}  round {v.get('round', 0)}  remedial {v['remedial']}")
    if v.get("p_s"):
        console.print(mastery_table("per module", v["p_t"], v["p_s"], baseline=_baseline(run)))
    print_teacher_usage(run)
    return 0


def print_teacher_usage(run: Run) -> None:
    """Teacher calls, tokens, cost, cache hits and faults, per node and in total."""
    use = run.store.teacher_usage()
    tokens = f"{use['tokens_in']} tokens in, {use['tokens_out']} out"
    name = run.config.teacher.model or "builtin"
    print(f"teacher ({name}): {use['calls']} calls, {tokens}")
    for row in run.store.teacher_usage_by_node():
        faults = ", ".join(f"{k} {v}" for k, v in sorted(row["faults"].items())) or "none"
        print(
            f"  {row['node'] or '-':9} {row['calls']:6} calls  {row['tokens_in']:9} in"
            f"  {row['tokens_out']:9} out  cost {row['cost']:.4f}  cache hits {row['hits']}"
            f"  failed {row['failed']}  retried faults: {faults}"
        )


def _review_answer(
    args: argparse.Namespace, run: Run, pending: dict[str, Any], values: dict
) -> dict:
    modules = run.store.modules()
    if args.approve:
        return {"action": "approve"}
    if args.reject is not None:
        parse_feedback(args.reject, [m.id for m in modules])
        return {"action": "reject", "feedback": args.reject}
    path = Path(args.edit)
    if not path.is_file():
        raise UsageError(f"plan file {path} does not exist")
    try:
        plan = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from exc
    validate_plan(plan, {m.id: m.levels for m in modules}, values["diagnosis"]["edges"])
    return {"action": "edit", "plan": plan}


def cmd_review(args: argparse.Namespace) -> int:
    from ioa_agent.runner import snapshot

    run = find_run(runs_root(args), args.run)
    snap = snapshot(run)
    if snap.interrupt is None:
        raise UsageError(f"run {run.id} is not waiting for review (`ioa status {run.id}`)")
    if not (args.approve or args.reject is not None or args.edit):
        print(json.dumps(snap.interrupt, indent=1))
        print("answer with --approve, --reject 'FEEDBACK' or --edit PLAN.yaml")
        return 0
    answer = _review_answer(args, run, snap.interrupt, snap.values)
    return _drive(run, resume=answer)


def cmd_graph(args: argparse.Namespace) -> int:
    from ioa_agent.graph import build_graph

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mermaid = build_graph().compile().get_graph().draw_mermaid()
    (out / "graph.mmd").write_text(mermaid)
    print(f"wrote {out / 'graph.mmd'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ioa_agent.report.html import write_report

    runs = [find_run(runs_root(args), r) for r in args.run]
    default = runs[0].dir / "report" if len(runs) == 1 else runs_root(args) / "report"
    try:
        page = write_report(runs, Path(args.out) if args.out else default)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(f"wrote {page}")
    return 0


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
    g.add_argument("--edit", metavar="PLAN")
    r.set_defaults(func=cmd_review)

    r = sub.add_parser("graph", help="write the Mermaid diagram of the graph")
    r.add_argument("--out", default="graph")
    r.set_defaults(func=cmd_graph)

    r = with_runs(sub.add_parser("report", help="write an HTML report of runs (side by side)"))
    r.add_argument("run", nargs="+")
    r.add_argument("--out", help="folder for report.html and its figures (default: RUN/report)")
    r.set_defaults(func=cmd_report)

    add_eval_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
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
    ) as exc:
        print(f"ioa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ioa: interrupted; `ioa resume` continues from the last checkpoint", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
