"""Produce samples with the student: greedy through the student backend, or sampled.

Greedy decoding calls `ioa_agent.student.generate.generate` (chat template, batched).
Seeded sampling, which the student backend does not offer, is done here: the same
model loading (`ioa_agent.student.generate.load_model`), one user turn rendered with
the chat template, left-padded batches, and pure ancestral sampling as in MiniLLM's
evaluation (temperature 1, top-p 1, no top-k), with `torch.manual_seed(seed)` before
each seed's pass. Per-sample time is the pass's time divided by its prompts.

torch and transformers are imported inside the functions. Nothing here scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ioa_agent.evaluation.records import Sample
from ioa_agent.student.generate import generate, load_model
from ioa_agent.student.models import resolve_model

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Progress = Callable[[int], None]


def resolve_model_dir(name_or_path: str) -> Path:
    """A local model folder for a path or a known model name (`smollm2-135m-instruct`)."""

    return resolve_model(name_or_path)


def greedy_samples(
    model_dir: Path,
    ids: Sequence[str],
    prompts: Sequence[str],
    adapter_dir: Path | None = None,
    batch_size: int = 16,
    max_new_tokens: int = 256,
    progress: Progress | None = None,
) -> list[Sample]:
    """One greedy sample per prompt, through the student backend."""

    start = time.perf_counter()
    outputs = generate(
        model_dir,
        list(prompts),
        adapter_dir=adapter_dir,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens,
        progress=progress,
    )
    each = (time.perf_counter() - start) / max(1, len(prompts))
    return [Sample(i, out, None, each) for i, out in zip(ids, outputs, strict=True)]


def sampled_samples(
    model_dir: Path,
    ids: Sequence[str],
    prompts: Sequence[str],
    seeds: Sequence[int],
    adapter_dir: Path | None = None,
    batch_size: int = 16,
    max_new_tokens: int = 256,
    progress: Progress | None = None,
) -> list[Sample]:
    """One sampled output per prompt and seed (seed-major order)."""
    if not prompts:
        return []

    model, tokenizer = load_model(model_dir, adapter_dir)
    samples: list[Sample] = []
    for seed in seeds:
        start = time.perf_counter()
        outputs = _sample(
            model, tokenizer, list(prompts), seed, batch_size, max_new_tokens, progress
        )
        each = (time.perf_counter() - start) / len(prompts)
        samples.extend(Sample(i, out, seed, each) for i, out in zip(ids, outputs, strict=True))
    return samples


def _sample(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    seed: int,
    batch_size: int,
    max_new_tokens: int,
    progress: Progress | None,
) -> list[str]:
    import torch
    from transformers import GenerationConfig

    encoded = [
        tokenizer(
            tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
            ),
            add_special_tokens=False,
        )["input_ids"]
        for p in prompts
    ]
    stop = [i for i in _as_list(model.generation_config.eos_token_id) if i is not None]
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in stop:
        stop.insert(0, tokenizer.eos_token_id)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop[0]
    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=True,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        eos_token_id=stop,
        pad_token_id=pad,
    )
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)
    outputs = [""] * len(prompts)
    torch.manual_seed(seed)
    with torch.inference_mode():
        for begin in range(0, len(order), batch_size):
            batch = order[begin : begin + batch_size]
            width = max(len(encoded[i]) for i in batch)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, index in enumerate(batch):
                ids = encoded[index]
                input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
                mask[row, width - len(ids) :] = 1
            generated = model.generate(
                input_ids=input_ids.to(model.device),
                attention_mask=mask.to(model.device),
                generation_config=config,
            )
            for row, index in enumerate(batch):
                new = generated[row, width:].tolist()
                cut = next((k for k, t in enumerate(new) if t in stop or t == pad), len(new))
                outputs[index] = tokenizer.decode(new[:cut], skip_special_tokens=True).strip()
            if progress is not None:
                progress(len(batch))
    return outputs


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)
