"""The demo over several seeds: what the README's demo figures come from.

Runs the built-in demo (`ioa_agent/defaults/demo.yaml`) once per seed (a finished run
is reused, an unfinished one resumed), then reads each run's store:

- the stages, with the gate's decision on each skill and the probes it counted, and
  how often the route "mastered → next stage" ran;
- each taught skill's change on its own 16 probes, untrained → final, and each
  module's change, labelled per run: taught (a stage taught one of its skills),
  replayed (it got replay or self-replay rows: their count) or untouched;
- the probe overlap: training items whose content (operation and operands) equals a
  probe's, counted directly, and what the filter dropped;
- two answers per taught skill, before and after, as the student wrote them.

Changes pooled over seeds carry a 95% interval from a two-level bootstrap (seeds,
then probes: `pedagogy.measures.seed_bootstrap`), which includes run-to-run variance;
the within-run McNemar p stays a within-run figure, per seed.

    .venv/bin/python benchmarks/demo_seeds.py                  # seeds 0 1 2
    .venv/bin/python benchmarks/demo_seeds.py --seeds 0        # one seed

Writes docs/results/demo.json (modules) and docs/results/demo_skills.json (skills and
gates), each with its table, unless --results says where.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ioa_agent.config import load_config  # noqa: E402
from ioa_agent.pedagogy.measures import paired_change, seed_bootstrap  # noqa: E402
from ioa_agent.pedagogy.skills import skill_id  # noqa: E402
from ioa_agent.results import markdown_table, write_results  # noqa: E402


def _ci(c: dict[str, Any]) -> str:
    return f"{c['diff']:+.2f} [{c['lo']:+.2f}, {c['hi']:+.2f}]"


def read_run(run: Any, wall: float) -> dict[str, Any]:
    """One finished demo run's figures, read from its store."""
    rounds = run.store.assessed_rounds()
    last = rounds[-1]
    rows = {r: {x["item_id"]: x for x in run.store.assessment(r)} for r in (0, last)}
    probes = run.store.items("probe")
    gates = [e["payload"] for e in run.store.events("gate")]
    data = [e["payload"] for e in run.store.events("data")]
    taught_skills = sorted({s for g in gates for s in g["skills"]})
    taught = sorted({s.rsplit("@", 1)[0] for s in taught_skills})
    replayed = Counter()
    for d in data:
        replayed.update(d.get("self_replay_modules", {}))
        replayed.update(d.get("replay_modules", {}))
    modules = sorted({p.module for p in probes})
    labels = {
        m: "taught" if m in taught else ("replayed" if replayed.get(m) else "untouched")
        for m in modules
    }

    def pairs(keep: Any) -> tuple[list[int], list[int]]:
        ids = [p.id for p in probes if keep(p)]
        return [rows[0][i]["correct"] for i in ids], [rows[last][i]["correct"] for i in ids]

    skills: dict[str, Any] = {}
    for s in taught_skills:
        mine = [p for p in probes if skill_id(p.module, p.level) == s]
        examples = [
            {
                "prompt": p.prompt,
                "gold": p.answer,
                "untrained": rows[0][p.id]["output"],
                "after": rows[last][p.id]["output"],
            }
            for p in mine[:2]
        ]
        skills[s] = {
            "pairs": pairs(lambda p, s=s: skill_id(p.module, p.level) == s),
            "passed": any(r["skill"] == s and r["passed"] for g in gates for r in g["gate"]),
            "examples": examples,
        }
    keys = {run.scorer.content_key(p.prompt) for p in probes}
    trained = run.store.items("train")
    overlap = sum(run.scorer.content_key(t.prompt) in keys for t in trained)
    dropped = Counter()
    for d in data:
        dropped.update(d.get("probe_filter", {}))
    return {
        "run": run.id,
        "wall_seconds": round(wall, 1),
        "rounds": last,
        "stages": [
            {
                "round": g["round"],
                "skills": g["skills"],
                "mastered": g["mastered"],
                "decision": g["decision"],
                "gate": [
                    {k: r[k] for k in ("skill", "n", "correct", "ratio", "passed", "probes")}
                    for r in g["gate"]
                ],
                "forgotten": g.get("forgotten", []),
            }
            for g in gates
        ],
        "stages_passed": sum(g["mastered"] for g in gates),
        "mastered_next_stage": sum(g["mastered"] and g["decision"] == "organize" for g in gates),
        "labels": labels,
        "replayed_rows": dict(replayed),
        "skills": skills,
        "modules": {m: pairs(lambda p, m=m: p.module == m) for m in modules},
        "overall": pairs(lambda p: True),
        "probe_overlap": overlap,
        "trained_items": len(trained),
        "filter_dropped": dict(dropped),
    }


