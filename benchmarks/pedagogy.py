"""Does the pedagogy pay? Every strategy at the same teacher-token budget.

Runs `ioa`, the baselines `uniform` (self-instruct style) and `targeted` (LLM2LLM
style) and the ablations `no_identifier`, `no_organizer`, `no_adapter` on the
built-in arithmetic domain, each with several seeds, the same teacher-token budget,
the same rounds and the same training steps per round. Writes, under --out
(default checkpoints/pedagogy[-tiny], not tracked by git):

    pedagogy.md / pedagogy.json   final per-module and overall accuracy, retention
                                  (P_S/P_T), teacher tokens, training steps, wall
                                  time: mean ± std over seeds; each strategy's
                                  paired difference from `uniform` on the same
                                  probes and seeds (95% interval, McNemar p); and
                                  the teacher tokens each strategy needs to reach
                                  the uniform baseline's final accuracy
    pedagogy.png                  student accuracy against teacher tokens spent
    report/report.html            `ioa report` of every strategy's first seed
    runs/                         the runs; a finished run is skipped on re-runs
                                  and an unfinished one resumed

    .venv/bin/python benchmarks/pedagogy.py --tiny         # smoke run, tiny student
    .venv/bin/python benchmarks/pedagogy.py                # SmolLM2 student (see --estimate)
    .venv/bin/python benchmarks/pedagogy.py --estimate     # only print the time estimate

Besides the six strategies, `uniform+pick` is `uniform` trained on the rendering the
Adapter's rule picked most often in the same seed's `ioa` run (adapter.rendering fixed
to it): the difference between it and `uniform` is the Adapter's rendering alone, and
between `ioa` and it the Identifier's and the Organizer's share.

--tiny uses a random-weight few-layer student: its numbers show the machinery, not
the method. The SmolLM2 run uses the demo's sizes (ioa_agent/defaults/demo.yaml)
except for the budget, rounds, steps and probes below (--estimate prints the time they
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

from ioa_agent.config import load_config, parse_config  # noqa: E402
from ioa_agent.pedagogy.measures import paired_change  # noqa: E402
from ioa_agent.pedagogy.strategies import METHODS  # noqa: E402
from ioa_agent.report.data import RunData, gather, mean_std, tokens_to_reach  # noqa: E402
from ioa_agent.results import markdown_table, write_results  # noqa: E402

# measured on the 2-core CPU with SmolLM2 in this experiment (README), for --estimate
SECONDS_PER_STEP = 4.5  # all-linear LoRA, batch 8, packed rows of a demo round
SECONDS_PER_PROBE = 66.0 / 288  # 40 new tokens at most, batched
SECONDS_ADAPT_ROUND = 40.0  # writing, scoring renderings, the student's self-replay answers
PICK = "uniform+pick"  # uniform on the rendering the rule picked in the seed's ioa run


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
    cfg["max_rounds"] = args.rounds
    cfg["max_cycles"] = args.rounds  # never the reason a run stops early
    cfg.setdefault("organizer", {}).update({"on_escalation": "move_on"})
    cfg.setdefault("assess", {})["scope"] = "all"  # a learning curve for every strategy
    cfg.setdefault("teacher", {})["budget_tokens"] = args.budget
    return cfg


def run_one(config: dict[str, Any], runs: Path, name: str) -> float:
    """Run (or resume, or skip) one run; returns its wall seconds (stored on finish)."""
    from ioa_agent.runner import run_to_end

    took = run_to_end(parse_config(config), runs, name)
    print(f"{name}: {took:.0f} s", flush=True)
    return took


def summarise(datas: dict[str, list[RunData]], walls: dict[str, list[float]]) -> dict[str, Any]:
    """Mean ± std over seeds per strategy, and tokens to reach uniform's final accuracy."""
    out: dict[str, Any] = {"strategies": {}}
    for method, runs in datas.items():
        modules = sorted(runs[0].p_t)
        teacher_acc = [
            sum(r.p_t[m] for m in modules) / len(modules) for r in runs
        ]  # P_T is the same probes for every run
        row: dict[str, Any] = {
            "seeds": len(runs),
            "accuracy": mean_std([r.final.accuracy for r in runs]),
            "retention": mean_std(
                [r.final.accuracy / t if t else 0.0 for r, t in zip(runs, teacher_acc, strict=True)]
            ),
            "teacher_tokens": mean_std([r.final.teacher_tokens for r in runs]),
            "training_steps": mean_std([r.train_steps for r in runs]),
            "wall_seconds": mean_std(walls[method]),
            "modules": {m: mean_std([r.final.p_s.get(m, 0.0) for r in runs]) for m in modules},
            "curve": mean_curve(runs),
        }
        out["strategies"][method] = row
    if "uniform" in out["strategies"]:
        target = out["strategies"]["uniform"]["accuracy"][0]
        out["uniform_final_accuracy"] = target
        for row in out["strategies"].values():
            row["tokens_to_uniform"] = tokens_to_reach(row["curve"], target)
    return out


