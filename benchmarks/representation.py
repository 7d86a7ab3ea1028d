"""Which rendering does the student learn fastest, and does the Adapter's rule pick it?

One module of the built-in arithmetic domain (default: addition, levels 1-2), its
items written by the exact teacher in every candidate rendering: the teacher's own
rewrite (the demo's strategies) and the short renderings (direct equation, one-line
breakdown, answer with a one-line reason). For each rendering and seed the student
(SmolLM2-135M-Instruct, the demo's LoRA) trains on that rendering alone, at equal
steps, and is scored on held-out probes of the module (and of a second, untaught
module) after each step count. The probes are spread evenly over the levels and drawn
from the operand tuples the domain sets aside for probes (`arithmetic_holdout.held_out`), so
none shares a training item's operands, and an item that some rendering works out a
probe's operation in on the way ("3 + 4 = 7" as a column step) is dropped for every
rendering; answers may run to the longest completion of
any rendering plus a margin (`--tokens` is raised to that). Training continues from
the previous step count's adapter with a constant learning rate, so the step counts
are points of one run.

Before any training, the starting student scores a sample of each rendering
(s(A|Q), s(A), IFD, and s(ans|Q) on the answer's own tokens; `ioa_agent.adapter.score`)
and the Adapter's rule (`ioa_agent.adapter.renderings.pick`) picks one, the candidate
rule (lowest s(ans|Q)) another. The table shows accuracy per rendering and step count
(mean ± std over seeds) and marks the picks; the rule's pick is compared, paired per
probe and seed, with the best fixed rendering, and the candidate's pick with the
rule's. With `--warm-levels`, the starting student is first trained on those levels
in `--warm-rendering` (a student that already knows the format, as in a later round).

    .venv/bin/python benchmarks/representation.py                 # ~25 min on 2 CPU cores
    .venv/bin/python benchmarks/representation.py --seeds 0 --steps 8 16
    .venv/bin/python benchmarks/representation.py --levels 3 --warm-levels 1 2 --picks-only

Writes docs/results/representation.json unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ioa_agent.adapter.renderings import ANSWER_RULE, RULE, pick, summarize  # noqa: E402
from ioa_agent.answers import answers_match, extract_answer  # noqa: E402
from ioa_agent.domains import arithmetic  # noqa: E402
from ioa_agent.items import RENDERINGS, TEACHER, Item  # noqa: E402
from ioa_agent.pedagogy.measures import paired_change  # noqa: E402
from ioa_agent.results import write_results  # noqa: E402

STRATEGIES = ["step_format"]  # the demo's rewrite of a gap-0.6+ root module, as trained


def items_for(
    module: str, levels: list[int], n: int, seed: int, probes: bool = False
) -> list[Item]:
    """`n` items of `module`, the same count at each level; from the probes' share of
    operand tuples when `probes` (`arithmetic_holdout.held_out`), from the rest otherwise, so no
    probe shares a training item's operands."""
    if n % len(levels):
        raise SystemExit(f"{n} items do not split evenly over levels {levels}")
    per = n // len(levels)
    return [
        it for lv in levels for it in arithmetic.write_items(module, lv, per, seed + lv, probes)
    ]


def shared_operands(train: list[Item], probes: list[Item]) -> int:
    """Probes whose operand tuple (and operation) some training item has."""
    trained = {arithmetic.content_key(it.prompt) for it in train}
    return sum(arithmetic.content_key(p.prompt) in trained for p in probes)


def stating(items: list[Item], probes: list[Item], names: list[str]) -> set[int]:
    """Indexes of the items some rendering of which works out a probe's operation on its
    operands on the way (a column step "3 + 4 = 7" for the probe 4 + 3): the run's
    `drop_stated` rule, applied to every candidate so all train on the same items."""
    keys = {arithmetic.content_key(p.prompt) for p in probes}
    return {
        i
        for name in names
        for i, row in enumerate(rendered(items, name))
        if arithmetic.stated_keys(f"{row['prompt']}\n{row['completion']}") & keys
    }


