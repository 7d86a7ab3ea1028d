"""Does the pedagogy pay? Every strategy at the same teacher-token budget.

Runs `ioa`, the baselines `uniform` (self-instruct style) and `targeted` (LLM2LLM
style), the ablations `no_identifier`, `no_organizer`, `no_adapter`, and
`uniform+pick` (below) on the built-in arithmetic domain, each with several seeds, the
same teacher-token budget, the same rounds and the same training steps per round.

Each finished run writes its own results file (`--results-dir`, default
docs/results/pedagogy/<strategy>-s<seed>.json): its per-round accuracy and teacher
tokens, and its per-probe scores untrained and at the end. The table is built from
those files alone, so the experiment can be completed over several sittings:
`--resume` skips every run whose file exists (its run folder is not needed again).
It writes:

    docs/results/pedagogy.json    the table's figures and the table, from the run files
    docs/results/pedagogy_by_module.json
                                  ioa minus uniform+pick per module and round, and
                                  what ioa taught each round (beside --results)
    <out>/pedagogy.md             the tables and final accuracy per module
    <out>/pedagogy.png            student accuracy against teacher tokens spent
    <out>/runs/                   the runs (default out: checkpoints/pedagogy, untracked)

The table compares `ioa` with every other strategy on the same probes and seeds: the
difference in final accuracy with a seed-aware interval (runs resampled, then probes:
`measures.seed_bootstrap`), at 95% and Bonferroni-corrected for the number of
comparisons; only a difference whose corrected interval excludes 0 is bold. It also
gives the teacher tokens `ioa`'s mean curve needs to reach `uniform+pick`'s final
accuracy, as a share of what `uniform+pick` spent.

    .venv/bin/python benchmarks/pedagogy.py --tiny --results-dir /tmp/p  # smoke run
    .venv/bin/python benchmarks/pedagogy.py --resume     # SmolLM2 student (see --estimate)
    .venv/bin/python benchmarks/pedagogy.py --estimate   # only print the time estimate

`uniform+pick` is `uniform` trained on the rendering the Adapter's rule picked most
often in the same seed's `ioa` run (adapter.rendering fixed to it): the difference
between it and `uniform` is the Adapter's rendering alone, and between `ioa` and it the
Identifier's and the Organizer's share.

--tiny uses a random-weight few-layer student: its numbers show the machinery, not
the method. The SmolLM2 run uses the demo's sizes (ioa_agent/defaults/demo.yaml)
except for the budget, rounds, steps and probes below, and the Organizer's stages
(`WHOLE_LAYERS`) (--estimate prints the time they
take here); on a GPU raise --rounds and --steps. Every strategy scores every probe every
round (`assess.scope: all`), so each has a learning curve.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pedagogy_table import (  # noqa: E402
    PICK,
    markdown,
    run_table,
    strategy_table,
    summarise,
    where_it_goes,
    where_table,
)

from ioa_agent.config import parse_config  # noqa: E402
from ioa_agent.config_file import load_config  # noqa: E402
from ioa_agent.organizer.curriculum import replay_count, round_steps  # noqa: E402
from ioa_agent.pedagogy.strategies import METHODS, uses_organizer  # noqa: E402
from ioa_agent.report.data import gather  # noqa: E402
from ioa_agent.results import write_results  # noqa: E402

# measured on the 2-core CPU with SmolLM2 in this experiment (README), for --estimate
SECONDS_PER_STEP = 4.5  # all-linear LoRA, batch 8, packed rows of a demo round
SECONDS_PER_PROBE = 66.0 / 288  # 40 new tokens at most, batched
SECONDS_ADAPT_ROUND = 40.0  # writing, scoring renderings, the student's self-replay answers
RESULTS_DIR = ROOT / "docs" / "results" / "pedagogy"
WHOLE_LAYERS = {"max_skills_per_stage": None}
"""Strategies with the Organizer stage a whole layer of the skill graph (the method's
default), not the demo's one skill: four rounds of one skill each teach four of the
36 skills the probes ask about."""


def tiny_model(folder: Path) -> Path:
    """The tests' tiny student (random weights, tokenizer trained on the domain)."""
    from ioa_agent.student.models import make_arithmetic_tiny_model

    path = folder / "tiny-model"
    if (path / "config.json").is_file():
        return path
    return make_arithmetic_tiny_model(path)