def final_scores(run_dir: Path) -> dict[str, int]:
    """1/0 per probe id at the run's last assessed round."""
    from ioa_agent.run import open_run

    store = open_run(run_dir).store
    last = store.assessed_rounds()[-1]
    return {r["item_id"]: int(r["correct"]) for r in store.assessment(last)}


def versus_uniform(runs: Path, methods: list[str], seeds: int) -> dict[str, Any]:
    """Each strategy's final accuracy minus uniform's, paired per probe over all seeds."""
    out: dict[str, Any] = {}
    for method in methods:
        before: list[int] = []
        after: list[int] = []
        for seed in range(seeds):
            base = final_scores(runs / f"uniform-s{seed}")
            mine = final_scores(runs / f"{method}-s{seed}")
            shared = sorted(set(base) & set(mine))
            before += [base[i] for i in shared]
            after += [mine[i] for i in shared]
        out[method] = paired_change(before, after)
    return out


def rule_pick(run_dir: Path) -> str:
    """The rendering the Adapter's rule picked most often in a run (teacher if none)."""
    from collections import Counter

    from ioa_agent.run import open_run

    picks = Counter(
        g["picked"]
        for e in open_run(run_dir).store.events("renderings")
        for g in e["payload"]["groups"]
    )
    return picks.most_common(1)[0][0] if picks else "teacher"


def mean_curve(runs: list[RunData]) -> list[tuple[float, float]]:
    """(tokens, accuracy) per round, averaged over seeds (up to the shortest run)."""
    n = min(len(r.rounds) for r in runs)
    return [
        (
            sum(r.rounds[i].teacher_tokens for r in runs) / len(runs),
            sum(r.rounds[i].accuracy for r in runs) / len(runs),
        )
        for i in range(n)
    ]


def _pm(ms: tuple[float, float], fmt: str = ".3f") -> str:
    return f"{ms[0]:{fmt}} ± {ms[1]:{fmt}}"


def strategy_table(summary: dict[str, Any]) -> str:
    """One row per strategy: accuracy, paired difference from uniform, tokens, steps, time."""
    rows = []
    paired = summary.get("vs_uniform", {})
    for method, r in summary["strategies"].items():
        reach = r.get("tokens_to_uniform")
        reached = "not reached" if reach is None else f"{reach:.0f}"
        if reach is not None and reach <= r["curve"][0][0]:
            reached += " (untrained student)"
        c = paired.get(method)
        vs = ["", ""]
        if c:
            vs = [f"{c['diff']:+.3f} [{c['lo']:+.3f}, {c['hi']:+.3f}]", f"{c['p']:.3g}"]
        rows.append(
            [
                method,
                _pm(r["accuracy"]),
                *vs,
                _pm(r["teacher_tokens"], ".0f"),
                _pm(r["training_steps"], ".0f"),
                _pm(r["wall_seconds"], ".0f"),
                reached,
            ]
        )
    header = [
        "strategy",
        "accuracy",
        "vs uniform, paired [95% CI]",
        "McNemar p",
        "teacher tokens",
        "training steps",
        "wall s",
        "tokens to reach uniform",
    ]
    return markdown_table(header, rows)


def markdown(summary: dict[str, Any], args: argparse.Namespace) -> str:
    rows = summary["strategies"]
    kind = "tiny random-weight student (smoke run)" if args.tiny else "SmolLM2-135M-Instruct"
    lines = [
        f"# Strategies at equal teacher budget ({kind})",
        "",
        f"Budget {args.budget} teacher tokens, {args.rounds} rounds, seeds {args.seeds}; "
        "mean ± std over seeds.",
        "",
        strategy_table(summary),
    ]
    modules = sorted(next(iter(rows.values()))["modules"])
    lines += ["", "Final accuracy per module:", ""]
    lines.append("| module | " + " | ".join(rows) + " |")
    lines.append("|---|" + "---|" * len(rows))
    for m in modules:
        cells = " | ".join(_pm(rows[s]["modules"][m], ".2f") for s in rows)
        lines.append(f"| {m} | {cells} |")
    if "uniform_final_accuracy" in summary:
        lines += [
            "",
            f"Uniform baseline's final accuracy: {summary['uniform_final_accuracy']:.3f}; "
            "'tokens to reach uniform' is where each strategy's mean curve first reaches it.",
        ]
    return "\n".join(lines) + "\n"


