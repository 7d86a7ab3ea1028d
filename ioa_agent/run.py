"""A run on disk: its directory layout, its resolved config, its store and teacher.

    <runs root>/<run id>/
        config.yaml       the resolved config, written once at creation
        store.db          the run store (RunStore)
        graph.db          the LangGraph checkpoints (one thread: the run id)
        diagnosis/NNN.json, assess/NNNN.json
        rounds/NNNN/      train.jsonl, adapter/ (with metrics.json), train.log,
                          tensorboard/ (train.report_to: tensorboard)

Artifacts are written atomically (temp file, then rename) so a crash or a full disk
leaves either the whole file or none. `check_files` finds a damaged database or
adapter before a run continues, and `disk_full` recognises a write that ran out of
space; both become one-line errors that name the file and what to do. This module does
not run the graph (see drive.py).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ioa_agent.config import Config, ConfigError
from ioa_agent.config_file import dump_config, load_config
from ioa_agent.domains.scorers import Scorer
from ioa_agent.student.models import resolve_model
from ioa_agent.teacher.exact import ArithmeticTeacher
from ioa_agent.teacher.llm import LLMTeacher
from ioa_agent.teacher.tokens import TokenCounter

if TYPE_CHECKING:
    from ioa_agent.domains.scorers import Scorer
    from ioa_agent.store import RunStore
    from ioa_agent.teacher.cached import CachedTeacher


class RunNotFound(LookupError):
    """No run with that id under the runs root."""


class DamagedFile(RuntimeError):
    """A run file that cannot be read back; the message names it and says what to do."""


class DiskFull(RuntimeError):
    """A write ran out of space; the message names the run folder."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temp file and an atomic rename; a failed write
    (a full disk) leaves the old file, and no temp file, behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Run:
    """An opened run: config, store and cached teacher, plus its paths."""

    dir: Path
    config: Config

    @property
    def id(self) -> str:
        return self.dir.name

    @cached_property
    def store(self) -> RunStore:
        from ioa_agent.store import RunStore

        return RunStore(self.dir / "store.db")

    @cached_property
    def teacher(self) -> CachedTeacher:
        from ioa_agent.teacher.cached import CachedTeacher

        cfg = self.config.teacher
        if cfg.kind == "llm":
            kind = self.config.seed_data.scorer if self.config.seed_data else "math"
            inner = LLMTeacher(cfg, domain=self.config.domain, answer_kind=kind)
        else:
            inner = ArithmeticTeacher()

        # the counter finds the tokenizer by name, not through this Run: a reference
        # back to the Run would keep it, and its store's connection, open until a GC
        model = partial(resolve_model, self.config.student.model)
        return CachedTeacher(
            inner,
            self.store,
            budget_tokens=cfg.budget_tokens,
            price_in=cfg.price_in,
            price_out=cfg.price_out,
            max_concurrency=cfg.max_concurrency if cfg.kind == "llm" else 1,
            count_tokens=None if cfg.kind == "llm" else TokenCounter(model),
        )

    @cached_property
    def scorer(self) -> Scorer:
        """How this run's domain checks answers (see domains.scorers)."""

        data = self.config.seed_data
        if data is None:
            return Scorer("arithmetic")
        judge = self.teacher.judge_many if data.scorer == "open" and data.judge else None
        return Scorer(data.scorer, rouge_threshold=data.rouge_threshold, judge=judge)

    @cached_property
    def student_model(self) -> Path:

        return resolve_model(self.config.student.model)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the store's connection if one is open; the next use opens it again.
        Close explicitly (or use `with`): a sqlite3 connection sits in a reference
        cycle with its statement cache, so dropping it leaves the file open until a
        garbage collection, with its -wal and -shm files beside it."""
        for held in ("scorer", "teacher"):  # they hold the store: open again with it
            self.__dict__.pop(held, None)
        store = self.__dict__.pop("store", None)
        if store is not None:
            store.close()

    def round_dir(self, round: int) -> Path:
        return self.dir / "rounds" / f"{round:04d}"

    def adapter_dir(self, round: int) -> Path | None:
        """The adapter trained in `round`, or None for round 0 (the base student)."""
        return None if round == 0 else self.round_dir(round) / "adapter"


def create_run(config: Config, root: Path, name: str | None = None) -> Run:
    """A new run directory holding the resolved config."""
    run_id = name or time.strftime("run-%Y%m%d-%H%M%S-") + secrets.token_hex(2)
    run_dir = Path(root) / run_id
    if run_dir.exists():
        raise ConfigError(f"run {run_id} already exists in {root}: pick another --name")
    run_dir.mkdir(parents=True)
    atomic_write_text(run_dir / "config.yaml", dump_config(config))
    return Run(run_dir, config)


def open_run(run_dir: Path) -> Run:
    """An existing run, from its directory."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise RunNotFound(f"no run at {run_dir}: `ioa status` lists the runs")
    return Run(run_dir, load_config(run_dir / "config.yaml", warn=False))


def find_run(root: Path, run_id: str) -> Run:
    """The run `run_id` under `root` (a path to a run directory also works)."""
    direct = Path(run_id)
    if (direct / "config.yaml").is_file():
        return open_run(direct)
    if not (Path(root) / run_id / "config.yaml").is_file():
        raise RunNotFound(f"unknown run `{run_id}` in {root}: `ioa status` lists the runs")
    return open_run(Path(root) / run_id)


def derive_seed(base: int, *parts: object) -> int:
    """A stable 31-bit seed from the run seed and a request's identity."""
    blob = json.dumps([base, *[str(p) for p in parts]])
    return int(hashlib.sha256(blob.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_FULL_TEXTS = ("database or disk is full", "No space left on device", "Disk quota exceeded")


def disk_full(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception behind it, is a write that ran out of space
    (including a training subprocess whose last output says so)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if any(text in str(exc) for text in _FULL_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def check_database(path: Path, advice: str) -> None:
    """DamagedFile when the SQLite file at `path` fails SQLite's quick check."""
    if not path.is_file():
        return
    try:
        with closing(sqlite3.connect(path)) as conn:
            first = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        first = str(exc)
    if first != "ok":
        raise DamagedFile(f"{path} is damaged ({first}): {advice}")


def check_adapter(folder: Path, run_id: str) -> None:
    """DamagedFile when a finished adapter's weights do not parse or miss bytes."""
    weights = folder / "adapter_model.safetensors"
    if not (folder / "metrics.json").is_file():
        return  # unfinished: training writes it again
    try:
        with open(weights, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
        end = max(
            (t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0
        )
        problem = None if weights.stat().st_size == 8 + size + end else "bytes missing or extra"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problem = str(exc) or type(exc).__name__
    if problem:
        job = folder.parent / f"{folder.name}.job.json"
        raise DamagedFile(
            f"{weights} is damaged ({problem}): restore {folder} from a backup, or train it "
            f"again from the same data and seed: `rm -r {folder}`, then `python -m "
            f"ioa_agent.student.train {job}`, then `ioa resume {run_id}`"
        )


def check_databases(run: Run) -> None:
    """Before a run continues: its checkpoints, then its store."""
    check_database(
        run.dir / "graph.db",
        f"move it aside (`mv graph.db graph.db.damaged`) and `ioa resume {run.id}` replays "
        "the run from its store, paying no teacher call twice and reusing finished training",
    )
    check_database(
        run.dir / "store.db",
        "it holds the run's items, teacher answers and scores: restore it from a backup "
        "(`sqlite3 store.db .recover` may save its rows); nothing else was changed",
    )
