"""Measurements that can tell: paired change on the same probes, and format leak.

- `paired_change`: the change in accuracy between two students on the same probes,
  with a 95% interval (Agresti-Min: the Wald interval for paired proportions after
  adding 1/2 to each of the four cells) and the exact McNemar p-value (two-sided
  binomial test on the discordant pairs).
- `format_leak`: the share of answers written in a taught template. An answer's
  skeleton is its lower-cased tokens with every number replaced by `0`; it is in a
  taught template when the Jaccard similarity of its skeleton's word 3-grams to some
  taught completion's skeleton is ≥ `threshold`.

Pure functions of lists of 0/1 scores and strings: no model, no store, no I/O.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from typing import TypedDict

from ioa_agent.adapter.filters import jaccard, token_grams, tokens

Z95 = 1.959963984540054


class PairedChange(TypedDict):
    n: int
    before: float
    after: float
    diff: float
    lo: float
    hi: float
    gained: int
    lost: int
    p: float


def mcnemar_p(gained: int, lost: int) -> float:
    """Exact two-sided McNemar p-value for `gained` (0→1) and `lost` (1→0) pairs."""
    n = gained + lost
    if n == 0:
        return 1.0
    k = min(gained, lost)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_change(before: Sequence[int], after: Sequence[int]) -> PairedChange:
    """after − before on the same items, with a 95% interval and the McNemar p-value."""
    if len(before) != len(after):
        raise ValueError(f"paired scores differ in length: {len(before)} vs {len(after)}")
    n = len(before)
    if n == 0:
        raise ValueError("no paired items")
    gained = sum(1 for b, a in zip(before, after, strict=True) if not b and a)
    lost = sum(1 for b, a in zip(before, after, strict=True) if b and not a)
    # Agresti-Min: 1/2 added to each cell of the 2x2 table, so n + 2 in all
    g, lo_, m = gained + 0.5, lost + 0.5, n + 2
    d = (g - lo_) / m
    se = math.sqrt(max((g + lo_) - (g - lo_) ** 2 / m, 0.0)) / m
    return PairedChange(
        n=n,
        before=sum(before) / n,
        after=sum(after) / n,
        diff=(gained - lost) / n,
        lo=max(-1.0, d - Z95 * se),
        hi=min(1.0, d + Z95 * se),
        gained=gained,
        lost=lost,
        p=mcnemar_p(gained, lost),
    )


def skeleton(text: str) -> tuple[str, ...]:
    """Lower-cased tokens of `text` with every number replaced by `0`."""
    return tuple("0" if t[0].isdigit() else t for t in tokens(text))


def in_template(
    text: str, templates: Iterable[frozenset[tuple[str, ...]]], threshold: float = 0.5
) -> bool:
    """Whether `text`'s skeleton 3-grams are ≥ `threshold` Jaccard-similar to a template's."""
    grams = token_grams(skeleton(text))
    return bool(grams) and any(jaccard(grams, t) >= threshold for t in templates)


def templates_of(completions: Iterable[str]) -> list[frozenset[tuple[str, ...]]]:
    """The distinct skeleton 3-gram sets of the taught completions."""
    return list({token_grams(skeleton(c)) for c in completions} - {frozenset()})


def format_leak(
    outputs: Sequence[str], completions: Iterable[str], threshold: float = 0.5
) -> float:
    """Share of `outputs` written in the template of one of the taught `completions`."""
    if not outputs:
        return 0.0
    templates = templates_of(completions)
    return sum(in_template(o, templates, threshold) for o in outputs) / len(outputs)


class SeedInterval(TypedDict):
    seeds: int
    n: int
    diff: float
    lo: float
    hi: float


def seed_bootstrap(
    runs: Sequence[tuple[Sequence[int], Sequence[int]]],
    draws: int = 4000,
    seed: int = 0,
    level: float = 0.95,
) -> SeedInterval:
    """The mean paired change over runs (before, after per run) with an interval (95%
    by default; `level` 1 - 0.05/k for k comparisons, Bonferroni) that includes
    run-to-run variance: each draw resamples the runs, then the probe pairs within each
    drawn run (a two-level bootstrap), and takes the mean change over the pooled pairs.
    With one run it is the ordinary paired bootstrap."""
    runs = [(list(b), list(a)) for b, a in runs if len(b)]
    if not runs:
        raise ValueError("no paired items")
    for b, a in runs:
        if len(b) != len(a):
            raise ValueError(f"paired scores differ in length: {len(b)} vs {len(a)}")
    rng = random.Random(seed)
    deltas = [[x - y for y, x in zip(b, a, strict=True)] for b, a in runs]
    means = []
    for _ in range(draws):
        total = count = 0
        for _ in runs:
            d = deltas[rng.randrange(len(deltas))]
            total += sum(d[rng.randrange(len(d))] for _ in d)
            count += len(d)
        means.append(total / count)
    means.sort()
    pooled = [x for d in deltas for x in d]
    return SeedInterval(
        seeds=len(runs),
        n=len(pooled),
        diff=sum(pooled) / len(pooled),
        lo=means[int((1 - level) / 2 * draws)],
        hi=means[min(draws - 1, int((1 + level) / 2 * draws))],
    )
