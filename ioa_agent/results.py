"""Results files: the committed evidence behind every figure the README shows.

`write_results` writes one JSON file atomically: the command that measured the
figures, its config and seed, the package versions, the machine (CPU model, cores,
memory, GPU when one was used) and the date, the figures themselves, `table` (where
the function that renders the file's table from its figures alone lives) and
`readme_table`, that function's output: the Markdown table exactly as it appears in
the README. `rebuild_table` renders it again from the figures; a quick test compares
all three, so a hand-edited figure or table is caught. `run_summary` gathers a
finished run's figures (P_S per module at every round, overall accuracy, wall time,
teacher tokens, training time, decisions) for `summary.json` in the run directory.

It does not measure anything, decide what a README shows, or draw figures.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import inspect
import json
import os
import platform
import shlex
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ioa_agent.report.data import gather
from ioa_agent.run import atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from ioa_agent.run import Run

PACKAGES = (
    "ioa-agent",
    "torch",
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "datasets",
    "langgraph",
    "langchain-openai",
    "networkx",
    "vllm",
    "starlette",
    "uvicorn",
    "playwright",
)
REQUIRED = (
    "command",
    "config",
    "seed",
    "versions",
    "machine",
    "date",
    "figures",
    "table",
    "readme_table",
)
ROOT = Path(__file__).resolve().parents[1]
Table = Callable[[dict[str, Any]], str]
"""Renders a results file's Markdown table from its figures alone."""


def versions() -> dict[str, str | None]:
    """Python's and the installed packages' versions (None: not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _proc_field(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key) and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def machine() -> dict[str, Any]:
    """CPU model, core count, memory and the GPU (when torch is loaded and sees one)."""
    mem = _proc_field("/proc/meminfo", "MemTotal")
    gpu = None
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0)
    return {
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or None,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": round(int(mem.split()[0]) / 2**20, 1) if mem else None,
        "gpu": gpu,
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        # kernels torch and MKL may use (set to stand in for an older CPU)
        "aten_cpu_capability": os.environ.get("ATEN_CPU_CAPABILITY"),
        "mkl_enable_instructions": os.environ.get("MKL_ENABLE_INSTRUCTIONS"),
    }


def command_line() -> str:
    """This process's command line as typed: `python benchmarks/x.py --flag` or `ioa ...`."""
    script = sys.argv[0]
    if script.endswith(".py"):
        return shlex.join(["python", os.path.relpath(script), *sys.argv[1:]])
    return shlex.join([Path(script).name, *sys.argv[1:]])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; numbers are written as given (format them before)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def put_table(page: Path, results: str, table: str) -> None:
    """Replace the table after `<!-- results: RESULTS -->` in `page` with `table`."""
    lines = Path(page).read_text().splitlines()
    marker = f"<!-- results: {results} -->"
    if marker not in (line.strip() for line in lines):
        raise ValueError(f"{page} has no line `{marker}`: add one where the table goes")
    at = next(i for i, line in enumerate(lines) if line.strip() == marker) + 1
    while at < len(lines) and not lines[at].strip():
        at += 1
    end = at
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines[at:end] = table.strip("\n").splitlines()
    atomic_write_text(Path(page), "\n".join(lines) + "\n")


def table_name(table: Table) -> str:
    """Where `table` lives, as `path/to/file.py:function` (relative to the repository
    when the file is in it), for `load_table`."""
    source = Path(inspect.getsourcefile(table) or "").resolve()
    where = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source
    return f"{where.as_posix()}:{table.__qualname__}"


def load_script(path: Path) -> Any:
    """A Python file imported as a module (its folder joins sys.path while it loads; a
    script's `if __name__ == "__main__"` block does not run)."""
    spec = importlib.util.spec_from_file_location(f"_script_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def load_table(name: str, root: Path = ROOT) -> Table:
    """The function `table_name` named."""
    file, _, function = name.partition(":")
    path = Path(file) if Path(file).is_absolute() else root / file
    if not path.is_file() or not function:
        raise ValueError(f"table {name!r}: no file {path}, or no function named")
    return getattr(load_script(path), function)


def rebuild_table(record: dict[str, Any]) -> str:
    """A results file's table rendered again from its figures."""
    return load_table(record["table"])(record["figures"]).strip("\n")


def write_results(
    path: Path,
    *,
    config: dict[str, Any],
    seed: int | None,
    figures: dict[str, Any],
    table: Table,
    command: str | None = None,
) -> Path:
    """Write a results file atomically; `command` defaults to this process's command
    line. Its table is `table` of the figures as they read back from the file (keys
    sorted: a table that needs an order takes it from a list in the figures)."""
    figures = json.loads(json.dumps(figures, sort_keys=True))
    record = {
        "command": command or command_line(),
        "config": config,
        "seed": seed,
        "versions": versions(),
        "machine": machine(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "figures": figures,
        "table": table_name(table),
        "readme_table": table(figures).strip("\n"),
    }
    atomic_write_json(Path(path), record)
    return Path(path)


def run_summary(run: Run) -> dict[str, Any]:
    """A finished run's figures (`run_table` renders them)."""

    data = gather(run)
    events = run.store.events()
    started = (run.dir / "config.yaml").stat().st_mtime
    ended = max((e["created"] for e in events), default=started)
    usage = run.store.teacher_usage()
    figures = {
        "run_id": run.id,
        "p_t": data.p_t,
        "rounds": [
            {
                "round": r.round,
                "p_s": r.p_s,
                "overall": r.accuracy,
                "teacher_tokens": r.teacher_tokens,
                "train_seconds": r.train_seconds,
                "train_steps": r.train_steps,
                "items": r.items,
                "decision": r.decision,
                "stage": r.stage,
                "paired": r.paired,
                "leak": r.leak,
            }
            for r in data.rounds
        ],
        "overall": data.final.accuracy,
        "wall_seconds": round(ended - started, 1),
        "teacher": {
            "model": run.config.teacher.model or "builtin",
            "calls": usage["calls"],
            "tokens_in": usage["tokens_in"],
            "tokens_out": usage["tokens_out"],
            "tokens_counted_by": "endpoint usage"
            if run.config.teacher.kind == "llm"
            else "student tokenizer (request and answer JSON)",
        },
        "train_seconds": data.train_seconds,
        "decisions": data.decisions,
    }
    return figures


def run_table(figures: dict[str, Any]) -> str:
    """A run's Markdown table: P_S per module and round, then overall accuracy."""
    rounds = figures["rounds"]
    header = ["module", *(f"round {r['round']}" for r in rounds)]
    rows = [[m, *(f"{r['p_s'].get(m, 0.0):.2f}" for r in rounds)] for m in sorted(figures["p_t"])]
    rows.append(["**overall**", *(f"**{r['overall']:.2f}**" for r in rounds)])
    return markdown_table(header, rows)


def write_run_summary(run: Run, command: str | None = None) -> Path:
    """`summary.json` in the run directory, through `write_results`."""
    return write_results(
        run.dir / "summary.json",
        command=command,
        config=run.config.model_dump(mode="json"),
        seed=run.config.seed,
        figures=run_summary(run),
        table=run_table,
    )
