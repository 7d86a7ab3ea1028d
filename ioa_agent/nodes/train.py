"""Train: LoRA SFT of the student on this round's data, in a subprocess.

Continues the previous round's adapter (or starts one on the base model), so the
curriculum accumulates; each round's adapter is kept under its round directory. A round
trains `steps_per_round` steps on its new items plus the replayed rows' share on top
(`round_steps`, counted from the data file's replay flags). The work happens in
`python -m ioa_agent.student.train` (or `accelerate launch` with a shipped or user
accelerate config when the config says so), on the fast path the config allows
(packing, attention kernel, compile, Liger, gradient checkpointing); the adapter is
written atomically, and a re-run that finds it skips training. This node does not
score anything."""

from __future__ import annotations

import json
from pathlib import Path

from langgraph.runtime import Runtime

from ioa_agent.display import progress_bar
from ioa_agent.organizer.curriculum import round_steps
from ioa_agent.run import sha256_file
from ioa_agent.state import Context, State
from ioa_agent.student.train import TrainJob
from ioa_agent.student.train_runner import run_training


def train(state: State, runtime: Runtime[Context]) -> State:

    with runtime.context.open() as run:
        rnd = state["round"]
        data = Path(state["data"]["path"])
        if sha256_file(data) != state["data"]["sha256"]:
            raise RuntimeError(f"{data} changed since it was written; delete it to regenerate")
        out = run.adapter_dir(rnd)
        cfg = run.config.train
        previous = run.adapter_dir(rnd - 1) if rnd > 1 else None
        rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line]
        n_replay = sum(1 for row in rows if row.get("replay"))
        job = TrainJob.from_config(
            cfg,
            base_model=str(run.student_model),
            data_path=str(data),
            init_adapter=str(previous) if previous else None,
            output_dir=str(out),
            seed=run.config.seed + rnd,
            max_steps=round_steps(cfg.steps_per_round, len(rows) - n_replay, n_replay),
            logging_dir=str(run.round_dir(rnd) / "tensorboard"),
        )
        with progress_bar(f"train round {rnd}", job.max_steps) as advance:
            metrics = run_training(job, log_path=run.round_dir(rnd) / "train.log", progress=advance)
        weights = out / "adapter_model.safetensors"
        summary = {
            k: metrics.get(k) for k in ("steps", "final_loss", "train_runtime_s", "examples")
        }
        summary["fast_path"] = metrics.get("fast_path")
        run.store.log_event(f"train:{rnd}", "train", "train", {"round": rnd, **summary})
        return {"adapter": {"path": str(out), "sha256": sha256_file(weights)}}
