"""Scoring teacher and student on the held-out probes.

P_T(k) is measured like any teacher's accuracy: the teacher solves each probe from
its text, and its answer is checked against the gold. P_S(k) comes from the student
(the base model or a round's adapter) generating greedily: in batches with
Transformers, or through a vLLM server (`student.backend: vllm`). Both are stored
per item; this module turns them into per-module and per-level scores, the paired
change of each module against the untrained student, and the format leak on the
modules a round did not teach. It does not decide anything: the pedagogy functions
and the nodes do.
"""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ioa_agent.items import SELF, Item
from ioa_agent.pedagogy.measures import PairedChange, in_template, paired_change, templates_of
from ioa_agent.run import Run
from ioa_agent.student.generate import generate
from ioa_agent.student.vllm_client import generate_for_run
from ioa_agent.student.vllm_server import VLLMNotInstalled


def teacher_scores(run: Run, probes: list[Item]) -> dict[str, int]:
    """1/0 per probe id: does the teacher's own solution match the gold answer.

    A probe the teacher failed to answer (malformed after the re-asks) counts as wrong.
    """
    known = run.store.teacher_answers()
    todo = [p for p in probes if p.id not in known]
    if todo:
        solutions = run.teacher.solve_many([p.prompt for p in todo])
        answers = [s.answer if s is not None else None for s in solutions]
        correct = run.scorer.check(todo, answers)
        rows = [
            {"item_id": p.id, "answer": a or "", "correct": int(ok)}
            for p, a, ok in zip(todo, answers, correct, strict=True)
        ]
        run.store.save_teacher_answers(rows)
        known = run.store.teacher_answers()
    return {p.id: known[p.id]["correct"] for p in probes}


def student_scores(
    run: Run, round: int, probes: list[Item], progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """1/0 per probe id for the student of `round` (0: the base model); stored once."""
    done = {r["item_id"]: r["correct"] for r in run.store.assessment(round)}
    todo = [p for p in probes if p.id not in done]
    if todo:
        outputs = student_outputs(run, round, [p.prompt for p in todo], progress)
        rows = [
            {
                "item_id": probe.id,
                "module": probe.module,
                "level": probe.level,
                "output": out,
                "extracted": pred,
                "correct": int(ok),
            }
            for probe, out, (pred, ok) in zip(
                todo, outputs, run.scorer.check_outputs(todo, outputs), strict=True
            )
        ]
        run.store.save_assessment(round, rows)
        done.update({r["item_id"]: r["correct"] for r in rows})
    return {p.id: done[p.id] for p in probes}


def student_outputs(
    run: Run, round: int, prompts: list[str], progress: Callable[[int], None] | None
) -> list[str]:
    """Greedy answers of `round`'s student: vLLM when configured and installed, else
    Transformers in this process."""
    if run.config.student.backend == "vllm":
        try:
            return generate_for_run(run, round, prompts, progress)
        except VLLMNotInstalled as exc:
            warnings.warn(f"{exc}; assessing with transformers instead", stacklevel=2)

    return generate(
        run.student_model,
        prompts,
        adapter_dir=run.adapter_dir(round),
        batch_size=run.config.assess.batch_size,
        max_new_tokens=run.config.assess.max_new_tokens,
        progress=progress,
    )


def per_module(probes: list[Item], scores: dict[str, int]) -> dict[str, float]:
    """Mean score per module."""
    acc: dict[str, list[int]] = defaultdict(list)
    for p in probes:
        acc[p.module].append(scores[p.id])
    return {m: sum(v) / len(v) for m, v in sorted(acc.items())}


def per_level_ratio(
    probes: list[Item], student: dict[str, int], teacher: dict[str, int]
) -> dict[str, dict[str, float]]:
    """P_S/P_T per module and level (levels as string keys, JSON-plain)."""
    s: dict[tuple[str, int], list[int]] = defaultdict(list)
    t: dict[tuple[str, int], list[int]] = defaultdict(list)
    for p in probes:
        s[(p.module, p.level)].append(student[p.id])
        t[(p.module, p.level)].append(teacher[p.id])
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for (module, level), vals in sorted(s.items()):
        pt = sum(t[(module, level)]) / len(vals)
        out[module][str(level)] = (sum(vals) / len(vals)) / pt if pt else 0.0
    return dict(out)


def history(run: Run, probes: list[Item]) -> list[dict[str, float]]:
    """P_S per module at every assessed checkpoint of the student, oldest first."""
    out = []
    for r in run.store.assessed_rounds():
        rows: dict[str, Any] = {row["item_id"]: row["correct"] for row in run.store.assessment(r)}
        if all(p.id in rows for p in probes):
            out.append(per_module(probes, rows))
    return out


def paired_by_module(run: Run, round: int) -> dict[str, PairedChange]:
    """Each module's change from the untrained student (round 0) to `round`, paired on
    the probes both assessed, with its 95% interval and McNemar p (pedagogy.measures)."""
    before = {r["item_id"]: r["correct"] for r in run.store.assessment(0)}
    after = {r["item_id"]: r["correct"] for r in run.store.assessment(round)}
    pairs: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for p in run.store.items("probe"):
        if p.id in before and p.id in after:
            pairs[p.module][0].append(before[p.id])
            pairs[p.module][1].append(after[p.id])
    return {m: paired_change(b, a) for m, (b, a) in sorted(pairs.items())}


def taught_completions(run: Run, round: int) -> dict[str, list[str]]:
    """The completions taught new in `round` (no replay, no self answers), per module."""
    path = run.round_dir(round) / "train.jsonl"
    out: dict[str, list[str]] = defaultdict(list)
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if not row.get("replay") and row.get("rendering") != SELF:
                out[row["module"]].append(row["completion"])
    return dict(out)


def leak_by_module(run: Run, round: int) -> dict[str, dict[str, float]]:
    """Format leak on the modules `round` did not teach: the share of their probe answers
    written in a template taught that round, for this round's student and, as the
    reference, the untrained student on the same probes (those both answered)."""
    taught = taught_completions(run, round)
    completions = [c for cs in taught.values() for c in cs]
    if not completions:
        return {}
    templates = templates_of(completions)
    out: dict[str, dict[str, float]] = {}
    now = {r["item_id"]: r for r in run.store.assessment(round) if r["module"] not in taught}
    then = {r["item_id"]: r for r in run.store.assessment(0) if r["item_id"] in now}
    for key, rows in (("round", now), ("untrained", then)):
        by_module: dict[str, list[str]] = defaultdict(list)
        for item_id in then:  # the probes both students answered
            by_module[rows[item_id]["module"]].append(rows[item_id]["output"] or "")
        for m, outputs in sorted(by_module.items()):
            share = sum(in_template(o, templates) for o in outputs) / len(outputs)
            out.setdefault(m, {})[key] = share
    return out