def answer_room(model: Path, data: dict[str, list[dict[str, str]]], asked: int) -> int:
    """`asked` new tokens, raised to the longest completion of any rendering plus
    fitting.MARGIN: a rendering cut off at assessment would lose by truncation."""
    from transformers import AutoTokenizer

    from ioa_agent.adapter.fitting import MARGIN

    tokenizer = AutoTokenizer.from_pretrained(str(model))
    longest = max(
        len(tokenizer(r["completion"], add_special_tokens=False)["input_ids"])
        for rows in data.values()
        for r in rows
    )
    if longest + MARGIN > asked:
        print(
            f"--tokens {asked} raised to {longest + MARGIN}: the longest completion runs {longest}"
        )
    return max(asked, longest + MARGIN)


def rendered(items: list[Item], name: str) -> list[dict[str, str]]:
    """Prompt-completion rows of `items` in rendering `name`."""
    rows = []
    for it in items:
        if name == TEACHER:
            it = arithmetic.rewrite(it, STRATEGIES, "standard")
        else:
            it = it.model_copy(update={"rationale": arithmetic.render_item(it)[name]})
        rows.append({"prompt": it.prompt, "completion": it.completion()})
    return rows


def accuracy(model: Path, adapter: Path | None, probes: list[Item], tokens: int) -> list[int]:
    from ioa_agent.student.generate import generate

    outs = generate(
        model, [p.prompt for p in probes], adapter, batch_size=32, max_new_tokens=tokens
    )
    return [
        int(answers_match(extract_answer(o), p.answer)) for o, p in zip(outs, probes, strict=True)
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--module", default="arithmetic/addition")
    p.add_argument("--untaught", default="arithmetic/subtraction")
    p.add_argument("--levels", type=int, nargs="+", default=[1, 2])
    p.add_argument("--items", type=int, default=384)
    p.add_argument(
        "--probes", type=int, default=32, help="held-out probes per module, even over levels"
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, nargs="+", default=[8, 16])
    p.add_argument("--sample", type=int, default=24, help="items scored per rendering")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--tokens", type=int, default=48, help="max new tokens when assessing")
    p.add_argument("--model", default="smollm2-135m-instruct", help="student (name or folder)")
    p.add_argument(
        "--warm-levels",
        type=int,
        nargs="*",
        default=[],
        help="first train these levels in --warm-rendering: a student that knows the format",
    )
    p.add_argument("--warm-steps", type=int, default=16)
    p.add_argument("--warm-rendering", default="direct")
    p.add_argument("--picks-only", action="store_true", help="score and pick, train nothing more")
    p.add_argument(
        "--renderings", nargs="+", default=[TEACHER, *RENDERINGS], help="candidates (all)"
    )
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "representation.json")
    p.add_argument("--work", type=Path, default=ROOT / "checkpoints" / "representation")
    args = p.parse_args()

    from ioa_agent.adapter.score import answer_scores
    from ioa_agent.config_file import load_config
    from ioa_agent.student.models import resolve_model
    from ioa_agent.student.train import TrainJob
    from ioa_agent.student.train_runner import run_training

    demo = load_config().train
    model = resolve_model(args.model)
    train_items = items_for(args.module, args.levels, args.items, seed=1000)
    probes = [
        it
        for m in (args.module, args.untaught)
        for it in items_for(m, args.levels, args.probes, 7, True)
    ]
    overlap = shared_operands(train_items, probes)
    if overlap:
        raise SystemExit(f"{overlap} probes share operands with training items")
    names = [n for n in [TEACHER, *RENDERINGS] if n in args.renderings]
    drop = stating(train_items, probes, names)
    if drop:
        print(f"{len(drop)} training items dropped: a rendering works out a probe on the way")
    train_items = [it for i, it in enumerate(train_items) if i not in drop]
    data = {name: rendered(train_items, name) for name in names}
    args.tokens = answer_room(model, data, args.tokens)

    def train(
        rows: list[dict[str, str]], out: Path, start: Path | None, steps: int, seed: int
    ) -> tuple[Path, float]:
        """LoRA-train `steps` steps on `rows` from adapter `start` (None: the base) into `out`."""
        out.mkdir(parents=True, exist_ok=True)
        path = out / "train.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        job = TrainJob.from_config(
            demo,
            base_model=str(model),
            data_path=str(path),
            init_adapter=str(start) if start else None,
            output_dir=str(out / "adapter"),
            learning_rate=args.lr,
            lr_scheduler="constant",
            warmup_ratio=0.0,
            max_steps=steps,
            seed=seed,
        )
        metrics = run_training(job, log_path=out / "train.log")
        return Path(job.output_dir), float(metrics.get("train_runtime_s") or 0.0)

    t0 = time.time()
    shutil.rmtree(args.work, ignore_errors=True)  # a measurement never reuses old adapters
    warm = None
    if args.warm_levels:
        items = items_for(args.module, args.warm_levels, args.items, seed=2000)
        overlap += shared_operands(items, probes)
        if overlap:
            raise SystemExit(f"{overlap} probes share operands with warm-up items")
        drop = stating(items, probes, [args.warm_rendering])
        rows = rendered([it for i, it in enumerate(items) if i not in drop], args.warm_rendering)
        warm, _ = train(rows, args.work / "warm", None, args.warm_steps, 0)
        done = f"{args.warm_steps} steps on levels {args.warm_levels}"
        print(f"warm student: {done}, {args.warm_rendering}")

    golds = [it.answer for it in train_items[: args.sample]]
    scores = {}
    for name in names:
        rows = data[name][: args.sample]
        got = answer_scores(
            model, [(r["prompt"], r["completion"]) for r in rows], warm, golds=golds
        )
        scores[name] = summarize([(a, b) for a, b, _ in got], [x for _, _, x in got])
    picked = pick(scores, names)
    candidate = pick(scores, names, key="s_ans")
    print(f"rule ({RULE}): picks {picked}; candidate ({ANSWER_RULE}): picks {candidate}")
    for name in names:
        s = scores[name]
        print(
            f"  {name:10s} s(A|Q) {s['s_aq']:.3f}  s(ans|Q) {s.get('s_ans', float('nan')):.3f}"
            f"  s(A) {s['s_a']:.3f}  IFD {s['ifd']:.3f}"
        )
    if args.picks_only:
        return 0

    base = accuracy(model, warm, probes, args.tokens)
    results: dict[str, dict[int, dict[int, list[int]]]] = {n: {} for n in names}
    seconds: dict[str, list[float]] = {n: [] for n in names}
    for seed in args.seeds:
        for name in names:
            previous, done = warm, 0
            results[name][seed] = {}
            for steps in args.steps:
                folder = args.work / f"{name}-s{seed}-{steps}"
                out, took = train(data[name], folder, previous, steps - done, seed * 1000 + steps)
                seconds[name].append(took)
                results[name][seed][steps] = accuracy(model, out, probes, args.tokens)
                previous, done = out, steps
                acc = results[name][seed][steps]
                taught = sum(acc[: args.probes]) / args.probes
                print(
                    f"seed {seed} {name:10s} {steps:3d} steps: {args.module} {taught:.2f}",
                    flush=True,
                )
        done_seeds = args.seeds[: args.seeds.index(seed) + 1]
        picks = {"rule": picked, "candidate": candidate}
        write_table(args, done_seeds, scores, picks, results, seconds, base, t0, overlap)
    return 0


