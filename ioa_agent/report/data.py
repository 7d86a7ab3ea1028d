"""What a run's report shows, gathered from its store and directory as plain values.

`gather` reads one finished (or paused) run: modules and prerequisites, P_T and
P_S per module at every assessed round, each diagnosis's gaps, severity and
targets, the curriculum stages, the teacher's calls, tokens, cost and seconds per
round, training metrics, rewrite samples (before/after, from the teacher cache) and
the review and organize decisions; per round, each module's paired change against
the untrained student and the format leak on untaught modules; the Adapter's rendering
scores and picks. `tokens_to_reach` and `mean_std` summarise
curves across runs. Nothing here draws or writes files (figures.py and html.py do).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ioa_agent.run import Run

SAMPLES_PER_ROUND = 2


@dataclass
class RoundRow:
    """One assessed round: scores, tokens spent by then, teacher use and training."""

    round: int
    accuracy: float
    p_s: dict[str, float]
    ratios: dict[str, float]
    teacher_tokens: int
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    teacher_seconds: float = 0.0
    train_seconds: float = 0.0
    train_steps: int = 0
    items: int = 0
    decision: str = ""
    stage: list[str] = field(default_factory=list)
    paired: dict[str, dict[str, Any]] = field(default_factory=dict)
    leak: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class RunData:
    """Everything one run's report shows; JSON-plain through `as_dict`."""

    run_id: str
    strategy: str
    budget_tokens: int | None
    modules: dict[str, list[str]]
    p_t: dict[str, float]
    rounds: list[RoundRow]
    diagnoses: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    cache_hits: dict[str, int]
    samples: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    tau_mastery: float
    renderings: list[dict[str, Any]] = field(default_factory=list)
    teacher_builtin: bool = False

    @property
    def final(self) -> RoundRow:
        return self.rounds[-1]

    @property
    def train_steps(self) -> int:
        return sum(r.train_steps for r in self.rounds)

    @property
    def train_seconds(self) -> float:
        return sum(r.train_seconds for r in self.rounds)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _per_module(rows: Sequence[dict[str, Any]], probe_module: dict[str, str]) -> dict[str, float]:
    acc: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        if r["item_id"] in probe_module:
            acc[probe_module[r["item_id"]]].append(int(r["correct"]))
    return {m: sum(v) / len(v) for m, v in sorted(acc.items())}


def _round_of(created: float, bounds: Sequence[tuple[int, float]]) -> int:
    """The round whose assessment is the first one logged at or after `created`."""
    for rnd, t in bounds:
        if created <= t:
            return rnd
    return bounds[-1][0] if bounds else 0


def _samples(run: Run, method: str) -> list[dict[str, Any]]:
    """Items before and after the Adapter's rewrite (or raw items when none is made)."""
    out: list[dict[str, Any]] = []
    rows = run.store.db.execute(
        "select request, response from teacher_cache where task = 'rewrite' order by rowid"
    ).fetchall()
    per_round: dict[str, int] = defaultdict(int)
    train = {i.id: i for i in run.store.items("train")}
    for request, response in rows:
        if response is None:
            continue
        before, after = json.loads(request)["item"], json.loads(response)
        if not isinstance(after, dict):
            continue
        key = f"{before['module']}:{after.get('variant', '')}"
        if per_round[key] >= SAMPLES_PER_ROUND:
            continue
        per_round[key] += 1
        kept = any(
            i.prompt == after.get("prompt") and i.answer == after.get("answer")
            for i in train.values()
        )
        out.append(
            {
                "strategy": method,
                "module": before["module"],
                "level": before["level"],
                "variant": after.get("variant", ""),
                "rewrite": after.get("strategy", ""),
                "before": before["prompt"] + "\n" + before.get("rationale", ""),
                "after": after.get("prompt", "") + "\n" + after.get("rationale", ""),
                "kept": kept,
            }
        )
    if not out:  # no rewrite in this strategy: raw teacher items as trained
        seen: set[str] = set()
        for item in train.values():
            if item.module in seen:
                continue
            seen.add(item.module)
            text = item.prompt + "\n" + item.completion()
            out.append(
                {
                    "strategy": method,
                    "module": item.module,
                    "level": item.level,
                    "variant": item.variant,
                    "rewrite": "(none)",
                    "before": text,
                    "after": text,
                    "kept": True,
                }
            )
    return out


