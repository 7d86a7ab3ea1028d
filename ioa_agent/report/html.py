"""Render one or more runs' reports as one self-contained HTML page.

`write_report` gathers each run (report.data), draws its figures into
`<out>/figures/` (report.figures), and renders templates/report.html.j2 into
`<out>/report.html` with every figure embedded as a data URI and linked to its PNG
file beside the page. With several runs it adds a side-by-side table and one
accuracy-versus-teacher-tokens plot. It only reads the runs.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ioa_agent.report import figures
from ioa_agent.report.data import RunData, gather
from ioa_agent.run import Run


def _fig(path: Path, out: Path) -> dict[str, str]:
    data = base64.b64encode(path.read_bytes()).decode()
    return {"file": str(path.relative_to(out)), "uri": f"data:image/png;base64,{data}"}


def curve(data: RunData) -> list[tuple[float, float]]:
    """(teacher tokens, accuracy) after each assessed round."""
    return [(float(r.teacher_tokens), r.accuracy) for r in data.rounds]


def _run_figures(d: RunData, out: Path) -> dict[str, Any]:
    figs = out / "figures" / d.run_id
    rounds = [r.round for r in d.rounds]
    edges = [(i, j) for i, j, *_ in d.diagnoses[-1]["edges"]] if d.diagnoses else []
    if not edges:
        edges = [(p, m) for m, pres in d.modules.items() for p in pres]
    dag = figures.curriculum_dag(
        figs / "dag.png", d.modules, edges, d.final.ratios, d.stages, d.tau_mastery
    )
    traj = figures.trajectories(
        figs / "trajectories.png",
        rounds,
        {m: [r.ratios.get(m, 0.0) for r in d.rounds] for m in d.p_t},
        d.tau_mastery,
    )
    diag = [
        figures.diagnosis_bars(
            figs / f"diagnosis-{dg['cycle']}.png",
            dg["gaps"],
            dg["severity"],
            f"diagnosis {dg['cycle']} (round {dg['round']}): gap and severity",
        )
        for dg in d.diagnoses
    ]
    teacher = figures.teacher_rounds(
        figs / "teacher.png",
        rounds,
        [r.tokens_in + r.tokens_out for r in d.rounds],
        [r.train_seconds for r in d.rounds],
    )
    return {
        "dag": _fig(dag, out),
        "traj": _fig(traj, out),
        "diag": [_fig(p, out) for p in diag],
        "teacher": _fig(teacher, out),
    }


def write_report(runs: list[Run], out: Path) -> Path:
    """Write `<out>/report.html` (and its figures) for `runs`; returns the page's path."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    datas = [gather(run) for run in runs]
    entries = [{"data": d, "figs": _run_figures(d, out)} for d in datas]
    compare = None
    if len(datas) > 1:
        path = figures.accuracy_vs_tokens(
            out / "figures" / "accuracy-vs-tokens.png",
            {f"{d.run_id} ({d.strategy})": [curve(d)] for d in datas},
        )
        compare = _fig(path, out)
    modules = sorted({m for d in datas for m in d.p_t})
    env = Environment(
        loader=PackageLoader("ioa_agent.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    title = "ioa report: " + ", ".join(d.run_id for d in datas)
    html = env.get_template("report.html.j2").render(
        title=title, runs=entries, modules=modules, compare=compare
    )
    page = out / "report.html"
    page.write_text(html, encoding="utf-8")
    return page
