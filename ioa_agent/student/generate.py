"""Batched greedy generation with the student, optionally with a LoRA adapter.

Each prompt is one user turn rendered with the tokenizer's chat template and the
generation prompt; prompts are sorted by length into left-padded batches and the
answers come back in the caller's order, holding only the newly generated text.
A LoRA adapter is merged into the base weights after loading, so it costs nothing per
token.

This module does not score answers, train, or serve models over the network; vLLM is
not used here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Progress = Callable[[int], None]
DType = Literal["auto", "float32", "bfloat16"]


def load_model(
    model_dir: Path, adapter_dir: Path | None = None, dtype: DType = "auto"
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The student model in eval mode (adapter merged when given) and its tokenizer.

    `dtype="auto"` is bf16 on a CUDA device that supports it and fp32 otherwise, the
    precision training uses on CPU. bf16 on a CPU with native bf16 (AVX512-BF16, AMX)
    generates faster but its greedy answers can differ slightly from fp32.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
        torch_dtype = torch.bfloat16 if bf16 else torch.float32
    else:
        torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch_dtype)
    if adapter_dir is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    model.to(device)
    model.eval()
    return model, tokenizer


def generate(
    model_dir: Path,
    prompts: list[str],
    adapter_dir: Path | None = None,
    batch_size: int = 16,
    max_new_tokens: int = 64,
    progress: Progress | None = None,
    dtype: DType = "auto",
) -> list[str]:
    """The student's greedy answer to each prompt, in the order of `prompts`.

    `progress`, when given, is called after each batch with the number of prompts that
    batch finished. `dtype` is as for `load_model`.
    """
    if not prompts:
        return []
    model, tokenizer = load_model(model_dir, adapter_dir, dtype)
    return generate_loaded(model, tokenizer, prompts, batch_size, max_new_tokens, progress)


def generate_loaded(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    batch_size: int = 16,
    max_new_tokens: int = 64,
    progress: Progress | None = None,
) -> list[str]:
    """`generate` with a model and tokenizer already loaded by `load_model`."""
    token_ids = generate_tokens(model, tokenizer, prompts, batch_size, max_new_tokens, progress)
    return [tokenizer.decode(ids, skip_special_tokens=True).strip() for ids in token_ids]


def generate_tokens(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    batch_size: int = 16,
    max_new_tokens: int = 64,
    progress: Progress | None = None,
) -> list[list[int]]:
    """The new token ids per prompt, in order, cut before the first end or pad token."""
    import torch
    from transformers import GenerationConfig

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    encoded = [_encode_prompt(tokenizer, prompt) for prompt in prompts]
    stop_ids = _stop_ids(model, tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        eos_token_id=stop_ids,
        pad_token_id=pad_id,
    )
    # Longest first: similar lengths share a batch (little padding), and a batch that
    # does not fit in memory fails at once.
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)
    results: list[list[int]] = [[] for _ in prompts]
    cut_at = set(stop_ids) | {pad_id}
    device = model.device
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            inputs = _left_pad([encoded[i] for i in batch], pad_id, device)
            output = model.generate(**inputs, generation_config=config)
            new_tokens = output[:, inputs["input_ids"].shape[1] :].tolist()
            for index, ids in zip(batch, new_tokens, strict=True):
                results[index] = _cut(ids, cut_at)
            if progress is not None:
                progress(len(batch))
    return results


def _encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str) -> list[int]:
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _stop_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    ids: list[int] = []
    configured: Any = model.generation_config.eos_token_id
    for candidate in [tokenizer.eos_token_id, *_as_list(configured)]:
        if candidate is not None and candidate not in ids:
            ids.append(int(candidate))
    if not ids:
        raise ValueError("the student tokenizer has no EOS token: generation could not stop")
    return ids


def _as_list(value: int | Sequence[int] | None) -> list[int]:
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)


def _left_pad(sequences: list[list[int]], pad_id: int, device: Any) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, ids in enumerate(sequences):
        input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, width - len(ids) :] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}


def _cut(ids: list[int], stop: set[int]) -> list[int]:
    for position, token in enumerate(ids):
        if token in stop:
            return ids[:position]
    return ids
