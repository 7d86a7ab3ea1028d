"""The report's figures as PNG files (matplotlib, Agg backend, imported when drawing).

- `curriculum_dag`: modules along their prerequisite edges, coloured by final
  mastery (P_S/P_T), each taught module labelled with its curriculum stage.
- `trajectories`: P_S/P_T per module across rounds, with the mastery line.
- `diagnosis_bars`: gap Δ(k) and severity per module at one diagnosis.
- `teacher_rounds`: teacher tokens and training seconds per round.
- `accuracy_vs_tokens`: student accuracy against teacher tokens, one curve per label
  (with a ± std band when several runs share a label).

Each function writes one file and returns its path; none reads a run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ioa_agent.organizer.skills import stage_modules


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def _layers(modules: Mapping[str, Sequence[str]], edges: Sequence[tuple[str, str]]) -> dict:
    """Longest-path depth of each module along the edges (prerequisites first)."""
    depth = {m: 0 for m in modules}
    for _ in range(len(modules)):
        changed = False
        for i, j in edges:
            if i in depth and j in depth and depth[j] < depth[i] + 1:
                depth[j] = depth[i] + 1
                changed = True
        if not changed:
            break
    return depth


def curriculum_dag(
    path: Path,
    modules: Mapping[str, Sequence[str]],
    edges: Sequence[tuple[str, str]],
    mastery: Mapping[str, float],
    stages: Sequence[Mapping[str, Any]],
    tau_mastery: float,
) -> Path:
    plt = _plt()
    depth = _layers(modules, edges)
    by_layer: dict[int, list[str]] = {}
    for m in sorted(modules):
        by_layer.setdefault(depth[m], []).append(m)
    pos = {m: (d, -k) for d, ms in by_layer.items() for k, m in enumerate(ms)}
    stage_of: dict[str, int] = {}
    for i, s in enumerate(stages):
        for m in stage_modules(s):
            stage_of.setdefault(m, i + 1)
    cmap = plt.get_cmap("RdYlGn")
    height = max(len(ms) for ms in by_layer.values())
    fig, ax = plt.subplots(figsize=(3.2 * (max(depth.values()) + 1) + 1, 1.1 * height + 1.2))
    for i, j in edges:
        if i in pos and j in pos:
            (x0, y0), (x1, y1) = pos[i], pos[j]
            ax.annotate(
                "",
                xy=(x1 - 0.12, y1),
                xytext=(x0 + 0.12, y0),
                arrowprops={"arrowstyle": "->", "color": "0.5"},
            )
    for m, (x, y) in pos.items():
        r = mastery.get(m, 0.0)
        label = m.split("/", 1)[-1] + f"\n{r:.2f}"
        if m in stage_of:
            label = f"S{stage_of[m]} " + label
        fill = cmap(min(max(r / max(tau_mastery, 1e-9), 0.0), 1.0))
        luminance = 0.299 * fill[0] + 0.587 * fill[1] + 0.114 * fill[2]
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=8,
            color="white" if luminance < 0.5 else "black",  # readable on dark red
            bbox={
                "boxstyle": "round",
                "fc": fill,
                "ec": "black" if m in stage_of else "0.6",
                "lw": 2 if m in stage_of else 1,
            },
        )
    ax.set_xlim(-0.6, max(depth.values()) + 0.6)
    ax.set_ylim(-height + 0.4, 0.6)
    ax.axis("off")
    ax.set_title("curriculum: final P_S/P_T (green = mastered), S<n> = stage")
    return _save(fig, path)


def trajectories(
    path: Path, rounds: Sequence[int], ratios: Mapping[str, Sequence[float]], tau: float
) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for m, vals in sorted(ratios.items()):
        ax.plot(rounds, vals, marker="o", label=m.split("/", 1)[-1])
    ax.axhline(tau, color="black", linestyle="--", label=f"mastery {tau}")
    ax.set_xlabel("round")
    ax.set_ylabel("P_S / P_T")
    ax.set_xticks(list(rounds))
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("per-module mastery across rounds")
    return _save(fig, path)


def diagnosis_bars(
    path: Path, gaps: Mapping[str, float], severity: Mapping[str, float], title: str
) -> Path:
    plt = _plt()
    mods = sorted(gaps)
    xs = range(len(mods))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar([x - 0.2 for x in xs], [gaps[m] for m in mods], width=0.4, label="gap Δ")
    ax.bar([x + 0.2 for x in xs], [severity.get(m, 0.0) for m in mods], width=0.4, label="severity")
    ax.set_xticks(list(xs), [m.split("/", 1)[-1] for m in mods], rotation=45, ha="right")
    ax.legend(fontsize=8)
    ax.set_title(title)
    return _save(fig, path)


def teacher_rounds(
    path: Path, rounds: Sequence[int], tokens: Sequence[int], train_seconds: Sequence[float]
) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(rounds, tokens, color="tab:blue", label="teacher tokens")
    ax.set_xlabel("round")
    ax.set_ylabel("teacher tokens")
    ax.set_xticks(list(rounds))
    ax2 = ax.twinx()
    ax2.plot(rounds, train_seconds, color="tab:red", marker="o", label="training s")
    ax2.set_ylabel("training seconds")
    ax.set_title("teacher tokens and training time per round")
    return _save(fig, path)


def accuracy_vs_tokens(
    path: Path,
    curves: Mapping[str, Sequence[Sequence[tuple[float, float]]]],
    title: str = "student accuracy vs teacher tokens",
) -> Path:
    """`curves` maps a label to its runs, each a list of (tokens, accuracy) points."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, runs in sorted(curves.items()):
        n = min(len(r) for r in runs)
        xs = [sum(r[i][0] for r in runs) / len(runs) for i in range(n)]
        ys = [sum(r[i][1] for r in runs) / len(runs) for i in range(n)]
        (line,) = ax.plot(xs, ys, marker="o", label=f"{label} (n={len(runs)})")
        if len(runs) > 1:
            sd = [
                (sum((r[i][1] - ys[i]) ** 2 for r in runs) / (len(runs) - 1)) ** 0.5
                for i in range(n)
            ]
            lo = [y - s for y, s in zip(ys, sd, strict=True)]
            hi = [y + s for y, s in zip(ys, sd, strict=True)]
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("teacher tokens spent")
    ax.set_ylabel("student accuracy on held-out probes")
    ax.legend(fontsize=8)
    ax.set_title(title)
    return _save(fig, path)
