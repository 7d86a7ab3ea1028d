"""The pending review step on a terminal: the same content as the web page, as rich tables.

Stages with their modules and levels (the current one marked), the current step's
P_S and P_T per module, any renderings the Adapter recorded with their scores, and
the sample items. Rendering only: text from a run (items come from an LLM teacher)
is printed literally, never read as console markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ioa_agent.steer import Pending


def _stages(args: dict[str, Any]) -> Table:
    t = Table(title="stages", title_justify="left")
    for col in ("stage", "modules", "levels", ""):
        t.add_column(col)
    levels = args.get("plan", {}).get("levels", {}) or args.get("levels", {})
    for i, st in enumerate(args["stages"]):
        mods = st["modules"]
        lv = ", ".join(f"L{levels[m]}" if m in levels else "-" for m in mods)
        mark = "◀ this step" if i == args["stage"] else ("done" if i < args["stage"] else "")
        if st.get("bridge"):
            mark = (mark + " (bridge)").strip()
        t.add_row(str(i + 1), Text(", ".join(mods)), lv, mark)
    return t


def _scores(args: dict[str, Any]) -> Table:
    t = Table(title="this step", title_justify="left")
    for col in ("module", "level", "P_S", "P_T", "P_S/P_T"):
        t.add_column(col, justify="left" if col == "module" else "right")
    for m, (ps, pt) in sorted(args.get("scores", {}).items()):
        ratio = f"{ps / pt:.2f}" if pt else "-"
        t.add_row(Text(m), f"L{args['levels'].get(m, 1)}", f"{ps:.2f}", f"{pt:.2f}", ratio)
    return t


def _renderings(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="renderings (student's scores)", title_justify="left")
    order = ("round", "module", "level", "rendering", "picked", "s_aq", "s_a", "ifd", "n")
    keys = [k for k in order if any(k in r for r in rows)]
    for k in keys:
        t.add_column(k)
    for r in rows:
        cells = [f"{r[k]:.3g}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys]
        t.add_row(*(Text(c) for c in cells))
    return t


def pending_view(step: Pending) -> Group:
    """Everything a reviewer needs to answer `step`, ready for `console.print`."""
    args = step.proposal
    parts: list[Any] = [
        Text(f"run {step.run_id}: {step.description}", style="bold"),
        Text(
            f"cycle {args['cycle']}  round {args['round']}  remedial rounds {args['remedial']}"
            f"  checkpoint {step.checkpoint}"
        ),
        _stages(args),
        _scores(args),
    ]
    if args.get("renderings"):
        parts.append(_renderings(args["renderings"]))
    samples = Table(title="samples", title_justify="left", show_lines=True)
    for col in ("module", "level", "prompt"):
        samples.add_column(col)
    for s in args.get("samples", []):
        samples.add_row(Text(s["module"]), f"L{s['level']}", Text(s["prompt"]))
    parts.append(samples)
    parts.append(
        Text("answer with --approve, --reject 'FEEDBACK' or --edit PLAN.yaml (--json: raw payload)")
    )
    return Group(*parts)
