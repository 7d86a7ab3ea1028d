"""The pedagogy benchmark's table, from per-run records alone (no run is trained here).

`ioa` is compared with each other strategy on the same seeds and probes; a difference
is bold only when its Bonferroni-corrected interval excludes 0; the tokens `ioa` needs
to reach `uniform+pick`'s final accuracy are read from the mean curve.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from conftest import benchmark

ROOT = Path(__file__).resolve().parents[1]


def pedagogy() -> Any:
    return benchmark("pedagogy_table")


def record(strategy: str, seed: int, right: float, curve: list[tuple[int, float]]) -> dict:
    rng = random.Random(f"{strategy}-{seed}")
    final = {f"p{i}": int(rng.random() < right) for i in range(200)}
    return {
        "strategy": strategy,
        "seed": seed,
        "wall_seconds": 60.0,
        "train_steps": 48,
        "p_t": {"m": 1.0},
        "rounds": [
            {"round": i, "teacher_tokens": t, "accuracy": a, "p_s": {"m": a}}
            for i, (t, a) in enumerate(curve)
        ],
        "untrained": {k: 0 for k in final},
        "final": final,
        "rule_pick": "direct" if strategy == "ioa" else None,
    }


def test_ioa_against_each_strategy_bold_only_when_the_corrected_interval_excludes_0() -> None:
    p = pedagogy()
    records = []
    for seed in range(3):
        records.append(record("ioa", seed, 0.8, [(1000, 0.1), (50_000, 0.6), (100_000, 0.8)]))
        records.append(record("uniform", seed, 0.3, [(1000, 0.1), (100_000, 0.3)]))
        records.append(record("uniform+pick", seed, 0.78, [(1000, 0.1), (100_000, 0.78)]))
    summary = p.summarise(records)
    assert summary["comparisons"] == 2
    far, near = summary["versus_ioa"]["uniform"], summary["versus_ioa"][p.PICK]
    assert far["corrected"]["lo"] > 0.3 and near["corrected"]["lo"] < 0 < near["corrected"]["hi"]
    assert far["corrected"]["lo"] < far["at_95"]["lo"]  # the correction widens
    table = p.strategy_table(summary)
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()[2:]}
    assert "**+0." in rows["uniform"] and "**" not in rows[p.PICK]
    assert "Bonferroni, 2 comparisons" in table.splitlines()[0]
    # ioa's mean curve crosses uniform+pick's final accuracy between its 2nd and 3rd points
    reach = summary["ioa_to_pick"]
    target = reach["target_accuracy"]
    assert 0.75 < target < 0.81
    expected = 50_000 + 50_000 * (target - 0.6) / 0.2
    assert (
        abs(reach["ioa_tokens"] - expected) < 1 and abs(reach["share"] - expected / 100_000) < 1e-9
    )
