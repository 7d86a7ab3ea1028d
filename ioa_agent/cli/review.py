"""The pending review step on a terminal: the same content as the web page, as rich tables.

Stages with their skills (the current one marked, passed skills ticked), the current
step's skills with P_S/P_T, probe count and a sample probe, and any renderings the
Adapter recorded with their scores. Rendering only: text from a run (items come from an LLM teacher)
is printed literally, never read as console markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ioa_agent.review_answers import Pending


def _stages(args: dict[str, Any]) -> Table:
    t = Table(title="stages (skills: module@level)", title_justify="left")
    for col in ("stage", "skills", ""):
        t.add_column(col)
    passed = set(args.get("passed", []))
    for i, st in enumerate(args["stages"]):
        mark = "◀ this step" if i == args["stage"] else ("done" if i < args["stage"] else "")
        if st.get("bridge"):
            mark = (mark + " (bridge)").strip()
        if st.get("again"):
            mark = (mark + " (fell below the gate: taught again)").strip()
        if st.get("skipped"):
            mark = (mark + " (at the gate already: not taught)").strip()
        names = ", ".join(s + (" ✓" if s in passed else "") for s in st["skills"])
        t.add_row(str(i + 1), Text(names), mark)
    return t


def _scores(args: dict[str, Any]) -> Table:
    tau = args.get("tau_mastery", 0.9)
    t = Table(title=f"this step (gate: P_S/P_T ≥ {tau:g} on each skill)", title_justify="left")
    for col in ("skill", "P_S/P_T", "probes", "sample probe"):
        t.add_column(col, justify="right" if col in ("P_S/P_T", "probes") else "left")
    for row in args.get("skills", []):
        ratio = f"{row['ratio']:.2f}" if row.get("ratio") is not None else "-"
        t.add_row(Text(row["skill"]), ratio, str(row["probes"]), Text(row.get("sample", "")))
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
    parts.append(
        Text("answer with --approve, --reject 'FEEDBACK' or --edit PLAN.yaml (--json: raw payload)")
    )
    return Group(*parts)
