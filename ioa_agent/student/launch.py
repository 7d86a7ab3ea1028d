"""The command line that starts a training subprocess: plain Python or `accelerate launch`.

`accelerate_config_path` resolves a configured accelerate config: one of the files
shipped in `ioa_agent/student/accelerate/` by name (`ddp`, `fsdp`, `zero2`, `zero3`,
`cpu_ddp`) or a path to a user's own YAML (multi-node setups write one per machine).
`launch_command` builds the argv; `describe_launch` says what a run used, for its
metrics.json.

This module does not start processes or train.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SHIPPED_CONFIGS = Path(__file__).resolve().parent / "accelerate"
TRAIN_MODULE = "ioa_agent.student.train"


def shipped_config_names() -> list[str]:
    """Names of the accelerate configs shipped with the package."""
    return sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml"))


def accelerate_config_path(value: str) -> Path:
    """A shipped config by name, else an existing YAML file path."""
    shipped = SHIPPED_CONFIGS / f"{value}.yaml"
    if "/" not in value and shipped.is_file():
        return shipped
    path = Path(value).expanduser()
    if path.is_file():
        return path
    raise FileNotFoundError(
        f"accelerate config {value!r} not found: use one of {', '.join(shipped_config_names())} "
        "or a path to an accelerate YAML file"
    )


def launch_command(
    launcher: str,
    job_path: Path,
    accelerate_config: str | None = None,
    num_processes: int | None = None,
) -> list[str]:
    """The argv that runs `python -m ioa_agent.student.train job_path` with `launcher`."""
    module = ["-m", TRAIN_MODULE, str(job_path)]
    if launcher == "python":
        return [sys.executable, *module]
    if launcher != "accelerate":
        raise ValueError(f"unknown launcher {launcher!r}: use python or accelerate")
    argv = [sys.executable, "-m", "accelerate.commands.launch"]
    if accelerate_config:
        argv += ["--config_file", str(accelerate_config_path(accelerate_config))]
    if num_processes is not None:
        argv += ["--num_processes", str(num_processes)]
    return [*argv, *module]


def describe_launch(
    launcher: str, accelerate_config: str | None, world_size: int, distributed_type: str
) -> dict[str, Any]:
    """What a run used to start, as recorded in metrics.json."""
    config = str(accelerate_config_path(accelerate_config)) if accelerate_config else None
    return {
        "launcher": launcher,
        "accelerate_config": config,
        "world_size": world_size,
        "distributed_type": distributed_type,
    }