def estimate(args: argparse.Namespace) -> float:
    """Wall seconds of the whole SmolLM2 experiment, from the measured per-phase times."""
    cfg = load_config()
    probes = 9 * 4 * (args.probes or cfg.identifier.probes_per_level)
    steps = args.steps or cfg.train.steps_per_round
    per_round = steps * SECONDS_PER_STEP + probes * SECONDS_PER_PROBE + SECONDS_ADAPT_ROUND
    per_run = probes * SECONDS_PER_PROBE + args.rounds * per_round
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
    p.add_argument("--results", type=Path, help="results file (default docs/results/pedagogy.json)")
    p.add_argument("--estimate", action="store_true", help="print the time estimate only")
    args = p.parse_args(argv)
    args.budget = args.budget or (60_000 if args.tiny else 200_000)
    args.rounds = args.rounds or (3 if args.tiny else 2)
    if not args.tiny:
        args.steps = args.steps or 12
        args.probes = args.probes or 2
    out = Path(args.out or ROOT / "checkpoints" / ("pedagogy-tiny" if args.tiny else "pedagogy"))
    if args.estimate or not args.tiny:
        secs = estimate(args)
        print(
            f"estimated wall time with SmolLM2 on this CPU: {secs / 3600:.1f} h "
            f"({len(args.strategies)} strategies x {args.seeds} seeds, {args.rounds} rounds)"
        )
        if args.estimate:
            return 0
    out.mkdir(parents=True, exist_ok=True)
    runs = out / "runs"
    runs.mkdir(exist_ok=True)
    base = base_config(args, out)
    datas: dict[str, list[RunData]] = {}
    walls: dict[str, list[float]] = {}
    from ioa_agent.run import open_run

    order = [m for m in args.strategies if m != PICK] + [m for m in args.strategies if m == PICK]
    for seed in range(args.seeds):  # seed-major: a cut-short experiment has whole seeds
        for method in order:
            name = f"{method}-s{seed}"
            config = {**base, "strategy": method, "seed": seed}
            if method == PICK:
                picked = rule_pick(runs / f"ioa-s{seed}")
                adapter = {**base.get("adapter", {}), "rendering": picked}
                config = {**config, "strategy": "uniform", "adapter": adapter}
            wall = run_one(config, runs, name)
            datas.setdefault(method, []).append(gather(open_run(runs / name)))
            walls.setdefault(method, []).append(wall)

    summary = summarise(datas, walls)
    if "uniform" in args.strategies:
        summary["vs_uniform"] = versus_uniform(runs, order, args.seeds)
    summary["settings"] = {
        "tiny": args.tiny,
        "budget_tokens": args.budget,
        "rounds": args.rounds,
        "seeds": args.seeds,
        "steps_per_round": base["train"]["steps_per_round"],
        "probes_per_level": base["identifier"]["probes_per_level"],
    }
    (out / "pedagogy.json").write_text(json.dumps(summary, indent=1))
    (out / "pedagogy.md").write_text(markdown(summary, args))
    results = args.results or (None if args.tiny else ROOT / "docs" / "results" / "pedagogy.json")
    if results:
        table = strategy_table(summary)
        write_results(results, config=base, seed=None, figures=summary, readme_table=table)

    from ioa_agent.report import figures
    from ioa_agent.report.html import curve, write_report

    figures.accuracy_vs_tokens(
        out / "pedagogy.png",
        {m: [curve(d) for d in ds] for m, ds in datas.items()},
        title=f"accuracy vs teacher tokens ({'tiny student' if args.tiny else 'SmolLM2'})",
    )
    write_report([open_run(runs / f"{m}-s0") for m in args.strategies], out / "report")
    print((out / "pedagogy.md").read_text())
    print(f"wrote {out}/pedagogy.md, pedagogy.json, pedagogy.png, report/report.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