def write_table(
    args: argparse.Namespace,
    seeds: list[int],
    scores: dict[str, Any],
    picks: dict[str, str],
    results: dict[str, dict[int, dict[int, list[int]]]],
    seconds: dict[str, list[float]],
    base: list[int],
    t0: float,
    overlap: int,
) -> None:
    """The table and results file over the seeds finished so far (a cut-short run keeps them)."""
    names = list(scores)
    n = args.probes
    summary: dict[str, Any] = {}
    for name in names:
        cells = []
        for steps in args.steps:
            accs = [sum(results[name][s][steps][:n]) / n for s in seeds]
            sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
            cells.append(f"{statistics.mean(accs):.2f} ± {sd:.2f}")
        last = args.steps[-1]
        other = [sum(results[name][s][last][n:]) / n for s in seeds]
        per_step = sum(seconds[name]) / (len(seeds) * last) if seconds[name] else 0.0
        summary[name] = {"cells": cells, "untaught": statistics.mean(other), "s_per_step": per_step}
    base_taught = sum(base[:n]) / n
    base_other = sum(base[n:]) / n

    picked, candidate = picks["rule"], picks["candidate"]
    last = args.steps[-1]
    finals = {
        name: statistics.mean(sum(results[name][s][last][:n]) / n for s in seeds) for name in names
    }
    best_fixed = max((nm for nm in names if nm != picked), key=lambda nm: finals[nm])
    before = [x for s in seeds for x in results[best_fixed][s][last][:n]]
    after = [x for s in seeds for x in results[picked][s][last][:n]]
    versus = paired_change(before, after)
    verdict = (
        f"pick {picked} vs best other rendering {best_fixed} at {last} steps, paired over "
        f"{len(seeds)} seeds x {n} probes: {versus['diff']:+.3f} "
        f"[{versus['lo']:+.3f}, {versus['hi']:+.3f}], McNemar p {versus['p']:.3f}"
    )
    # the candidate rule: does its pick train better than the rule's?
    mine = [x for s in seeds for x in results[candidate][s][last][:n]]
    against = paired_change(after, mine)
    verdict += (
        f"; candidate ({ANSWER_RULE}) picks {candidate}: {against['diff']:+.3f} "
        f"[{against['lo']:+.3f}, {against['hi']:+.3f}] against the rule's pick"
    )

    figures = {
        "settings": {
            "module": args.module,
            "untaught": args.untaught,
            "steps": args.steps,
            "renderings": names,
        },
        "wall_s": round(time.time() - t0, 1),
        "rule": RULE,
        "seeds_done": seeds,
        "picked": picked,
        "scores": scores,
        "untrained": {"taught": base_taught, "untaught": base_other},
        "probes": {"per_module": n, "levels": args.levels, "shared_operands": overlap},
        "summary": summary,
        "pick_vs_best_fixed": {"best_fixed": best_fixed, **versus},
        "candidate": {"rule": ANSWER_RULE, "picked": candidate, "vs_rule_pick": against},
        "warm": {"levels": args.warm_levels, "steps": args.warm_steps}
        if args.warm_levels
        else None,
        "verdict": verdict,
        "per_probe": {
            nm: {str(s): {str(k): v for k, v in r.items()} for s, r in by.items()}
            for nm, by in results.items()
        },
    }
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    write_results(args.out, config=config, seed=None, figures=figures, table=table)
    print(table(figures))
    print(verdict)
    print(f"wrote {args.out}")