def base_config(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The shared config: every strategy and seed differs only in those two fields."""
    if args.tiny:
        cfg: dict[str, Any] = {
            "student": {"model": str(tiny_model(folder))},
            "identifier": {"probes_per_level": 2},
            "adapter": {"seeds_per_module": 2, "j": 3},
            "train": {
                "steps_per_round": args.steps or 4,
                "batch_size": 4,
                "max_length": 96,
                "learning_rate": 1e-3,
            },
            "assess": {"batch_size": 64, "max_new_tokens": 12},
        }
    else:
        cfg = load_config().model_dump(mode="json")
        if args.steps:
            cfg["train"]["steps_per_round"] = args.steps
        if args.probes:
            cfg["identifier"]["probes_per_level"] = args.probes
            gate = cfg["organizer"].get("gate_min_probes") or args.probes
            cfg["organizer"]["gate_min_probes"] = min(gate, args.probes)  # a skill's probes
    cfg["max_rounds"] = args.rounds
    cfg["max_cycles"] = args.rounds  # never the reason a run stops early
    cfg.setdefault("organizer", {}).update({"on_escalation": "move_on"})
    cfg.setdefault("assess", {})["scope"] = "all"  # a learning curve for every strategy
    cfg.setdefault("teacher", {})["budget_tokens"] = args.budget
    return cfg


def run_one(config: dict[str, Any], runs: Path, name: str) -> float:
    """Run (or resume, or skip) one run; returns its wall seconds (stored on finish)."""
    from ioa_agent.drive import run_to_end

    took = run_to_end(parse_config(config), runs, name)
    print(f"{name}: {took:.0f} s", flush=True)
    return took


def rule_pick(run_dir: Path) -> str:
    """The rendering the Adapter's rule picked most often in a run (teacher if none)."""
    from collections import Counter

    from ioa_agent.run import open_run

    with open_run(run_dir) as run:
        picks = Counter(
            g["picked"] for e in run.store.events("renderings") for g in e["payload"]["groups"]
        )
    return picks.most_common(1)[0][0] if picks else "teacher"


def run_record(run_dir: Path, method: str, seed: int, wall: float) -> dict[str, Any]:
    """A finished run's figures: per round accuracy, tokens and P_S; per-probe scores;
    the gate's decisions (strategies with a gate)."""
    from ioa_agent.run import open_run

    with open_run(run_dir) as run:
        data = gather(run)
        assessed = run.store.assessed_rounds()

        def scores(rnd: int) -> dict[str, int]:
            return {r["item_id"]: int(r["correct"]) for r in run.store.assessment(rnd)}

        return {
            "strategy": method,
            "seed": seed,
            "wall_seconds": wall,
            "train_steps": data.train_steps,
            "p_t": data.p_t,
            "rounds": [
                {
                    "round": r.round,
                    "accuracy": r.accuracy,
                    "teacher_tokens": r.teacher_tokens,
                    "p_s": r.p_s,
                }
                for r in data.rounds
            ],
            "untrained": scores(assessed[0]),
            "final": scores(assessed[-1]),
            "rule_pick": rule_pick(run_dir) if method == "ioa" else None,
            "gates": [
                {
                    "round": g["round"],
                    "decision": g.get("decision"),
                    "forgotten": g.get("forgotten", []),
                    "skills": [
                        {k: r[k] for k in ("skill", "correct", "n", "passed")} for r in g["gate"]
                    ],
                }
                for g in (e["payload"] for e in run.store.events("gate"))
            ],
        }


def estimate(args: argparse.Namespace) -> float:
    """Wall seconds of the whole SmolLM2 experiment, from the measured per-phase times."""
    cfg = load_config()
    probes = 9 * 4 * (args.probes or cfg.identifier.probes_per_level)
    steps = args.steps or cfg.train.steps_per_round
    # rounds after the first replay earlier data on top of the new items' steps
    share = replay_count(1000, cfg.organizer.replay_fraction)
    train = steps + (args.rounds - 1) * round_steps(steps, 1000, share)
    per_round = probes * SECONDS_PER_PROBE + SECONDS_ADAPT_ROUND
    per_run = probes * SECONDS_PER_PROBE + args.rounds * per_round + train * SECONDS_PER_STEP
    targeted_extra = (args.rounds - 1) * probes * SECONDS_PER_PROBE  # scoring its own items
    methods = args.strategies
    total = len(methods) * args.seeds * per_run
    total += ("targeted" in methods) * args.seeds * targeted_extra
    return total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="tiny random-weight student (smoke)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--strategies", nargs="+", default=[*METHODS, PICK], choices=[*METHODS, PICK])
    p.add_argument("--budget", type=int, help="teacher tokens per run")
    p.add_argument("--rounds", type=int, help="training rounds per run")
    p.add_argument("--steps", type=int, help="training steps per round")
    p.add_argument("--probes", type=int, help="held-out probes per module and level")
    p.add_argument("--out", help="output folder")
    p.add_argument("--results-dir", type=Path, help=f"per-run results (default {RESULTS_DIR})")
    p.add_argument("--results", type=Path, help="the table's results file")
    p.add_argument("--resume", action="store_true", help="skip runs whose results file exists")
    p.add_argument("--estimate", action="store_true", help="print the time estimate only")
    args = p.parse_args(argv)
    args.budget = args.budget or (60_000 if args.tiny else 260_000)
    args.rounds = args.rounds or (3 if args.tiny else 4)
    if not args.tiny:
        args.steps = args.steps or 12
        args.probes = args.probes or 8  # 32 a module: 8 a skill
    out = Path(args.out or ROOT / "checkpoints" / ("pedagogy-tiny" if args.tiny else "pedagogy"))
    if args.estimate or not args.tiny:
        secs = estimate(args)
        print(
            f"estimated wall time with SmolLM2 on this CPU: {secs / 3600:.1f} h "
            f"({len(args.strategies)} strategies x {args.seeds} seeds, {args.rounds} rounds)"
        )
        if args.estimate:
            return 0
    results_dir = args.results_dir or RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    base = base_config(args, out)
    records = []
    order = [m for m in args.strategies if m != PICK] + [m for m in args.strategies if m == PICK]
    for seed in range(args.seeds):  # seed-major: a cut-short experiment has whole seeds
        for method in order:
            name = f"{method}-s{seed}"
            path = results_dir / f"{name}.json"
            config = {**base, "strategy": method, "seed": seed}
            if method in METHODS and uses_organizer(method) and not args.tiny:
                config = {**config, "organizer": {**base["organizer"], **WHOLE_LAYERS}}
            if method == PICK:
                ioa = results_dir / f"ioa-s{seed}.json"
                picked = json.loads(ioa.read_text())["figures"]["rule_pick"]
                adapter = {**base.get("adapter", {}), "rendering": picked}
                config = {**config, "strategy": "uniform", "adapter": adapter}
            if args.resume and path.is_file():
                done = json.loads(path.read_text())
                if done["config"] != json.loads(json.dumps(config)):
                    raise SystemExit(
                        f"{path} was made with other settings: run with those (its `command`"
                        f" says which), or delete it to run {name} again with these"
                    )
                records.append(done["figures"])
                print(f"{name}: done before ({path})")
                continue
            wall = run_one(config, runs, name)
            record = run_record(runs / name, method, seed, wall)
            write_results(path, config=config, seed=seed, figures=record, table=run_table)
            records.append(record)

    settings = {
        "tiny": args.tiny,
        "budget_tokens": args.budget,
        "rounds": args.rounds,
        "seeds": args.seeds,
        "steps_per_round": base["train"]["steps_per_round"],
        "probes_per_level": base["identifier"]["probes_per_level"],
    }
    summary = {**summarise(records), "settings": settings}
    where = where_it_goes(records)
    text = markdown(summary, settings)
    if where["seeds"]:
        text += "\nWhere the difference goes, by round:\n\n" + where_table(where) + "\n"
    (out / "pedagogy.md").write_text(text)
    results = args.results or (None if args.tiny else ROOT / "docs" / "results" / "pedagogy.json")
    if results:
        write_results(results, config=base, seed=None, figures=summary, table=strategy_table)
        if where["seeds"]:
            by_module = results.with_name(f"{results.stem}_by_module.json")
            write_results(by_module, config=base, seed=None, figures=where, table=where_table)

    from ioa_agent.report import figures

    figures.accuracy_vs_tokens(
        out / "pedagogy.png",
        {
            m: [
                [(x["teacher_tokens"], x["accuracy"]) for x in r["rounds"]]
                for r in records
                if r["strategy"] == m
            ]
            for m in order
        },
        title=f"accuracy vs teacher tokens ({'tiny student' if args.tiny else 'SmolLM2'})",
    )
    print((out / "pedagogy.md").read_text())
    print(f"wrote {out}/pedagogy.md and pedagogy.png; run results in {results_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
