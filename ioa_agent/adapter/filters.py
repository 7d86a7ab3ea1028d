"""Adapter rules: which rewrite strategies an item gets, and which items are kept.

- `choose_strategies` maps a module's gap and the round's variant to the rewrite
  strategies the teacher applies.
- `similarity` is the Jaccard similarity of word n-grams of normalised text.
- `filter_items` keeps synthesized items that are verified, not near-duplicates of
  each other and do not leak a probe.
- `drop_stated` drops the items whose training text computes a probe's content on the
  way (a worked step that is a probe's operation on its operands).

This module does not call the teacher, rewrite text or check answers itself: the
caller passes the teacher's answers and an answer-matching function in.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Literal

from ioa_agent.items import STRATEGIES, Item, Strategy

Gram = tuple[str, ...]
Reason = Literal["unverified", "duplicate", "probe_leak"]

DECOMPOSITION_GAP = 0.6
CONCRETIZATION_GAP = 0.85

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|\S")


def choose_strategies(gap: float, variant: str) -> list[Strategy]:
    """The rewrite strategies for an item, in canonical order.

    The rule: every item gets "step_format" (one consistent step format across the
    data). A gap ≥ 0.6 adds "decomposition" (facts → relations → equations → solve →
    verify); a gap ≥ 0.85 also adds "concretization" (an example before the
    abstraction). A "remedial" round adds "simplification" and "cognitive_load"
    (simpler wording, smaller numbers, only the weak sub-skill). "standard" and
    "bridging" rounds add nothing beyond the gap rules. Unknown variants raise
    ValueError.
    """
    if variant not in ("standard", "remedial", "bridging"):
        raise ValueError(f"unknown variant {variant!r}")
    chosen: set[str] = {"step_format"}
    if gap >= DECOMPOSITION_GAP:
        chosen.add("decomposition")
    if gap >= CONCRETIZATION_GAP:
        chosen.add("concretization")
    if variant == "remedial":
        chosen.update(("simplification", "cognitive_load"))
    return [s for s in STRATEGIES if s in chosen]


def tokens(text: str) -> tuple[str, ...]:
    """Lower-cased tokens: words, numbers (with inner . or ,) and single symbols."""
    return tuple(_TOKEN.findall(text.lower()))


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_TRAILING_ZEROS = re.compile(r"(\d+)\.(\d*?)0+\b")


def normalized_question(text: str) -> str:
    """A question's content for the probe filter: its lower-cased tokens with numbers
    written one way (no thousands commas, no trailing decimal zeros), without the
    punctuation at either end, joined by single spaces."""
    text = _THOUSANDS.sub("", text.lower())
    text = _TRAILING_ZEROS.sub(lambda m: m[1] + ("." + m[2] if m[2] else ""), text)
    toks = list(tokens(text))
    while toks and not toks[-1].isalnum() and not toks[-1][0].isdigit():
        toks.pop()
    while toks and not toks[0].isalnum() and not toks[0][0].isdigit():
        toks.pop(0)
    return " ".join(toks)


def token_grams(toks: tuple[str, ...], n: int = 3) -> frozenset[Gram]:
    """The set of n-grams of a token tuple; a tuple shorter than n gives itself."""
    if not toks:
        return frozenset()
    if len(toks) < n:
        return frozenset({toks})
    return frozenset(toks[i : i + n] for i in range(len(toks) - n + 1))


def ngrams(text: str, n: int = 3) -> frozenset[Gram]:
    """The set of word n-grams; a text shorter than n gives its whole token tuple."""
    return token_grams(tokens(text), n)


def jaccard(a: frozenset[Gram], b: frozenset[Gram]) -> float:
    """|a ∩ b| / |a ∪ b| (two empty sets: 1.0)."""
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def similarity(a: str, b: str, n: int = 3) -> float:
    """Jaccard similarity of the word n-gram sets of two texts (two empty texts: 1.0)."""
    return jaccard(ngrams(a, n), ngrams(b, n))


class _Index:
    """Sets searchable for any member with Jaccard ≥ threshold (prefix filtering).

    Each set's grams are ordered by a fixed key (rarest first); if J(A, B) ≥ t then
    A's first |A| − ⌈t|A|⌉ + 1 grams and B's first |B| − ⌈t|B|⌉ + 1 grams share one,
    so only B's prefix is indexed and only A's prefix is looked up, then candidates
    are verified exactly.
    """

    def __init__(self, threshold: float, key: Callable[[Gram], tuple]) -> None:
        self.threshold = threshold
        self.key = key
        self.sets: list[frozenset[Gram]] = []
        self.postings: dict[Gram, list[int]] = defaultdict(list)
        self.empty = 0

    def _prefix(self, grams: frozenset[Gram]) -> list[Gram]:
        need = max(1, math.ceil(self.threshold * len(grams) - 1e-9))
        return sorted(grams, key=self.key)[: max(0, len(grams) - need + 1)]

    def add(self, grams: frozenset[Gram]) -> None:
        idx = len(self.sets)
        self.sets.append(grams)
        if not grams:
            self.empty += 1
        for g in self._prefix(grams):
            self.postings[g].append(idx)

    def matches(self, grams: frozenset[Gram]) -> bool:
        if not self.sets:
            return False
        if self.threshold <= 0:
            return True
        if not grams:
            return self.empty > 0
        seen: set[int] = set()
        for g in self._prefix(grams):
            for idx in self.postings.get(g, ()):
                if idx in seen:
                    continue
                seen.add(idx)
                if jaccard(grams, self.sets[idx]) >= self.threshold:
                    return True
        return False


def filter_items(
    candidates: Sequence[tuple[Item, str | None]],
    probe_prompts: Sequence[str],
    answers_match: Callable[[str | None, str], bool],
    dup_threshold: float = 0.9,
    leak_threshold: float = 0.8,
    n: int = 3,
    key: Callable[[str], str] = normalized_question,
) -> tuple[list[Item], list[tuple[Item, Reason]]]:
    """Keep the items that are verified, new, and do not leak a probe.

    Each candidate is `(item, teacher's answer to item.prompt)`. Checks, in order,
    each rejecting with its reason:

    1. "unverified": `answers_match(teacher_answer, item.answer)` is false;
    2. "duplicate": the prompt's similarity to an already kept item's prompt is
       ≥ `dup_threshold`;
    3. "probe_leak": the prompt's content `key` equals a probe's (the domain's:
       operation and operands for arithmetic, the normalized question otherwise),
       or its similarity to any probe prompt is ≥ `leak_threshold`.

    Returns `(kept, rejected)`, both in input order; `rejected` pairs each item with
    its reason. Similarity is `similarity(..., n)`, searched through n-gram indexes.
    """
    grams = [ngrams(item.prompt, n) for item, _ in candidates]
    probe_grams = [ngrams(p, n) for p in probe_prompts]
    df: Counter[Gram] = Counter()
    for s in (*grams, *probe_grams):
        df.update(s)

    def rarest_first(g: Gram) -> tuple:
        return (df[g], g)

    probes = _Index(leak_threshold, rarest_first)
    for s in probe_grams:
        probes.add(s)
    probe_keys = {key(p) for p in probe_prompts}
    kept_index = _Index(dup_threshold, rarest_first)

    kept: list[Item] = []
    rejected: list[tuple[Item, Reason]] = []
    for (item, teacher_answer), item_grams in zip(candidates, grams, strict=True):
        if not answers_match(teacher_answer, item.answer):
            rejected.append((item, "unverified"))
        elif kept_index.matches(item_grams):
            rejected.append((item, "duplicate"))
        elif key(item.prompt) in probe_keys or probes.matches(item_grams):
            rejected.append((item, "probe_leak"))
        else:
            kept.append(item)
            kept_index.add(item_grams)
    return kept, rejected


def drop_stated(
    items: Sequence[Item], probe_keys: set[str], stated: Callable[[str], set[str]]
) -> tuple[list[Item], int]:
    """The items whose training text (prompt and completion, in its rendering) computes
    no probe's content on the way, and how many were dropped.

    `stated` gives the contents a text computes (the domain's `Scorer.stated_keys`: for
    arithmetic, each bare operation it writes out, so "3 × 4 = 12" inside a worked
    money problem states the probe "What is 4 × 3?"); `probe_keys` are the probes'
    content keys. Runs after the rendering is chosen, on the text that will train.
    """
    kept = [it for it in items if not stated(f"{it.prompt}\n{it.completion()}") & probe_keys]
    return kept, len(items) - len(kept)
