"""Knowledge Identifier maths: gaps, prerequisite graph, severity and targets.

Given the teacher's and the student's probe scores per module (and the student's
scores at earlier checkpoints), this module computes

- the gap Δ(k) = (P_T(k) − P_S(k)) / P_T(k) and the deficient modules (Δ > τ_gap);
- the prerequisite graph from the assessment history (Eq. 3), with the teacher's
  proposed prerequisites as the prior, made acyclic by dropping weakest edges;
- the severity α·Δ(k) + (1−α)·mean Dep over the module's neighbours;
- the targets: the most severe deficient modules and their unmastered ancestors.

Edges are `(i, j)` tuples meaning "i is a prerequisite of j"; their values are Dep
weights. Everything is deterministic (ties are broken by id). This module does not
score items, call the teacher, or decide what to do with the diagnosis.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import networkx as nx

Edge = tuple[str, str]
Edges = dict[Edge, float]


def gap(p_t: float, p_s: float) -> float:
    """Relative gap Δ = (P_T − P_S) / P_T.

    When the teacher scores 0 on a module there is nothing it can teach there, so the
    gap is 0.0 (never deficient). A student above the teacher gets a negative gap.
    """
    if p_t <= 0:
        return 0.0
    return (p_t - p_s) / p_t


def ratio(p_s: float, p_t: float) -> float:
    """Mastery ratio P_S / P_T, 0.0 when the teacher scores 0."""
    if p_t <= 0:
        return 0.0
    return p_s / p_t


def ratios(
    p_s: Mapping[str, float], p_t: Mapping[str, float], modules: Iterable[str]
) -> dict[str, float]:
    """P_S/P_T for each of `modules` (a missing score counts as 0)."""
    return {k: ratio(p_s.get(k, 0.0), p_t.get(k, 0.0)) for k in modules}


def deficient(gaps: Mapping[str, float], tau_gap: float = 0.3) -> list[str]:
    """Modules whose gap exceeds τ_gap, sorted by id."""
    return sorted(k for k, d in gaps.items() if d > tau_gap)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def estimate_dependencies(
    modules: Sequence[str],
    prior: Iterable[Edge],
    history: Sequence[Mapping[str, float]],
    p_t: Mapping[str, float],
    tau_high: float = 0.9,
    tau_low: float = 0.7,
    tau_dep: float = 0.3,
    eps: float = 1e-6,
    min_checkpoints: int = 2,
) -> Edges:
    """Prerequisite edges with their Dep weights (Eq. 3).

    `history` holds one `{module: P_S}` dict per student checkpoint. For each ordered
    pair i ≠ j, with r_i = P_S(i) / P_T(i) at each checkpoint:

        Dep(i→j) = (mean_high − mean_low) / (mean_high + eps)

    where mean_high is the mean P_S(j) over checkpoints with r_i ≥ τ_high and mean_low
    the mean over checkpoints with r_i < τ_low. The edge is kept when Dep > τ_dep.
    When either group is empty the estimate is undefined and the prior decides for
    that pair: weight 1.0 if the pair is a declared prerequisite, else no edge.
    With fewer than `min_checkpoints` checkpoints the prior alone is returned, each
    edge with weight 1.0. A checkpoint missing i or j is skipped for that pair.
    Prior edges naming unknown modules, or a module twice, are ignored.
    """
    known = set(modules)
    prior_set = {(i, j) for i, j in prior if i != j and i in known and j in known}
    if len(history) < min_checkpoints:
        return {edge: 1.0 for edge in sorted(prior_set)}

    edges: Edges = {}
    ordered = sorted(known)
    for i in ordered:
        for j in ordered:
            if i == j:
                continue
            high: list[float] = []
            low: list[float] = []
            for scores in history:
                if i not in scores or j not in scores:
                    continue
                r_i = ratio(scores[i], p_t.get(i, 0.0))
                if r_i >= tau_high:
                    high.append(scores[j])
                elif r_i < tau_low:
                    low.append(scores[j])
            if high and low:
                mean_high = _mean(high)
                dep = (mean_high - _mean(low)) / (mean_high + eps)
                if dep > tau_dep:
                    edges[(i, j)] = dep
            elif (i, j) in prior_set:
                edges[(i, j)] = 1.0
    return edges


def enforce_dag(edges: Mapping[Edge, float]) -> Edges:
    """A copy of `edges` with cycles broken at their weakest edge.

    While a cycle exists, its lowest-weight edge is removed; among equal weights the
    lexicographically largest edge goes. Self-loops are cycles of one edge.
    """
    kept: Edges = dict(edges)
    graph = nx.DiGraph()
    graph.add_edges_from(sorted(kept))
    while True:
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return {edge: kept[edge] for edge in sorted(kept)}
        cycle_edges = [(u, v) for u, v in cycle]
        weakest = min(kept[e] for e in cycle_edges)
        victim = max(e for e in cycle_edges if kept[e] == weakest)
        graph.remove_edge(*victim)
        del kept[victim]


def severity(
    modules: Sequence[str],
    gaps: Mapping[str, float],
    edges: Mapping[Edge, float],
    alpha: float = 0.7,
) -> dict[str, float]:
    """Severity α·Δ(k) + (1−α)·mean_{k'∈N(k)} Dep(k→k') for each module.

    N(k) is the union of k's prerequisites and dependents under `edges`; Dep(k→k') is
    `edges.get((k, k'), 0.0)`, so only outgoing edges add weight, while every
    neighbour counts in the mean. With no neighbours the second term is 0. A module
    without a gap entry has Δ = 0.
    """
    neighbours: dict[str, set[str]] = {k: set() for k in modules}
    for i, j in edges:
        if i in neighbours:
            neighbours[i].add(j)
        if j in neighbours:
            neighbours[j].add(i)
    out: dict[str, float] = {}
    for k in modules:
        near = neighbours[k]
        dep = sum(edges.get((k, n), 0.0) for n in near) / len(near) if near else 0.0
        out[k] = alpha * gaps.get(k, 0.0) + (1 - alpha) * dep
    return out


def select_targets(
    deficient: Sequence[str],
    severity: Mapping[str, float],
    edges: Mapping[Edge, float],
    ratios: Mapping[str, float],
    tau_mastery: float = 0.9,
    fraction: float = 0.25,
) -> list[str]:
    """The modules to teach this cycle, sorted by id.

    The top ceil(fraction·|deficient|) deficient modules by severity (at least one;
    ties by id), plus every ancestor of those in the prerequisite graph (transitively)
    that is unmastered, i.e. has ratio < τ_mastery (a missing ratio counts as 0).
    An empty deficient set gives no targets.
    """
    if not deficient:
        return []
    count = max(1, math.ceil(fraction * len(deficient)))
    ranked = sorted(set(deficient), key=lambda k: (-severity.get(k, 0.0), k))
    chosen = set(ranked[:count])
    graph = nx.DiGraph()
    graph.add_edges_from(edges)
    targets = set(chosen)
    for k in chosen:
        if k in graph:
            targets.update(a for a in nx.ancestors(graph, k) if ratios.get(a, 0.0) < tau_mastery)
    return sorted(targets)


def edges_to_list(edges: Mapping[Edge, float]) -> list[list[Any]]:
    """Edges as JSON-plain `[i, j, w]` rows, sorted by (i, j)."""
    return [[i, j, w] for (i, j), w in sorted(edges.items())]


def edges_from_list(rows: Iterable[Sequence[Any]]) -> Edges:
    """The inverse of `edges_to_list`."""
    return {(str(i), str(j)): float(w) for i, j, w in rows}


@dataclass(frozen=True)
class Diagnosis:
    """The Identifier's output; every field is JSON-plain.

    `edges` is a list of `[i, j, w]` rows (i is a prerequisite of j, weight w).
    """

    gaps: dict[str, float]
    ratios: dict[str, float]
    deficient: list[str]
    edges: list[list[Any]]
    severity: dict[str, float]
    targets: list[str]

    def as_dict(self) -> dict[str, Any]:
        """A plain dict copy, for graph state or the run store."""
        return asdict(self)


def diagnose(
    modules: Sequence[str],
    prior: Iterable[Edge],
    p_t: Mapping[str, float],
    p_s: Mapping[str, float],
    history: Sequence[Mapping[str, float]],
    *,
    tau_gap: float = 0.3,
    tau_high: float = 0.9,
    tau_low: float = 0.7,
    tau_dep: float = 0.3,
    eps: float = 1e-6,
    min_checkpoints: int = 2,
    alpha: float = 0.7,
    tau_mastery: float = 0.9,
    fraction: float = 0.25,
) -> Diagnosis:
    """Gaps, deficient modules, the prerequisite DAG, severity and targets.

    `p_s` is the student's current score per module; `history` is every checkpoint's
    scores used for Eq. 3 and should already include the current one (it is not
    appended here). A module missing from `p_t` or `p_s` scores 0.
    """
    mods = sorted(set(modules))
    gaps = {k: gap(p_t.get(k, 0.0), p_s.get(k, 0.0)) for k in mods}
    mastery = ratios(p_s, p_t, mods)
    short = deficient(gaps, tau_gap)
    raw = estimate_dependencies(
        mods,
        prior,
        history,
        p_t,
        tau_high=tau_high,
        tau_low=tau_low,
        tau_dep=tau_dep,
        eps=eps,
        min_checkpoints=min_checkpoints,
    )
    edges = enforce_dag(raw)
    sev = severity(mods, gaps, edges, alpha)
    targets = select_targets(short, sev, edges, mastery, tau_mastery, fraction)
    return Diagnosis(
        gaps=gaps,
        ratios=mastery,
        deficient=short,
        edges=edges_to_list(edges),
        severity=sev,
        targets=targets,
    )
