"""What `ioa run`, `resume`, `review` and `status` print about a run as it advances.

The per-node progress lines and mastery tables (from the graph's updates and the
assess node's summary file), and the teacher's usage. It reads the run; it changes
nothing and decides nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ioa_agent.run import Run

TOKENS_BUILTIN = "requests and answers counted with the student's tokenizer"


def paired_so_far(run: Run, rnd: int) -> dict[str, Any] | None:
    """Each module's paired change against the untrained student, once round 0 is assessed."""
    from ioa_agent.assessment import paired_by_module

    if rnd == 0 or not run.store.assessment(0):
        return None
    return dict(paired_by_module(run, rnd))


def progress_printer(run: Run) -> Callable[[str, dict[str, Any]], None]:
    """A callback for `runner.advance`: prints each node's news as the run advances."""
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
            # the assess node's own summary of the round: paired changes and format leak
            path = run.dir / "assess" / f"{state.get('round', 0):04d}.json"
            summary = json.loads(path.read_text()) if path.is_file() else {}
            console.print(
                mastery_table(
                    f"after round {state.get('round')}",
                    state.get("p_t", {}),
                    update["p_s"],
                    paired=summary.get("paired"),
                    stage=stage,
                    tau_mastery=tau,
                    leak=summary.get("leak"),
                )
            )
            console.print(f"gate: {update['decision']} (remedial rounds {update['remedial']})")
        elif node == "review" and update.get("review", {}).get("action") == "move_on":
            console.print("remedial rounds used up: moving on")

    return on_update


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
