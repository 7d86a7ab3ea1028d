"""The pedagogy benchmark's table, from per-run records alone (no run is trained here).

`ioa` is compared with each other strategy on the same seeds and probes; a difference
is bold only when its Bonferroni-corrected interval excludes 0; the tokens `ioa` needs
to reach `uniform+pick`'s final accuracy are read from the mean curve; the difference
from `uniform+pick` splits by module and round.
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


def test_where_the_difference_goes_by_module_and_round() -> None:
    p = pedagogy()
    records = []
    for seed, (lift, skill) in enumerate([(0.2, "a/m@1"), (0.4, "a/m@1"), (0.3, "a/m@2")]):
        ioa = record("ioa", seed, 0.5, [(0, 0.1), (1, 0.1 + lift), (2, 0.5)])
        ioa["p_t"] = {"a/m": 1.0, "a/n": 1.0}
        for i, r in enumerate(ioa["rounds"]):
            r["p_s"] = {"a/m": r["accuracy"] + 0.1 * i, "a/n": 0.1}
        ioa["gates"] = [{"round": 1, "skills": [{"skill": skill}]}, {"round": 2, "skills": []}]
        pick = record(p.PICK, seed, 0.5, [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.4)])
        for r in pick["rounds"]:
            r["p_s"] = {"a/m": r["accuracy"], "a/n": 0.2}
        records += [ioa, pick, record("uniform", seed, 0.1, [(0, 0.1)])]
    records.append(record("ioa", 3, 0.5, [(0, 0.1), (1, 0.9)]))  # no uniform+pick seed 3
    where = p.where_it_goes(records)
    assert where["seeds"] == [0, 1, 2] and where["rounds"] == [1, 2]  # up to the shortest
    (m1, sd1), (m2, sd2) = where["all"]
    assert abs(m1 - 0.2) < 1e-9 and abs(sd1 - 0.1) < 1e-9  # lifts .1, .3, .2 over .2
    assert abs(m2 - 0.1) < 1e-9 and sd2 == 0
    assert [round(d[0], 9) for d in where["modules"]["a/m"]] == [0.3, 0.3]
    assert [round(d[0], 9) for d in where["modules"]["a/n"]] == [-0.1, -0.1]
    assert where["taught"] == [{"a/m@1": 2, "a/m@2": 1}, {}]
    table = p.where_table(where).splitlines()
    assert table[0] == "| ioa minus uniform+pick (3 seeds) | round 1 | round 2 |"
    assert table[2] == ("| ioa taught | m@1 (2 of 3 seeds), m@2 (1 of 3 seeds) | nothing judged |")
    assert table[3] == "| all modules | +0.200 ± 0.100 | +0.100 ± 0.000 |"
    assert table[5] == "| a/n | -0.10 ± 0.00 | -0.10 ± 0.00 |"
    assert p.where_it_goes([records[0]])["seeds"] == []
