"""One LoRA SFT round of the student: the subprocess side.

`python -m ioa_agent.student.train JOB.json` (started by
`ioa_agent.student.train_runner.run_training`, maybe under `accelerate launch`) reads a
`TrainJob` and trains with TRL's `SFTTrainer` on a conversational
prompt-completion dataset, so the loss covers the completion only, with a fresh LoRA
adapter or one continued from the previous round, and saves the adapter atomically:
into `<output_dir>.tmp`, then renamed to `<output_dir>`, with `metrics.json` inside.
An output folder holding `metrics.json` is complete, and asking for it again trains
nothing.

Speed comes from TRL/transformers options chosen by `ioa_agent.student.packing`:
packed rows with per-document attention (or length-grouped padded batches), bf16
base weights on GPUs that have it, flash-attn or SDPA, optional regional
`torch.compile`, Liger kernels when installed, gradient checkpointing only when memory
needs it. metrics.json records what was used and how it was launched; with
`report_to: tensorboard` the loss and learning rate also go to TensorBoard event files.

This module does not start the subprocess (train_runner.py), choose data, schedule
rounds, merge adapters or evaluate.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ioa_agent.student.launch import describe_launch
from ioa_agent.student.packing import FastPath, installed, plan_fast_path

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase
    from trl import SFTTrainer

    from ioa_agent.config import TrainConfig

METRICS_FILE = "metrics.json"
LENGTH_SAMPLE = 1000  # examples tokenized to size packed rows


class TrainJob(BaseModel):
    """Everything one training subprocess needs; JSON-plain so it can be written to disk."""

    model_config = ConfigDict(extra="forbid")

    base_model: str = Field(description="Local Hugging Face folder of the base student.")
    data_path: str = Field(description='JSONL, one {"prompt": str, "completion": str} a line.')
    init_adapter: str | None = Field(
        default=None, description="Adapter to continue training (the previous round's), or null."
    )
    output_dir: str = Field(description="Folder the trained adapter and metrics.json end up in.")
    lora_r: int = Field(default=16, gt=0)
    lora_alpha: int = Field(default=32, gt=0)
    lora_dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    learning_rate: float = Field(default=1e-4, gt=0.0)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = Field(default=0.03, ge=0.0, lt=1.0)
    max_steps: int = Field(gt=0, description="Optimizer steps of this round.")
    batch_size: int = Field(default=8, gt=0, description="Examples per device per micro-batch.")
    grad_accum: int = Field(default=1, gt=0)
    max_length: int = Field(default=128, gt=0, description="Tokens per example, prompt included.")
    seed: int = 0
    packing: Literal["auto", "on", "off"] = Field(
        default="auto", description="Packed rows with per-document attention; see packing.py."
    )
    pack_length: int | None = Field(
        default=None, gt=0, description="Tokens per packed row; null: about batch_size examples."
    )
    pad_to_multiple_of: int | None = Field(default=64, gt=0)
    attn_implementation: Literal["auto", "flash_attention_2", "sdpa", "eager"] = "auto"
    compile: bool = Field(default=False, description="Regional torch.compile.")
    liger: Literal["auto", "off"] = "auto"
    gradient_checkpointing: Literal["auto", "on", "off"] = "auto"
    launcher: Literal["python", "accelerate"] = "python"
    accelerate_config: str | None = Field(
        default=None,
        description="Shipped accelerate config name or YAML path; null for accelerate's default.",
    )
    num_processes: int | None = Field(
        default=None, gt=0, description="`accelerate launch --num_processes`; null: the config's."
    )
    report_to: Literal["none", "tensorboard"] = Field(
        default="none", description="Where TRL reports the logged loss and learning rate."
    )
    logging_dir: str | None = Field(
        default=None, description="Folder of the TensorBoard event files (report_to tensorboard)."
    )

    @classmethod
    def from_config(cls, cfg: TrainConfig, **job: Any) -> TrainJob:
        """A job with the run config's training settings (max_steps: steps_per_round);
        `job` gives the paths and seed, and overrides any setting."""
        shared = {name: getattr(cfg, name) for name in cls.model_fields if hasattr(cfg, name)}
        return cls(**{**shared, "max_steps": cfg.steps_per_round, **job})


def load_examples(data_path: Path) -> list[dict[str, str]]:
    """The `{"prompt", "completion"}` rows of a JSONL file."""
    rows: list[dict[str, str]] = []
    with open(data_path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row.get("prompt"), str) or not isinstance(row.get("completion"), str):
                raise ValueError(
                    f"{data_path}:{number}: need string fields 'prompt' and 'completion'"
                )
            rows.append({"prompt": row["prompt"], "completion": row["completion"]})
    if not rows:
        raise ValueError(f"{data_path} holds no training examples")
    return rows


def plan_for(
    job: TrainJob, tokenizer: PreTrainedTokenizerBase, rows: list[dict[str, str]]
) -> FastPath:
    """The fast path of `job` on this machine (see `ioa_agent.student.packing`)."""
    import torch
    from transformers import AutoConfig

    cuda = torch.cuda.is_available()
    packs = job.packing == "on" or (job.packing == "auto" and len(rows) > 1)
    lengths = None
    if packs and job.pack_length is None:
        lengths = example_lengths(tokenizer, rows[:LENGTH_SAMPLE])
    dims, gpu_bytes = None, None
    if cuda and job.gradient_checkpointing == "auto":
        cfg = AutoConfig.from_pretrained(job.base_model).get_text_config()
        hidden, layers = int(cfg.hidden_size), int(cfg.num_hidden_layers)
        inter = int(getattr(cfg, "intermediate_size", 4 * hidden))
        vocab = int(cfg.vocab_size)
        params = layers * (4 * hidden * hidden + 3 * hidden * inter) + vocab * hidden
        dims = {"layers": layers, "hidden": hidden, "vocab": vocab, "params": params}
        gpu_bytes = int(torch.cuda.get_device_properties(0).total_memory)
    return plan_fast_path(
        packing=job.packing,
        pack_length=job.pack_length,
        batch_size=job.batch_size,
        max_length=job.max_length,
        examples=len(rows),
        lengths=lengths,
        attn_implementation=job.attn_implementation,
        compile=job.compile,
        liger=job.liger,
        gradient_checkpointing=job.gradient_checkpointing,
        pad_to_multiple_of=job.pad_to_multiple_of,
        cuda=cuda,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        flash_attn=installed("flash_attn"),
        liger_installed=installed("liger_kernel"),
        model_dims=dims,
        gpu_bytes=gpu_bytes,
    )


def example_lengths(tokenizer: PreTrainedTokenizerBase, rows: list[dict[str, str]]) -> list[int]:
    """Token counts of `rows` rendered with the chat template, as TRL tokenizes them."""
    return [
        len(
            tokenizer.apply_chat_template(
                [
                    {"role": "user", "content": row["prompt"]},
                    {"role": "assistant", "content": row["completion"]},
                ],
                tokenize=True,
                return_dict=False,
            )
        )
        for row in rows
    ]


def build_trainer(
    job: TrainJob,
    callbacks: list[Any] | None = None,
    plan: FastPath | None = None,
    model: PreTrainedModel | None = None,
) -> SFTTrainer:
    """The `SFTTrainer` for `job`: data prepared (labels -100 outside the completion), LoRA on.

    `plan` defaults to `plan_for(job, ...)`; `model` is a loaded base model to use
    instead of loading `job.base_model` (benchmarks build random-weight models in memory).
    """
    import torch
    from datasets import Dataset
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTConfig, SFTTrainer

    set_seed(job.seed)  # before the LoRA matrices are initialised
    cuda = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(job.base_model)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows = load_examples(Path(job.data_path))
    plan = plan or plan_for(job, tokenizer, rows)
    dtype = torch.bfloat16 if plan.bf16 else torch.float32
    if model is None:
        model = AutoModelForCausalLM.from_pretrained(
            job.base_model, dtype=dtype, attn_implementation=plan.attn_implementation
        )
    else:
        model.set_attn_implementation(plan.attn_implementation)
    set_seed(job.seed)
    if job.init_adapter:
        model = PeftModel.from_pretrained(model, job.init_adapter, is_trainable=True)
    else:
        lora = LoraConfig(
            r=job.lora_r,
            lora_alpha=job.lora_alpha,
            lora_dropout=job.lora_dropout,
            target_modules=list(job.target_modules),
            bias="none",
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)

    dataset = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": row["prompt"]}],
                "completion": [{"role": "assistant", "content": row["completion"]}],
            }
            for row in rows
        ]
    )
    if job.report_to == "tensorboard" and job.logging_dir:
        os.environ["TENSORBOARD_LOGGING_DIR"] = job.logging_dir  # read by TensorBoardCallback
    if plan.compile:  # accelerate reads this when it builds its TorchDynamoPlugin
        os.environ["ACCELERATE_DYNAMO_USE_REGIONAL_COMPILATION"] = "1"
    args = SFTConfig(
        output_dir=job.output_dir + ".tmp",
        max_steps=job.max_steps,
        per_device_train_batch_size=plan.per_device_batch,
        gradient_accumulation_steps=job.grad_accum,
        learning_rate=job.learning_rate,
        lr_scheduler_type=job.lr_scheduler,
        warmup_steps=job.warmup_ratio,  # a float below 1 is a ratio of max_steps
        max_length=plan.pack_length if plan.packing else job.max_length,
        completion_only_loss=True,
        packing=plan.packing,
        packing_strategy="bfd",  # padding-free rows: position_ids restart per example
        pad_to_multiple_of=plan.pad_to_multiple_of,
        train_sampling_strategy="group_by_length" if plan.group_by_length else "random",
        gradient_checkpointing=plan.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        torch_compile=plan.compile,
        use_liger_kernel=plan.liger,
        include_num_input_tokens_seen="non_padding",
        bf16=plan.bf16,
        fp16=False,
        use_cpu=not cuda,
        seed=job.seed,
        data_seed=job.seed,
        logging_steps=1,
        save_strategy="no",
        report_to=job.report_to,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def train(job: TrainJob) -> dict[str, Any]:
    """Train `job` in this process, save the adapter atomically, return its metrics."""
    import datasets
    import transformers
    from transformers import PrinterCallback, TrainerCallback

    output = Path(job.output_dir)
    done = read_metrics(output)
    if done is not None:
        print(f"adapter already complete at {output}", flush=True)
        return done

    losses: list[float] = []

    class _Progress(TrainerCallback):
        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            if not logs or "loss" not in logs or not state.is_world_process_zero:
                return
            losses.append(float(logs["loss"]))
            rate = logs.get("learning_rate", 0.0)
            print(
                f"step {state.global_step}/{state.max_steps} loss {logs['loss']:.4f} lr {rate:.3g}",
                flush=True,
            )

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    tokenizer = transformers.AutoTokenizer.from_pretrained(job.base_model)
    examples = load_examples(Path(job.data_path))
    plan = plan_for(job, tokenizer, examples)
    trainer = build_trainer(job, callbacks=[_Progress()], plan=plan)
    trainer.remove_callback(PrinterCallback)  # _Progress prints one line per step instead
    print(
        f"training {job.max_steps} steps on {len(examples)} examples from {job.base_model}",
        flush=True,
    )
    layout = f"packed rows of {plan.pack_length} tokens" if plan.packing else "padded batches"
    print(
        f"fast path: {layout}, attention {plan.attn_implementation}, compile {plan.compile}, "
        f"liger {plan.liger}, gradient checkpointing {plan.gradient_checkpointing}, "
        f"world size {trainer.accelerator.num_processes}",
        flush=True,
    )
    staging = Path(job.output_dir + ".tmp")
    if trainer.is_world_process_zero() and staging.exists():
        shutil.rmtree(staging)  # a crashed run's leftovers
    result = trainer.train()
    trainer.save_model(str(staging))  # every rank: sharded setups gather weights here
    runtime = float(result.metrics.get("train_runtime", 0.0))
    tokens = int(trainer.state.num_input_tokens_seen)
    metrics = {
        "steps": int(trainer.state.global_step),
        "final_loss": losses[-1] if losses else None,
        "losses": losses,
        "train_loss": float(result.training_loss),
        "train_runtime_s": runtime,
        "seconds_per_step": runtime / max(1, int(trainer.state.global_step)),
        "tokens_seen": tokens,
        "tokens_per_s": tokens / runtime if runtime > 0 else None,
        "examples": len(examples),
        "rows": len(trainer.train_dataset),
        "base_model": job.base_model,
        "init_adapter": job.init_adapter,
        "fast_path": plan.model_dump(),
        "launch": describe_launch(
            job.launcher,
            job.accelerate_config,
            world_size=int(trainer.accelerator.num_processes),
            distributed_type=str(trainer.accelerator.distributed_type.value),
        ),
    }
    if trainer.is_world_process_zero():
        (staging / METRICS_FILE).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        if output.exists():  # incomplete (no metrics.json): never a finished adapter
            shutil.rmtree(output)
        staging.rename(output)
        print(f"saved adapter to {output}", flush=True)
    trainer.accelerator.wait_for_everyone()
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Subprocess entry: `python -m ioa_agent.student.train JOB.json`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ioa_agent.student.train JOB.json", file=sys.stderr)
        return 2
    job = TrainJob.model_validate_json(Path(args[0]).read_text(encoding="utf-8"))
    train(job)
    return 0


def read_metrics(output: Path) -> dict[str, Any] | None:
    """The metrics of a finished adapter folder, or None when it is absent or incomplete."""
    path = output / METRICS_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    raise SystemExit(main())
