"""The demo over several seeds: what the README's demo figures come from.

Runs the built-in demo (`ioa_agent/defaults/demo.yaml`) once per seed (a finished run
is reused, an unfinished one resumed), then compares every module's final accuracy
with the untrained student's on the same probes, pooled over the seeds' probes: the
paired change with its 95% interval and McNemar p (`pedagogy.measures`), the spread of
the per-seed changes, which modules each run taught, the stages the gate passed by
mastery, the format leak on untaught modules, and wall time. One seed on one machine
is not a result; a rerun elsewhere should land within the intervals, not on the digits.

    .venv/bin/python benchmarks/demo_seeds.py                  # seeds 0 1 2 (~13 min each here)
    .venv/bin/python benchmarks/demo_seeds.py --seeds 0        # one seed

Writes docs/results/demo.json (with the README's table) unless --results says otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ioa_agent.config import load_config  # noqa: E402
from ioa_agent.pedagogy.measures import paired_change  # noqa: E402
from ioa_agent.results import markdown_table, write_results  # noqa: E402


def scores(run: Any, rnd: int) -> dict[str, int]:
    return {r["item_id"]: int(r["correct"]) for r in run.store.assessment(rnd)}


def _ci(c: dict[str, Any]) -> str:
    return f"{c['diff']:+.2f} [{c['lo']:+.2f}, {c['hi']:+.2f}]"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--runs", type=Path, default=ROOT / "checkpoints" / "demo-seeds")
    p.add_argument("--results", type=Path, default=ROOT / "docs" / "results" / "demo.json")
    args = p.parse_args()

    from ioa_agent.run import open_run
    from ioa_agent.runner import run_to_end

    args.runs.mkdir(parents=True, exist_ok=True)
    per_seed: list[dict[str, Any]] = []
    pooled: dict[str, tuple[list[int], list[int]]] = {}
    where_taught: dict[str, tuple[list[int], list[int]]] = {}  # only runs that taught it
    overall: tuple[list[int], list[int]] = ([], [])
    for seed in args.seeds:
        config = load_config().model_copy(update={"seed": seed})
        wall = run_to_end(config, args.runs, f"demo-s{seed}")
        run = open_run(args.runs / f"demo-s{seed}")
        last = run.store.assessed_rounds()[-1]
        before, after = scores(run, 0), scores(run, last)
        probes = run.store.items("probe")
        for probe in probes:
            b, a = pooled.setdefault(probe.module, ([], []))
            b.append(before[probe.id])
            a.append(after[probe.id])
            overall[0].append(before[probe.id])
            overall[1].append(after[probe.id])
        gates = [e["payload"] for e in run.store.events("gate")]
        taught = sorted({m for g in gates for m in g["modules"]})
        changes = {m: paired_change(*pooled_of(probes, m, before, after)) for m in taught}
        for m in taught:
            b, a = where_taught.setdefault(m, ([], []))
            more_b, more_a = pooled_of(probes, m, before, after)
            b.extend(more_b)
            a.extend(more_a)
        per_seed.append(
            {
                "seed": seed,
                "run": run.id,
                "wall_seconds": round(wall, 1),
                "rounds": last,
                "taught": taught,
                "stages_mastered": sum(1 for g in gates if g["mastered"]),
                "gates": [
                    {k: g[k] for k in ("round", "modules", "mastered", "decision", "levels")}
                    for g in gates
                ],
                "overall": paired_change(
                    [before[p.id] for p in probes], [after[p.id] for p in probes]
                ),
                "modules": {
                    m: paired_change(*pooled_of(probes, m, before, after))
                    for m in sorted({p.module for p in probes})
                },
                "taught_changes": changes,
                "leak": gates[-1].get("leak", {}),
            }
        )
        print(f"seed {seed}: {wall / 60:.1f} min, taught {', '.join(taught)}", flush=True)

    taught_any = sorted({m for s in per_seed for m in s["taught"]})
    rows = []
    for m in sorted(pooled):
        c = paired_change(*pooled[m])
        seeds = [s["modules"][m]["diff"] for s in per_seed]
        spread = statistics.stdev(seeds) if len(seeds) > 1 else 0.0
        n_taught = sum(m in s["taught"] for s in per_seed)
        taught_ci = _ci(paired_change(*where_taught[m])) if m in where_taught else ""
        rows.append(
            [
                m,
                f"{n_taught}/{len(per_seed)}",
                f"{c['before']:.2f}",
                f"{c['after']:.2f}",
                _ci(c),
                f"{c['p']:.3g}",
                f"{statistics.mean(seeds):+.2f} ± {spread:.2f}",
                taught_ci,
            ]
        )
    total = paired_change(*overall)
    rows.append(
        [
            "**overall**",
            "",
            f"{total['before']:.2f}",
            f"{total['after']:.2f}",
            _ci(total),
            f"{total['p']:.3g}",
            "",
            "",
        ]
    )
    header = [
        "module",
        "taught (runs)",
        "untrained",
        "after",
        "change [95% CI], pooled",
        "McNemar p",
        "per-seed change, mean ± sd",
        "change in the runs that taught it",
    ]
    table = markdown_table(header, rows)
    walls = [s["wall_seconds"] for s in per_seed]
    figures = {
        "seeds": args.seeds,
        "per_seed": per_seed,
        "pooled": {m: paired_change(*pooled[m]) for m in sorted(pooled)},
        "where_taught": {m: paired_change(*where_taught[m]) for m in sorted(where_taught)},
        "overall": total,
        "taught_any": taught_any,
        "wall_seconds": {
            "mean": statistics.mean(walls),
            "max": max(walls),
            "each": walls,
        },
        "stages_mastered": [s["stages_mastered"] for s in per_seed],
    }
    config = load_config().model_dump(mode="json")
    write_results(args.results, config=config, seed=None, figures=figures, readme_table=table)
    print(table)
    print(f"wall time per run: {', '.join(f'{w / 60:.1f}' for w in walls)} min")
    print(f"wrote {args.results}")
    return 0


def pooled_of(
    probes: list[Any], module: str, before: dict[str, int], after: dict[str, int]
) -> tuple[list[int], list[int]]:
    ids = [p.id for p in probes if p.module == module]
    return [before[i] for i in ids], [after[i] for i in ids]


if __name__ == "__main__":
    raise SystemExit(main())