def gather(run: Run) -> RunData:
    """The report's data for one run."""
    store = run.store
    probes = store.items("probe")
    probe_module = {p.id: p.module for p in probes}
    answers = store.teacher_answers()
    p_t = _per_module(
        [{"item_id": k, "correct": v["correct"]} for k, v in answers.items()], probe_module
    )
    modules = {m.id: list(m.prerequisites) for m in store.modules()}

    events = store.events()
    assess_ev = {e["payload"]["round"]: e for e in events if e["kind"] == "gate"}
    train_ev = {e["payload"]["round"]: e for e in events if e["kind"] == "train"}
    diag_ev = [e for e in events if e["kind"] == "diagnosis"]
    first_diag = diag_ev[0]["created"] if diag_ev else math.inf

    bounds: list[tuple[int, float]] = [(0, first_diag)]
    bounds += sorted((r, e["created"]) for r, e in assess_ev.items())
    per_round: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for c in store.db["teacher_calls"].rows:
        rnd = _round_of(c["created"], bounds)
        agg = per_round[rnd]
        agg["calls"] += 1
        agg["tokens_in"] += c["tokens_in"] or 0
        agg["tokens_out"] += c["tokens_out"] or 0
        agg["cost"] += c.get("cost") or 0.0
        agg["seconds"] += c["seconds"] or 0.0

    steps = {r: e["payload"].get("steps") for r, e in train_ev.items()}
    rounds: list[RoundRow] = []
    spent = 0
    for rnd in store.assessed_rounds():
        rows = [r for r in store.assessment(rnd) if r["item_id"] in probe_module]
        if len(rows) < len(probes) or not probes:
            continue
        p_s = _per_module(rows, probe_module)
        agg = per_round.get(rnd, {})
        spent += int(agg.get("tokens_in", 0) + agg.get("tokens_out", 0))
        metrics: dict[str, Any] = {}
        mpath = run.round_dir(rnd) / "adapter" / "metrics.json"
        if rnd > 0 and mpath.is_file():
            metrics = json.loads(mpath.read_text())
        gate = assess_ev.get(rnd, {}).get("payload", {})
        items = len(store.items("train", before_round=rnd + 1)) - len(
            store.items("train", before_round=rnd)
        )
        rounds.append(
            RoundRow(
                round=rnd,
                accuracy=sum(int(r["correct"]) for r in rows) / len(rows),
                p_s=p_s,
                ratios={m: (p_s.get(m, 0.0) / t if t else 0.0) for m, t in p_t.items()},
                teacher_tokens=int(gate.get("teacher_tokens", spent)),
                calls=int(agg.get("calls", 0)),
                tokens_in=int(agg.get("tokens_in", 0)),
                tokens_out=int(agg.get("tokens_out", 0)),
                cost=float(agg.get("cost", 0.0)),
                teacher_seconds=float(agg.get("seconds", 0.0)),
                train_seconds=float(metrics.get("train_runtime_s", 0.0)),
                train_steps=int(metrics.get("steps") or steps.get(rnd) or 0),
                items=items if rnd > 0 else 0,
                decision=str(gate.get("decision", "")),
                stage=list(gate.get("skills", [])),
                paired=dict(gate.get("paired", {})),
                leak=dict(gate.get("leak", {})),
            )
        )
    if not rounds:
        raise ValueError(f"run {run.id} has no complete assessment yet: nothing to report")

    diagnoses = [
        {
            "cycle": i + 1,
            "round": e["payload"]["round"],
            "gaps": e["payload"]["gaps"],
            "severity": e["payload"]["severity"],
            "deficient": e["payload"]["deficient"],
            "targets": e["payload"]["targets"],
            "edges": e["payload"]["edges"],
        }
        for i, e in enumerate(diag_ev)
    ]
    plans = [e for e in events if e["node"] == "organize" and e["kind"] in ("plan", "replan")]
    stages = plans[-1]["payload"]["stages"] if plans else []
    hits: dict[str, int] = {}
    if "teacher_hits" in store.db.table_names():
        hits = {r["node"]: r["hits"] for r in store.db["teacher_hits"].rows}
    decisions = [
        {
            "node": e["node"],
            "kind": e["kind"],
            "round": e["payload"].get("round", ""),
            "what": _describe(e),
        }
        for e in events
        if e["node"] in ("organize", "review") or e["kind"] == "gate"
    ]
    return RunData(
        run_id=run.id,
        strategy=run.config.strategy,
        budget_tokens=run.config.teacher.budget_tokens,
        modules=modules,
        p_t=p_t,
        rounds=rounds,
        diagnoses=diagnoses,
        stages=stages,
        cache_hits=hits,
        samples=_samples(run, run.config.strategy),
        decisions=decisions,
        tau_mastery=run.config.organizer.tau_mastery,
        renderings=[e["payload"] for e in events if e["kind"] == "renderings"],
        teacher_builtin=run.config.teacher.kind == "builtin",
    )


def _describe(event: dict[str, Any]) -> str:
    """One line for a curriculum decision."""
    p = event["payload"]
    if event["node"] == "review":
        ans = p.get("answer", {})
        action = ans.get("action", "?")
        extra = ans.get("feedback") or (json.dumps(ans["plan"]) if "plan" in ans else "")
        esc = " (escalation)" if p.get("escalation") else ""
        return f"{action}{esc}" + (f": {extra}" if extra else "")
    if event["kind"] == "gate":
        verdict = "mastered" if p.get("mastered") else "not mastered"
        rows = "; ".join(
            f"{g['skill']} {g['correct']}/{g['n']} {'pass' if g['passed'] else 'fail'}"
            for g in p.get("gate", [])
        )
        fell = f"; fell below the gate: {', '.join(p['forgotten'])}" if p.get("forgotten") else ""
        return f"stage [{rows}] {verdict} → {p.get('decision')}{fell}"
    stages = " → ".join("{" + ", ".join(s["skills"]) + "}" for s in p.get("stages", []))
    again = f"; taught again: {', '.join(p['reentered'])}" if p.get("reentered") else ""
    if p.get("skipped"):
        again += f"; at the gate already, not taught: {', '.join(p['skipped'])}"
    return f"{event['kind']}: stage {p.get('stage', 0) + 1} of {stages}{again}"


def tokens_to_reach(curve: Sequence[tuple[float, float]], target: float) -> float | None:
    """Teacher tokens at which a (tokens, accuracy) curve first reaches `target`.

    Linear interpolation between the two points around the crossing; the first
    point's tokens when it already reaches it; None when it never does.
    """
    pts = sorted(curve)
    for i, (tok, acc) in enumerate(pts):
        if acc >= target:
            if i == 0:
                return float(tok)
            t0, a0 = pts[i - 1]
            return float(t0 + (tok - t0) * (target - a0) / (acc - a0))
    return None


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    vals = list(values)
    if not vals:
        return math.nan, math.nan
    return statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0
