"""A run on disk: its directory layout, its resolved config, its store and teacher.

    <runs root>/<run id>/
        config.yaml       the resolved config, written once at creation
        store.db          the run store (RunStore)
        graph.db          the LangGraph checkpoints (one thread: the run id)
        diagnosis/NNN.json, assess/NNNN.json
        rounds/NNNN/      train.jsonl, adapter/ (with metrics.json), train.log,
                          tensorboard/ (train.report_to: tensorboard)

Artifacts are written atomically (temp file, then rename) so a crash leaves either
the whole file or none. This module does not run the graph (see runner.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ioa_agent.config import Config, ConfigError, dump_config, load_config

if TYPE_CHECKING:
    from ioa_agent.domains.scorers import Scorer
    from ioa_agent.store import RunStore
    from ioa_agent.teacher.cached import CachedTeacher


class RunNotFound(LookupError):
    """No run with that id under the runs root."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temp file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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
            from ioa_agent.teacher.llm import LLMTeacher

            kind = self.config.seed_data.scorer if self.config.seed_data else "math"
            inner = LLMTeacher(cfg, domain=self.config.domain, answer_kind=kind)
        else:
            from ioa_agent.teacher.exact import ArithmeticTeacher

            inner = ArithmeticTeacher()
        from ioa_agent.teacher.tokens import TokenCounter

        return CachedTeacher(
            inner,
            self.store,
            budget_tokens=cfg.budget_tokens,
            price_in=cfg.price_in,
            price_out=cfg.price_out,
            max_concurrency=cfg.max_concurrency if cfg.kind == "llm" else 1,
            count_tokens=None if cfg.kind == "llm" else TokenCounter(lambda: self.student_model),
        )

    @cached_property
    def scorer(self) -> Scorer:
        """How this run's domain checks answers (see domains.scorers)."""
        from ioa_agent.domains.scorers import Scorer

        data = self.config.seed_data
        if data is None:
            return Scorer("arithmetic")
        judge = self.teacher.judge_many if data.scorer == "open" and data.judge else None
        return Scorer(data.scorer, rouge_threshold=data.rouge_threshold, judge=judge)

    @cached_property
    def student_model(self) -> Path:
        from ioa_agent.student.models import resolve_model

        return resolve_model(self.config.student.model)

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
