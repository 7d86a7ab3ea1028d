"""What a person sees on the terminal: progress bars and the per-module mastery table.

Rendering only (rich, to stderr for progress, stdout for tables); no decisions and no
I/O beyond the console.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar; yields `advance(n)`."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


def mastery_table(
    title: str,
    p_t: dict[str, float],
    p_s: dict[str, float],
    baseline: dict[str, float] | None = None,
    stage: list[str] | None = None,
    tau_mastery: float = 0.9,
) -> Table:
    """Per-module P_T, P_S, P_S/P_T, and the change against a baseline."""
    table = Table(title=title, title_justify="left")
    table.add_column("module")
    table.add_column("P_T", justify="right")
    table.add_column("P_S", justify="right")
    table.add_column("P_S/P_T", justify="right")
    if baseline is not None:
        table.add_column("Δ vs base", justify="right")
    table.add_column("")
    for module in sorted(p_s):
        pt, ps = p_t.get(module, 0.0), p_s[module]
        r = ps / pt if pt else 0.0
        mark = "mastered" if r >= tau_mastery else ""
        if stage and module in stage:
            mark = (mark + " ◀ stage").strip()
        row = [module, f"{pt:.2f}", f"{ps:.2f}", f"{r:.2f}"]
        if baseline is not None:
            row.append(f"{ps - baseline.get(module, 0.0):+.2f}")
        table.add_row(*row, mark)
    return table
