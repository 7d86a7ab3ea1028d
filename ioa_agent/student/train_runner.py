"""One LoRA SFT round of the student: the parent side.

`run_training` writes a `TrainJob` as JSON next to its output folder, starts
`python -m ioa_agent.student.train JOB.json` (or the same module under `accelerate
launch`, see launch.py), streams its output, reports its steps, and returns the metrics
the child wrote; an output folder that already holds them is reused without training.

This module does not import torch or train (train.py, in the child).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ioa_agent.run import atomic_write_text
from ioa_agent.student.launch import launch_command as launch_argv
from ioa_agent.student.process_guard import die_with_parent
from ioa_agent.student.train import METRICS_FILE, TrainJob, read_metrics

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def run_training(
    job: TrainJob, log_path: Path | None = None, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Train `job` in a subprocess and return its metrics; a finished adapter is reused.

    The child's output goes to `log_path` (appended) when given, else to stdout;
    `progress(1)` is called for each optimizer step it reports. The child is killed
    if this process dies (Linux), and a failure raises `RuntimeError` with the last
    lines it printed.
    """
    output = Path(job.output_dir)
    done = read_metrics(output)
    if done is not None:
        return done
    output.parent.mkdir(parents=True, exist_ok=True)
    job_path = output.parent / f"{output.name}.job.json"
    atomic_write_text(job_path, job.model_dump_json(indent=2))

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")] if p
    )
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    tail: collections.deque[str] = collections.deque(maxlen=40)
    log = open(log_path, "a", encoding="utf-8") if log_path is not None else None  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            launch_command(job, job_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env=env,
            start_new_session=False,
            preexec_fn=die_with_parent(),
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                tail.append(line.rstrip("\n"))
                if progress is not None and line.startswith("step "):
                    progress(1)
                (log or sys.stdout).write(line)
                (log or sys.stdout).flush()
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    finally:
        if log is not None:
            log.close()
    if code != 0:
        lines = "\n".join(tail)
        raise RuntimeError(f"training {output} failed with exit code {code}; last output:\n{lines}")
    metrics = read_metrics(output)
    if metrics is None:
        raise RuntimeError(f"training exited cleanly but left no {METRICS_FILE} in {output}")
    return metrics


def launch_command(job: TrainJob, job_path: Path) -> list[str]:
    """The argv that runs `job_path` with the job's launcher."""
    return launch_argv(job.launcher, job_path, job.accelerate_config, job.num_processes)