def table(figures: dict[str, Any]) -> str:
    """representation.json's table, from its figures: accuracy per rendering and step
    count (mean ± std over seeds), the rule's pick marked (and the candidate rule's,
    with s(ans|Q), when it was scored), then the student before training."""
    settings = figures["settings"]
    steps = settings["steps"]
    candidate = (figures.get("candidate") or {}).get("picked")
    answer = "| s(ans\\|Q) " if candidate else ""
    lines = [
        f"| rendering | s(A\\|Q) {answer}| IFD | "
        + " | ".join(f"{settings['module'].split('/')[1]} @{s}" for s in steps)
        + f" | {settings['untaught'].split('/')[1]} @{steps[-1]} | s/step |",
        "|---|---|---|" + "---|" * (len(steps) + 2 + bool(candidate)),
    ]
    for name in settings["renderings"]:
        row = figures["summary"][name]
        marks = [
            m
            for m, who in (("rule's pick", figures["picked"]), ("candidate's pick", candidate))
            if who == name
        ]
        mark = f" ({', '.join(marks)})" if marks else ""
        s = figures["scores"][name]
        ans = f"| {s['s_ans']:.2f} " if candidate and "s_ans" in s else ("| " if candidate else "")
        lines.append(
            f"| {name}{mark} | {s['s_aq']:.2f} {ans}| {s['ifd']:.2f} | "
            + " | ".join(row["cells"])
            + f" | {row['untaught']:.2f} | {row['s_per_step']:.1f} |"
        )
    base = figures["untrained"]
    blanks = " |" * (len(steps) - 1)
    start = "warm student" if figures.get("warm") else "untrained"
    empty = "| | | " + ("| " if candidate else "")
    lines.append(f"| {start} {empty}{base['taught']:.2f} |{blanks} {base['untaught']:.2f} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