def skills_table(per_seed: list[dict[str, Any]]) -> tuple[list[list[str]], dict[str, Any]]:
    rows, figures = [], {}
    for s in sorted({s for r in per_seed for s in r["skills"]}):
        runs = [r["skills"][s] for r in per_seed if s in r["skills"]]
        c = seed_bootstrap([x["pairs"] for x in runs])
        before = statistics.mean(sum(x["pairs"][0]) / len(x["pairs"][0]) for x in runs)
        after = statistics.mean(sum(x["pairs"][1]) / len(x["pairs"][1]) for x in runs)
        passed = sum(x["passed"] for x in runs)
        figures[s] = {**c, "runs": len(runs), "passed": passed, "before": before, "after": after}
        rows.append(
            [
                s,
                f"{len(runs)}/{len(per_seed)}",
                f"{before:.2f}",
                f"{after:.2f}",
                _ci(c),
                str(passed),
            ]
        )
    return rows, figures


def modules_table(per_seed: list[dict[str, Any]]) -> tuple[list[list[str]], dict[str, Any]]:
    rows, figures = [], {}
    for m in sorted(per_seed[0]["modules"]):
        every = seed_bootstrap([r["modules"][m] for r in per_seed])
        labels = Counter(r["labels"][m] for r in per_seed)
        quiet = [r["modules"][m] for r in per_seed if r["labels"][m] == "untouched"]
        untouched = seed_bootstrap(quiet) if quiet else None
        rows_ = [r["replayed_rows"].get(m, 0) for r in per_seed]
        figures[m] = {"all": every, "untouched": untouched, "labels": dict(labels)}
        b = statistics.mean(sum(r["modules"][m][0]) / len(r["modules"][m][0]) for r in per_seed)
        a = statistics.mean(sum(r["modules"][m][1]) / len(r["modules"][m][1]) for r in per_seed)
        rows.append(
            [
                m,
                f"{labels['taught']}/{labels['replayed']}/{labels['untouched']}",
                "/".join(str(x) for x in rows_),
                f"{b:.2f}",
                f"{a:.2f}",
                _ci(every),
                _ci(untouched) if untouched else "",
            ]
        )
    total = seed_bootstrap([r["overall"] for r in per_seed])
    figures["overall"] = total
    rows.append(["**overall**", "", "", "", "", _ci(total), ""])
    return rows, figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--runs", type=Path, default=ROOT / "checkpoints" / "demo-seeds")
    p.add_argument("--results", type=Path, default=ROOT / "docs" / "results")
    args = p.parse_args()

    from ioa_agent.run import open_run
    from ioa_agent.runner import run_to_end

    args.runs.mkdir(parents=True, exist_ok=True)
    per_seed: list[dict[str, Any]] = []
    for seed in args.seeds:
        config = load_config().model_copy(update={"seed": seed})
        wall = run_to_end(config, args.runs, f"demo-s{seed}")
        figures = read_run(open_run(args.runs / f"demo-s{seed}"), wall)
        within = {m: paired_change(*pr) for m, pr in figures["modules"].items()}
        per_seed.append({"seed": seed, **figures, "within_run": within})
        print(
            f"seed {seed}: {wall / 60:.1f} min, stages passed {figures['stages_passed']}, "
            f"taught {', '.join(figures['skills'])}, probe overlap {figures['probe_overlap']}",
            flush=True,
        )

    skill_rows, skill_figures = skills_table(per_seed)
    module_rows, module_figures = modules_table(per_seed)
    walls = [s["wall_seconds"] for s in per_seed]
    common = {
        "seeds": args.seeds,
        "wall_seconds": {"mean": statistics.mean(walls), "max": max(walls), "each": walls},
        "stages_passed": [s["stages_passed"] for s in per_seed],
        "mastered_next_stage": [s["mastered_next_stage"] for s in per_seed],
        "probe_overlap": [s["probe_overlap"] for s in per_seed],
    }
    config = load_config().model_dump(mode="json")
    skill_header = ["skill", "taught (runs)", "untrained", "after", "change [95% CI]", "passed"]
    skill_table = markdown_table(skill_header, skill_rows)
    write_results(
        args.results / "demo_skills.json",
        config=config,
        seed=None,
        figures={**common, "skills": skill_figures, "per_seed": per_seed},
        readme_table=skill_table,
    )
    module_header = [
        "module",
        "taught/replayed/untouched (runs)",
        "replay rows per run",
        "untrained",
        "after",
        "change [95% CI]",
        "change where untouched",
    ]
    module_table = markdown_table(module_header, module_rows)
    write_results(
        args.results / "demo.json",
        config=config,
        seed=None,
        figures={**common, "modules": module_figures},
        readme_table=module_table,
    )
    print(skill_table)
    print(module_table)
    print(f"wall time per run: {', '.join(f'{w / 60:.1f}' for w in walls)} min")
    print(f"wrote {args.results}/demo.json and demo_skills.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
