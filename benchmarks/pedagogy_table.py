"""The pedagogy benchmark's tables, from per-run records alone (benchmarks/pedagogy.py).

A record is what `pedagogy.run_record` writes into a run's results file. `summarise`
gives each strategy's mean ± std over seeds, `ioa` against each other strategy on the
same seeds and probes (seed-aware intervals at 95% and Bonferroni-corrected), and the
tokens `ioa` needs to reach `uniform+pick`'s final accuracy; `strategy_table` and
`markdown` render them. `where_it_goes` splits `ioa`'s difference from `uniform+pick`
by module and round (with what `ioa` taught each round); `where_table` renders it.
Nothing here runs or reads a run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ioa_agent.pedagogy.measures import seed_bootstrap  # noqa: E402
from ioa_agent.report.data import mean_std, tokens_to_reach  # noqa: E402
from ioa_agent.results import markdown_table  # noqa: E402

PICK = "uniform+pick"  # uniform on the rendering the rule picked in the seed's ioa run


def run_table(record: dict[str, Any]) -> str:
    rows = [[r["round"], r["teacher_tokens"], f"{r['accuracy']:.3f}"] for r in record["rounds"]]
    return markdown_table(["round", "teacher tokens", "accuracy"], rows)


def mean_curve(records: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(tokens, accuracy) per round, averaged over seeds (up to the shortest run)."""
    n = min(len(r["rounds"]) for r in records)
    return [
        (
            sum(r["rounds"][i]["teacher_tokens"] for r in records) / len(records),
            sum(r["rounds"][i]["accuracy"] for r in records) / len(records),
        )
        for i in range(n)
    ]


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per strategy (mean ± std over seeds), `ioa` against each other strategy on the
    same seeds and probes, and the tokens `ioa` needs to reach `uniform+pick`."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(records, key=lambda r: r["seed"]):
        by.setdefault(r["strategy"], []).append(r)
    out: dict[str, Any] = {"order": list(by), "strategies": {}, "versus_ioa": {}}
    for method, runs in by.items():
        modules = sorted(runs[0]["p_t"])
        last = [r["rounds"][-1] for r in runs]
        out["strategies"][method] = {
            "seeds": [r["seed"] for r in runs],
            "accuracy": mean_std([x["accuracy"] for x in last]),
            "teacher_tokens": mean_std([x["teacher_tokens"] for x in last]),
            "training_steps": mean_std([r["train_steps"] for r in runs]),
            "wall_seconds": mean_std([r["wall_seconds"] for r in runs]),
            "modules": {m: mean_std([x["p_s"].get(m, 0.0) for x in last]) for m in modules},
            "curve": mean_curve(runs),
        }
    others = [m for m in by if m != "ioa"]
    out["comparisons"] = k = max(1, len(others))
    ioa = {r["seed"]: r["final"] for r in by.get("ioa", [])}
    for method in others:
        pairs = []
        for r in by[method]:
            if r["seed"] in ioa:
                shared = sorted(set(ioa[r["seed"]]) & set(r["final"]))
                pairs.append(([r["final"][i] for i in shared], [ioa[r["seed"]][i] for i in shared]))
        if pairs:
            out["versus_ioa"][method] = {
                "at_95": seed_bootstrap(pairs),
                "corrected": seed_bootstrap(pairs, level=1 - 0.05 / k),
            }
    if PICK in by and "ioa" in by:
        pick = out["strategies"][PICK]
        target, spent = pick["accuracy"][0], pick["teacher_tokens"][0]
        reach = tokens_to_reach(out["strategies"]["ioa"]["curve"], target)
        out["ioa_to_pick"] = {
            "target_accuracy": target,
            "pick_tokens": spent,
            "ioa_tokens": reach,
            "share": None if reach is None or not spent else reach / spent,
        }
    return out


def _pm(ms: Sequence[float], fmt: str = ".3f") -> str:
    return f"{ms[0]:{fmt}} ± {ms[1]:{fmt}}"


