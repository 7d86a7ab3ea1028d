"""What an evaluation leaves behind and shows: results.jsonl, summary.json/.md, progress.

`results.jsonl` has one line per sample (see `records.result_line`); `summary.json`
maps each benchmark to its summary plus a `_run` entry (model, adapter, settings,
sandbox isolation); `summary.md` is the same as a table. `progress` draws a rich
progress bar on stderr. Nothing here scores or generates.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.jsonl"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"


@contextlib.contextmanager
def progress(description: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A callback that advances a progress bar by its argument."""
    if not enabled or total <= 0:
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


class ResultsWriter:
    """Appends result lines to DIR/results.jsonl as benchmarks finish."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / RESULTS_FILE
        self._handle = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close)

    def write(self, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            self._handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def _value(summary: dict[str, Any]) -> str:
    if summary.get("metric") == "rougeL":
        return f"ROUGE-L {summary['rougeL']:.2f}"
    parts = []
    if "strict_match" in summary:
        parts.append(f"strict {100 * summary['strict_match']:.1f}%")
        parts.append(f"flexible {100 * summary['flexible_extract']:.1f}%")
    elif any(key.startswith("pass@") for key in summary):
        parts.extend(
            f"{key} {100 * value:.1f}%" for key, value in summary.items() if key.startswith("pass@")
        )
    else:
        parts.append(f"accuracy {100 * summary['accuracy']:.1f}%")
    return ", ".join(parts)


def summary_markdown(summaries: dict[str, dict[str, Any]], run: dict[str, Any]) -> str:
    lines = ["# Evaluation summary", ""]
    source = run.get("predictions") or run.get("model") or "?"
    lines.append(
        f"- source: `{source}`" + (f", adapter `{run['adapter']}`" if run.get("adapter") else "")
    )
    lines.append(f"- sandbox isolation: {run.get('sandbox', '?')}")
    lines += ["", "| benchmark | n | samples | result | errors |", "|---|---|---|---|---|"]
    for name, summary in summaries.items():
        lines.append(
            f"| {summary['title']} (`{name}`) | {summary['n']} | {summary['samples']} | "
            f"{_value(summary)} | {summary['errors']} |"
        )
    text_rows = [(n, s) for n, s in summaries.items() if s.get("metric") == "rougeL"]
    if text_rows:
        lines += ["", "ROUGE-L per seed:", ""]
        for name, summary in text_rows:
            seeds = ", ".join(f"{k}: {v:.2f}" for k, v in summary["rougeL_per_seed"].items())
            lines.append(f"- `{name}`: {seeds}")
    return "\n".join(lines) + "\n"


def write_summary(out_dir: Path, summaries: dict[str, dict[str, Any]], run: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"_run": run, **summaries}
    (out_dir / SUMMARY_JSON).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    (out_dir / SUMMARY_MD).write_text(summary_markdown(summaries, run), encoding="utf-8")
