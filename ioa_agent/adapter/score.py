"""How well the student already predicts an answer: its mean answer loss, by forward passes.

For each (question, answer) pair this computes, with the student (base model, or a
round's adapter merged in), the mean negative log-likelihood per answer token in nats:

- s(A|Q): the answer as the assistant turn after the question, rendered with the
  chat template exactly as training sees it (the completion tokens TRL puts the loss on);
- s(A): the same answer tokens after an empty user turn, so without the question;
- s(ans|Q), when the gold answer is given: the mean loss over the tokens where the
  completion states the answer (`answer_span`), format and working excluded, and the
  probability p of those tokens (teacher-forced).

IFD = s(A|Q) / s(A) (Li et al., "From Quantity to Quality", NAACL 2024) and the rules
are left to `adapter.renderings`. No gradient, no generation, no training; nothing is
written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ioa_agent.student.generate import load_model

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def _answer_ids(
    tokenizer: PreTrainedTokenizerBase, question: str, answer: str
) -> tuple[list[int], list[int]]:
    """(prefix ids, answer ids) of one chat-formatted pair; the answer ends with the turn end."""
    user = [{"role": "user", "content": question}]
    prefix = tokenizer.apply_chat_template(
        user, tokenize=True, add_generation_prompt=True, return_dict=False
    )
    full = tokenizer.apply_chat_template(
        [*user, {"role": "assistant", "content": answer}], tokenize=True, return_dict=False
    )
    if list(full[: len(prefix)]) != list(prefix):
        raise ValueError("the chat template does not render the question as a prefix of the turn")
    return list(prefix), list(full[len(prefix) :])


def answer_span(completion: str, answer: str) -> tuple[int, int] | None:
    """Character span where `completion` states `answer`: its last occurrence (not
    inside a longer number) before the closing answer line, else in that line; None
    when the answer is not in the text."""
    pattern = re.compile(rf"(?<![\d.]){re.escape(answer.strip())}(?![\d])")
    if not answer.strip():
        return None
    body_end = completion.rfind("\nThe answer is ")
    body = completion if body_end < 0 else completion[:body_end]
    found = list(pattern.finditer(body)) or list(pattern.finditer(completion))
    return found[-1].span() if found else None


def _span_tokens(
    tokenizer: PreTrainedTokenizerBase, completion: str, span: tuple[int, int], ids: list[int]
) -> list[int]:
    """Indices, among a turn's answer `ids`, of the tokens covering `span` of its text;
    empty when the text's own tokens do not open the turn as the template renders it."""
    enc = tokenizer(completion, add_special_tokens=False, return_offsets_mapping=True)
    if list(enc["input_ids"]) != ids[: len(enc["input_ids"])]:
        return []
    start, end = span
    return [i for i, (a, b) in enumerate(enc["offset_mapping"]) if a < end and b > start]


def token_losses(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    sequences: Sequence[tuple[list[int], list[int]]],
    batch_size: int = 16,
) -> list[list[float]]:
    """NLL (nats) of each answer token given all before it, for (prefix, answer) id lists."""
    import torch

    device = next(model.parameters()).device
    order = sorted(range(len(sequences)), key=lambda i: -sum(map(len, sequences[i])))
    out: list[list[float]] = [[] for _ in sequences]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        rows = [sequences[i][0] + sequences[i][1] for i in chunk]
        width = max(map(len, rows))
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            ids[r, : len(row)] = torch.tensor(row)
            mask[r, : len(row)] = 1
        with torch.no_grad():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        target = ids[:, 1:].to(device)
        nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
        for r, i in enumerate(chunk):
            n_prefix, n_answer = len(sequences[i][0]), len(sequences[i][1])
            # token t is predicted at position t - 1
            out[i] = nll[r, n_prefix - 1 : n_prefix - 1 + n_answer].tolist()
    return out


def mean_losses(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    sequences: Sequence[tuple[list[int], list[int]]],
    batch_size: int = 16,
) -> list[float]:
    """Mean NLL (nats/token) of each `answer` given its `prefix`, for (prefix, answer) id lists."""
    return [sum(t) / len(t) for t in token_losses(model, tokenizer, sequences, batch_size)]


def answer_losses(
    model_dir: Path,
    pairs: Sequence[tuple[str, str]],
    adapter_dir: Path | None = None,
    batch_size: int = 16,
) -> list[tuple[float, float]]:
    """(s(A|Q), s(A)) for each (question, answer) pair, with the student of `adapter_dir`."""
    return [(aq, a) for aq, a, _ in answer_scores(model_dir, pairs, adapter_dir, batch_size)]


def answer_scores(
    model_dir: Path,
    pairs: Sequence[tuple[str, str]],
    adapter_dir: Path | None = None,
    batch_size: int = 16,
    golds: Sequence[str] | None = None,
) -> list[tuple[float, float, tuple[float, float] | None]]:
    """(s(A|Q), s(A), answer) for each (question, completion) pair, with the student of
    `adapter_dir`; `answer` is (s(ans|Q), p) over the tokens where the completion states
    its gold answer (`golds`, same order), None without golds or when it is not found."""
    if not pairs:
        return []

    model, tokenizer = load_model(model_dir, adapter_dir)
    with_q = [_answer_ids(tokenizer, q, a) for q, a in pairs]
    empty = _answer_ids(tokenizer, "", "")[0]
    without_q = [(empty, ids) for _, ids in with_q]
    tokens = token_losses(model, tokenizer, [*with_q, *without_q], batch_size)
    n = len(pairs)
    out: list[tuple[float, float, tuple[float, float] | None]] = []
    for i, (_, completion) in enumerate(pairs):
        given, alone = tokens[i], tokens[n + i]
        answer = None
        span = answer_span(completion, golds[i]) if golds is not None else None
        if span is not None:
            at = _span_tokens(tokenizer, completion, span, with_q[i][1])
            picked = [given[t] for t in at]
            if picked:
                answer = (sum(picked) / len(picked), math.exp(-sum(picked)))
        out.append((sum(given) / len(given), sum(alone) / len(alone), answer))
    return out
