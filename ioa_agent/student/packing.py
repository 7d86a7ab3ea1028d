"""How a training round lays out its batches and which kernels it uses: the fast-path plan.

`plan_fast_path` turns the round's settings, a sample of its example lengths and what
the machine offers (CUDA, bf16, flash-attn, Liger, GPU memory) into a `FastPath`:
packed rows with per-document attention or length-grouped padded batches, the
attention implementation, regional `torch.compile`, Liger kernels and gradient
checkpointing. The plan is plain data that `ioa_agent.student.train` maps onto TRL
`SFTConfig` options and records in the adapter's metrics.json.

Packing here is TRL's own: best-fit-decreasing rows of `pack_length` tokens, collated
padding-free with `position_ids` restarting at 0 for every example. flash-attn turns
them into varlen sequence boundaries; SDPA and eager get a block-diagonal causal mask
that transformers builds from the same `position_ids` (masking_utils,
`find_packed_sequence_indices`), so an example never attends to its row neighbours.

This module does not tokenize, load models or train.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PAD_MULTIPLE = 64
# Activation bytes per token and layer, in units of hidden size, for bf16 training with a
# fused attention kernel (no materialised attention matrix): Korthikanti et al. 2022, 34·h.
_ACTIVATION_BYTES_PER_HIDDEN = 34
# Share of GPU memory the estimate may use before gradient checkpointing is switched on.
_MEMORY_HEADROOM = 0.8

Switch = Literal["auto", "on", "off"]


class FastPath(BaseModel):
    """The resolved layout and kernels of one training round."""

    model_config = ConfigDict(extra="forbid")

    packing: bool = Field(description="Examples packed into rows with per-document attention.")
    pack_length: int | None = Field(description="Tokens per packed row; null when not packing.")
    per_device_batch: int = Field(description="Rows (packed) or examples (padded) per micro-batch.")
    pad_to_multiple_of: int | None = Field(description="Batch and row lengths round up to this.")
    group_by_length: bool = Field(description="Padded batches drawn from similar lengths.")
    attn_implementation: str = Field(description="transformers attention kernel.")
    compile: bool = Field(description="Regional torch.compile of the repeated decoder blocks.")
    liger: bool = Field(description="Liger layer kernels (RMSNorm, RoPE, SwiGLU).")
    gradient_checkpointing: bool = Field(description="Recompute activations in backward.")
    bf16: bool = Field(description="bf16 base weights and autocast.")


def installed(module: str) -> bool:
    """Whether `module` can be imported, without importing it."""
    return importlib.util.find_spec(module) is not None


def round_up(n: int, multiple: int) -> int:
    """The smallest multiple of `multiple` that is at least `n`."""
    if multiple <= 0:
        raise ValueError(f"multiple must be positive, got {multiple}")
    return -(-n // multiple) * multiple


def pack_length_for(lengths: Sequence[int], batch_size: int, max_length: int) -> int:
    """Tokens per packed row so that a row holds about `batch_size` examples.

    A packed step then sees about as many examples as a padded batch of `batch_size`,
    so learning-rate settings carry over. Never below `max_length` (a row must fit the
    longest allowed example whole), rounded up to a multiple of 64.
    """
    if not lengths:
        raise ValueError("need at least one example length to size packed rows")
    mean = sum(min(n, max_length) for n in lengths) / len(lengths)
    return round_up(max(max_length, math.ceil(batch_size * mean)), PAD_MULTIPLE)


def activation_bytes(tokens: int, layers: int, hidden: int, vocab: int) -> int:
    """A rough activation-memory estimate for one micro-batch of `tokens` (bf16, LoRA).

    Transformer layers keep about 34·hidden bytes per token each; the loss keeps the
    fp32 logits and their gradient.
    """
    return tokens * (layers * hidden * _ACTIVATION_BYTES_PER_HIDDEN + vocab * 4 * 2)


def needs_checkpointing(
    tokens: int, layers: int, hidden: int, vocab: int, params: int, gpu_bytes: int
) -> bool:
    """Whether activations plus bf16 weights would pass 80% of `gpu_bytes`."""
    weights = params * 2
    return weights + activation_bytes(tokens, layers, hidden, vocab) > _MEMORY_HEADROOM * gpu_bytes


def plan_fast_path(
    *,
    packing: Switch,
    pack_length: int | None,
    batch_size: int,
    max_length: int,
    examples: int,
    lengths: Sequence[int] | None,
    attn_implementation: str,
    compile: bool,
    liger: Literal["auto", "off"],
    gradient_checkpointing: Switch,
    pad_to_multiple_of: int | None,
    cuda: bool,
    bf16: bool,
    flash_attn: bool,
    liger_installed: bool,
    model_dims: dict[str, int] | None = None,
    gpu_bytes: int | None = None,
) -> FastPath:
    """The round's fast path from its settings and what the machine offers.

    `lengths` are token counts of (a sample of) the examples, needed only to size
    packed rows when `pack_length` is null. `packing="auto"` packs whenever there is
    more than one example; packing is exact
    (per-document attention), so it only changes speed. `attn_implementation="auto"`
    is flash-attn 2 on CUDA when installed, else SDPA. Packed rows go one per
    micro-batch: with SDPA the padding-free collator would otherwise join the rows of
    a micro-batch into one sequence and pay quadratic attention over all of them.
    `gradient_checkpointing="auto"` turns it on only on CUDA when `needs_checkpointing`
    says the micro-batch would not fit (needs `model_dims` and `gpu_bytes`).
    """
    if attn_implementation == "auto":
        attn = "flash_attention_2" if cuda and flash_attn else "sdpa"
    else:
        attn = attn_implementation
    if attn == "flash_attention_2" and not (cuda and flash_attn):
        raise ValueError(
            "attn_implementation flash_attention_2 needs CUDA and the flash-attn package; "
            "use auto or sdpa"
        )
    do_pack = packing == "on" or (packing == "auto" and examples > 1)
    row = None
    if do_pack:
        row = pack_length or pack_length_for(lengths or [], batch_size, max_length)
        if row < max_length:
            raise ValueError(
                f"pack_length {row} is shorter than max_length {max_length}: raise pack_length"
            )
    per_device = 1 if do_pack else batch_size
    tokens = row if row is not None else batch_size * max_length
    if gradient_checkpointing == "auto":
        checkpoint = bool(
            cuda
            and model_dims is not None
            and gpu_bytes is not None
            and needs_checkpointing(tokens, gpu_bytes=gpu_bytes, **model_dims)
        )
    else:
        checkpoint = gradient_checkpointing == "on"
    return FastPath(
        packing=do_pack,
        pack_length=row,
        per_device_batch=per_device,
        pad_to_multiple_of=pad_to_multiple_of,
        group_by_length=not do_pack and examples > batch_size,
        attn_implementation=attn,
        compile=compile,
        liger=liger == "auto" and liger_installed and cuda,
        gradient_checkpointing=checkpoint,
        bf16=bf16,
    )