def strategy_table(summary: dict[str, Any]) -> str:
    """One row per strategy: accuracy, ioa's paired difference from it, tokens, steps."""
    rows = []
    for method in summary["order"]:
        r = summary["strategies"][method]
        vs = ""
        c = summary["versus_ioa"].get(method)
        if c:
            a, b = c["at_95"], c["corrected"]
            vs = f"{a['diff']:+.3f} [{a['lo']:+.3f}, {a['hi']:+.3f}]"
            vs += f" [{b['lo']:+.3f}, {b['hi']:+.3f}]"
            vs = f"**{vs}**" if b["lo"] > 0 or b["hi"] < 0 else vs
        rows.append(
            [
                method,
                len(r["seeds"]),
                _pm(r["accuracy"]),
                vs,
                _pm(r["teacher_tokens"], ".0f"),
                _pm(r["training_steps"], ".0f"),
                _pm(r["wall_seconds"], ".0f"),
            ]
        )
    header = [
        "strategy",
        "seeds",
        "final accuracy",
        f"ioa minus it [95%] [Bonferroni, {summary['comparisons']} comparisons]",
        "teacher tokens",
        "training steps",
        "wall s",
    ]
    return markdown_table(header, rows)


def where_it_goes(records: list[dict[str, Any]], a: str = "ioa", b: str = PICK) -> dict[str, Any]:
    """Per module and round, `a`'s accuracy minus `b`'s (mean and std over the seeds
    both ran), the same for all modules together, and the skills `a`'s gate judged
    each round (what it taught), with how many seeds taught each."""
    runs = {(r["strategy"], r["seed"]): r for r in records}
    seeds = sorted(s for m, s in runs if m == a and (b, s) in runs)
    if not seeds:
        return {"a": a, "b": b, "seeds": [], "rounds": [], "modules": {}, "all": [], "taught": []}
    pairs = [(runs[(a, s)]["rounds"], runs[(b, s)]["rounds"]) for s in seeds]
    n = min(min(len(x), len(y)) for x, y in pairs)
    modules = sorted(runs[(a, seeds[0])]["p_t"])

    def diffs(get: Any) -> list[list[float]]:
        return [mean_std([get(x[i]) - get(y[i]) for x, y in pairs]) for i in range(1, n)]

    taught: list[dict[str, int]] = [{} for _ in range(1, n)]
    for s in seeds:
        for gate in runs[(a, s)].get("gates") or []:
            if 1 <= gate["round"] < n:
                for skill in {x["skill"] for x in gate["skills"]}:
                    cell = taught[gate["round"] - 1]
                    cell[skill] = cell.get(skill, 0) + 1
    return {
        "a": a,
        "b": b,
        "seeds": seeds,
        "rounds": list(range(1, n)),
        "modules": {m: diffs(lambda r, m=m: r["p_s"].get(m, 0.0)) for m in modules},
        "all": diffs(lambda r: r["accuracy"]),
        "taught": taught,
    }


def where_table(where: dict[str, Any]) -> str:
    """Rows: what `a` taught, all modules, then each module; columns: rounds."""
    n = len(where["seeds"])
    taught = [
        ", ".join(
            f"{skill.split('/')[-1]}" + ("" if k == n else f" ({k} of {n} seeds)")
            for skill, k in sorted(cell.items())
        )
        or "nothing judged"
        for cell in where["taught"]
    ]
    rows = [[f"{where['a']} taught", *taught]]
    rows.append(["all modules", *(f"{d[0]:+.3f} ± {d[1]:.3f}" for d in where["all"])])
    rows += [[m, *(f"{d[0]:+.2f} ± {d[1]:.2f}" for d in ds)] for m, ds in where["modules"].items()]
    header = [f"{where['a']} minus {where['b']} ({n} seed{'s' * (n != 1)})"]
    header += [f"round {r}" for r in where["rounds"]]
    return markdown_table(header, rows)


def markdown(summary: dict[str, Any], settings: dict[str, Any]) -> str:
    rows = summary["strategies"]
    kind = "tiny random-weight student (smoke run)" if settings["tiny"] else "SmolLM2"
    lines = [
        f"# Strategies at equal teacher budget ({kind})",
        "",
        f"Budget {settings['budget_tokens']} teacher tokens, {settings['rounds']} rounds; "
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
    reach = summary.get("ioa_to_pick")
    if reach:
        got = "never" if reach["ioa_tokens"] is None else f"{reach['ioa_tokens']:.0f}"
        share = "" if reach["share"] is None else f" ({reach['share']:.0%} of uniform+pick's)"
        if reach["ioa_tokens"] is not None and reach["ioa_tokens"] <= rows["ioa"]["curve"][0][0]:
            share += ", already untrained"
        lines += [
            "",
            f"`ioa` reaches uniform+pick's final accuracy ({reach['target_accuracy']:.3f}) "
            f"at {got} teacher tokens{share}; uniform+pick spent {reach['pick_tokens']:.0f}.",
        ]
    return "\n".join(lines) + "\n"
