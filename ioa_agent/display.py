"""What a person sees on the terminal: progress bars and the per-module mastery table.

Rendering only (rich, to stderr for progress, stdout for tables); no decisions and no
I/O beyond the console.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

# a log or pipe gets the full table width a terminal would give it
console = Console() if sys.stdout.isatty() else Console(width=132)
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
    paired: dict[str, Any] | None = None,
    stage: list[str] | None = None,
    tau_mastery: float = 0.9,
    leak: dict[str, dict[str, float]] | None = None,
) -> Table:
    """Per-module P_T, P_S, P_S/P_T; with `paired`, the change against the untrained
    student on the same probes (95% interval, McNemar p); with `leak`, the format leak
    on untaught modules (this round / untrained)."""
    table = Table(title=title, title_justify="left")
    table.add_column("module", no_wrap=True)
    table.add_column("P_T", justify="right")
    table.add_column("P_S", justify="right")
    table.add_column("P_S/P_T", justify="right")
    if paired is not None:
        table.add_column("Δ vs untrained [95% CI]", justify="right")
        table.add_column("p", justify="right")
    if leak is not None:
        table.add_column("format leak now/untrained", justify="right")
    table.add_column("")
    for module in sorted(p_s):
        pt, ps = p_t.get(module, 0.0), p_s[module]
        r = ps / pt if pt else 0.0
        mark = "mastered" if r >= tau_mastery else ""
        if stage and module in stage:
            mark = (mark + " ◀ stage").strip()
        row = [module, f"{pt:.2f}", f"{ps:.2f}", f"{r:.2f}"]
        if paired is not None:
            c = paired.get(module)
            row += (
                [f"{c['diff']:+.2f} [{c['lo']:+.2f},{c['hi']:+.2f}]", f"{c['p']:.3f}"]
                if c
                else ["", ""]
            )
        if leak is not None:
            lk = leak.get(module)
            row.append(f"{lk['round']:.2f}/{lk['untrained']:.2f}" if lk else "")
        table.add_row(*row, mark)
    return table
