"""What `ioa run`, `resume`, `review` and `status` print about a run as it advances.

The per-node progress lines and mastery tables (from the graph's updates and the
assess node's summary file), and the teacher's usage. It reads the run; it changes
nothing and decides nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ioa_agent.display import console, mastery_table
from ioa_agent.organizer.skills import stage_modules
from ioa_agent.probe_scores import paired_by_module
from ioa_agent.run import Run

TOKENS_BUILTIN = "requests and answers counted with the student's tokenizer"


def paired_so_far(run: Run, rnd: int) -> dict[str, Any] | None:
    """Each module's paired change against the untrained student, once round 0 is assessed."""
    if rnd == 0 or not run.store.assessment(0):
        return None
    return dict(paired_by_module(run, rnd))


def progress_printer(run: Run) -> Callable[[str, dict[str, Any]], None]:
    """A callback for `drive.advance`: prints each node's news as the run advances."""
    from ioa_agent.drive import snapshot  # langgraph: only for commands that run the graph

    state: dict[str, Any] = {}
    skipped_shown: set[int] = set()  # stages passed over without teaching, told once
    tau = run.config.organizer.tau_mastery

    def on_update(node: str, update: dict[str, Any]) -> None:
        if not state:  # a resumed run's state so far, read once advance has checked it
            state.update(snapshot(run).values)
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
            stages = " → ".join("[" + ", ".join(s["skills"]) + "]" for s in cur["stages"])
            console.print(f"curriculum (skills): {stages or 'nothing to teach'}", markup=False)
            for i, passed_over in enumerate(cur["stages"][: cur["stage"]]):
                if passed_over.get("skipped") and i not in skipped_shown:
                    skipped_shown.add(i)
                    skills = ", ".join(passed_over["skills"])
                    console.print(
                        f"stage {i + 1}: {skills} at the gate already: not taught", markup=False
                    )
            if cur["stage"] < len(cur["stages"]):
                step = cur["stages"][cur["stage"]]
                again = " (fell below the gate: taught again)" if step.get("again") else ""
                n = len(cur["stages"])
                line = f"stage {cur['stage'] + 1}/{n}: {', '.join(step['skills'])}{again}"
                console.print(line, markup=False)
        elif node == "assess":
            cur = update["curriculum"]
            stage = stage_modules(cur["stages"][cur["stage"]])
            # the assess node's own summary of the round: paired changes and format leak
            path = run.dir / "assess" / f"{state.get('round', 0):04d}.json"
            summary = json.loads(path.read_text()) if path.is_file() else {}
            paired = summary.get("paired") or {}
            p_s, title = update["p_s"], f"after round {state.get('round')}"
            if set(paired) != set(p_s):  # only what the gate needed: the probes assessed
                p_s = {m: c["after"] for m, c in paired.items()}
                title += f" (the {summary.get('assessed')} probes the gate reads)"
            console.print(
                mastery_table(
                    title,
                    state.get("p_t", {}),
                    p_s,
                    paired=paired,
                    stage=stage,
                    tau_mastery=tau,
                    leak=summary.get("leak"),
                )
            )
            for row in summary.get("gate", []):
                verdict = "passed" if row["passed"] else "not yet"
                why = f"; {row['why']}" if row.get("why") else ""
                console.print(
                    f"gate {row['skill']}: {row['correct']}/{row['n']} probes, "
                    f"P_S/P_T {row['ratio']:.2f}: {verdict}{why}",
                    markup=False,
                )
            for skill in summary.get("forgotten", []):
                what = "the run ends here" if update["decision"] == "end" else "taught again next"
                console.print(f"{skill} fell below the gate after passing it: {what}")
            console.print(f"route: {ROUTES.get(update['decision'], update['decision'])}")
        elif node == "review" and update.get("review", {}).get("action") == "move_on":
            console.print("remedial rounds used up: moving on")

    return on_update


ROUTES = {
    "organize": "mastered → next stage",
    "adapt": "not mastered → remedial round",
    "review": "not mastered, remedial rounds used up → review",
    "diagnose": "curriculum done, gaps remain → diagnose",
    "end": "done",
}


def print_teacher_usage(run: Run) -> None:
    """Teacher calls, tokens, cost, cache hits and faults, per node and in total."""
    use = run.store.teacher_usage()
    tokens = f"{use['tokens_in']} tokens in, {use['tokens_out']} out"
    name = run.config.teacher.model or "builtin"
    how = "endpoint's usage figures" if run.config.teacher.kind == "llm" else TOKENS_BUILTIN
    print(f"teacher ({name}): {use['calls']} calls, {tokens} ({how})")
    for row in run.store.teacher_usage_by_node():
        faults = ", ".join(f"{k} {v}" for k, v in sorted(row["faults"].items())) or "none"
        print(
            f"  {row['node'] or '-':9} {row['calls']:6} calls  {row['tokens_in']:9} in"
            f"  {row['tokens_out']:9} out  cost {row['cost']:.4f}  cache hits {row['hits']}"
            f"  failed {row['failed']}  retried faults: {faults}"
        )
