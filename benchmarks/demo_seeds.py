"""The demo over several seeds: what the README's demo figures come from.

Runs the built-in demo (`ioa_agent/defaults/demo.yaml`) once per seed (a finished run
is reused, an unfinished one resumed), then reads each run's store:

- the stages, with the gate's decision on each skill and the probes it counted, and
  how often the route "mastered → next stage" ran;
- each taught skill's change on its own 16 probes, untrained → final, and each
  module's change, labelled per run: taught (a stage taught one of its skills),
  replayed (it got replay or self-replay rows: their count) or untouched;
- the probe overlap: training items whose content (operation and operands) equals a
  probe's, or whose text works out a probe's operation on the way, counted directly,
  and what the filter dropped;
- per round, the items kept and rejected (by reason), and the longest candidate
  completion when it would not fit the assessment's answer cap;
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

from ioa_agent.config_file import load_config  # noqa: E402
from ioa_agent.organizer.skills import skill_id  # noqa: E402
from ioa_agent.pedagogy.measures import paired_change, seed_bootstrap  # noqa: E402
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
    overlap = sum(
        run.scorer.content_key(t.prompt) in keys
        or bool(run.scorer.stated_keys(f"{t.prompt}\n{t.completion()}") & keys)
        for t in trained
    )
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
        "data": [
            {k: d.get(k) for k in ("round", "kept", "rejected", "self_replay", "replay")}
            for d in data
        ],
        "answer_room": next((e["payload"] for e in run.store.events("answer_room")), None),
    }


SKILL_HEADER = ["skill", "taught (runs)", "untrained", "after", "change [95% CI]", "passed"]
MODULE_HEADER = [
    "module",
    "taught/replayed/untouched (runs)",
    "replay rows per run",
    "untrained",
    "after",
    "change [95% CI]",
    "change where untouched",
]


def _mean_rate(pairs: list[Any], side: int) -> float:
    return statistics.mean(sum(p[side]) / len(p[side]) for p in pairs)


def skill_figures(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Per taught skill over the seeds: change with a seed-aware interval, before,
    after, the runs that taught it and how many passed its gate."""
    out = {}
    for s in sorted({s for r in per_seed for s in r["skills"]}):
        runs = [r["skills"][s] for r in per_seed if s in r["skills"]]
        pairs = [x["pairs"] for x in runs]
        out[s] = {
            **seed_bootstrap(pairs),
            "runs": len(runs),
            "passed": sum(x["passed"] for x in runs),
            "before": _mean_rate(pairs, 0),
            "after": _mean_rate(pairs, 1),
        }
    return out


def skills_table(figures: dict[str, Any]) -> str:
    """demo_skills.json's table, from its figures."""
    seeds = len(figures["seeds"])
    rows = [
        [s, f"{f['runs']}/{seeds}", f"{f['before']:.2f}", f"{f['after']:.2f}", _ci(f)]
        + [str(f["passed"])]
        for s, f in figures["skills"].items()
    ]
    return markdown_table(SKILL_HEADER, rows)


def module_figures(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Per module over the seeds: its labels, replay rows per run, before, after and
    change (all runs, and the runs where it was untouched); and the overall change."""
    out: dict[str, Any] = {}
    for m in sorted(per_seed[0]["modules"]):
        pairs = [r["modules"][m] for r in per_seed]
        quiet = [r["modules"][m] for r in per_seed if r["labels"][m] == "untouched"]
        out[m] = {
            "all": seed_bootstrap(pairs),
            "untouched": seed_bootstrap(quiet) if quiet else None,
            "labels": dict(Counter(r["labels"][m] for r in per_seed)),
            "replay_rows": [r["replayed_rows"].get(m, 0) for r in per_seed],
            "before": _mean_rate(pairs, 0),
            "after": _mean_rate(pairs, 1),
        }
    out["overall"] = seed_bootstrap([r["overall"] for r in per_seed])
    return out


def modules_table(figures: dict[str, Any]) -> str:
    """demo.json's table, from its figures."""
    rows = []
    for m, f in figures["modules"].items():
        if m == "overall":
            continue
        labels = Counter(f["labels"])
        rows.append(
            [
                m,
                f"{labels['taught']}/{labels['replayed']}/{labels['untouched']}",
                "/".join(str(x) for x in f["replay_rows"]),
                f"{f['before']:.2f}",
                f"{f['after']:.2f}",
                _ci(f["all"]),
                _ci(f["untouched"]) if f["untouched"] else "",
            ]
        )
    rows.append(["**overall**", "", "", "", "", _ci(figures["modules"]["overall"]), ""])
    return markdown_table(MODULE_HEADER, rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--runs", type=Path, default=ROOT / "checkpoints" / "demo-seeds")
    p.add_argument("--results", type=Path, default=ROOT / "docs" / "results")
    p.add_argument("--config", type=Path, help="another run config (default: the demo's)")
    args = p.parse_args()

    from ioa_agent.drive import run_to_end
    from ioa_agent.run import open_run

    args.runs.mkdir(parents=True, exist_ok=True)
    per_seed: list[dict[str, Any]] = []
    for seed in args.seeds:
        config = load_config(args.config).model_copy(update={"seed": seed})
        wall = run_to_end(config, args.runs, f"demo-s{seed}")
        with open_run(args.runs / f"demo-s{seed}") as run:
            figures = read_run(run, wall)
        within = {m: paired_change(*pr) for m, pr in figures["modules"].items()}
        per_seed.append({"seed": seed, **figures, "within_run": within})
        print(
            f"seed {seed}: {wall / 60:.1f} min, stages passed {figures['stages_passed']}, "
            f"taught {', '.join(figures['skills'])}, probe overlap {figures['probe_overlap']}",
            flush=True,
        )

    walls = [s["wall_seconds"] for s in per_seed]
    common = {
        "seeds": args.seeds,
        "wall_seconds": {"mean": statistics.mean(walls), "max": max(walls), "each": walls},
        "stages_passed": [s["stages_passed"] for s in per_seed],
        "mastered_next_stage": [s["mastered_next_stage"] for s in per_seed],
        "probe_overlap": [s["probe_overlap"] for s in per_seed],
    }
    config = load_config(args.config).model_dump(mode="json")
    skills = {**common, "skills": skill_figures(per_seed), "per_seed": per_seed}
    write_results(
        args.results / "demo_skills.json",
        config=config,
        seed=None,
        figures=skills,
        table=skills_table,
    )
    modules = {**common, "modules": module_figures(per_seed)}
    write_results(
        args.results / "demo.json", config=config, seed=None, figures=modules, table=modules_table
    )
    print(skills_table(skills))
    print(modules_table(modules))
    print(f"wall time per run: {', '.join(f'{w / 60:.1f}' for w in walls)} min")
    print(f"wrote {args.results}/demo.json and demo_skills.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
