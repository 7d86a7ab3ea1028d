"""Fit a round's material to the measured student: the rendering it trains on.

For each (module, level) group of the round's verified items, a seeded sample is
offered in every candidate rendering: the teacher's own text (its rewrite, or its
solution) and the short renderings of `adapter.renderings`, written by the teacher
(`Teacher.render`, through the run's cache). The round's starting student scores the
sample of each rendering with forward passes only (`adapter.score`): s(A|Q), s(A) and
IFD. `adapter.renderings.pick` chooses; then the whole group is written in the pick.
A rendering whose final answer disagrees with the item's verified answer is dropped,
for the scoring and the training data alike. With `adapter.rendering` set to a name,
that rendering is used without scoring.

This module does not synthesize, verify or de-duplicate items (the adapt node does),
and does not train.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from ioa_agent.adapter.renderings import RULE, pick, summarize
from ioa_agent.adapter.score import answer_losses
from ioa_agent.config import Config
from ioa_agent.display import console
from ioa_agent.items import TEACHER, Item
from ioa_agent.pedagogy.strategies import rewrites
from ioa_agent.run import Run, derive_seed


def in_rendering(item: Item, name: str, text: str) -> Item:
    """`item` with its rationale written in rendering `name`."""
    return item.model_copy(update={"rationale": text, "rendering": name})


def _rendered(run: Run, items: list[Item], name: str) -> list[Item | None]:
    """Each item in rendering `name`; None where the teacher failed or the answer is off."""
    out = run.teacher.render_many(items)
    made = [
        in_rendering(it, name, r[name]) if r and r.get(name, "").strip() else None
        for it, r in zip(items, out, strict=True)
    ]
    if run.scorer.kind not in ("arithmetic", "math"):
        return made
    present = [m for m in made if m is not None]
    verdicts = iter(run.scorer.check_outputs(present, [m.rationale for m in present]))
    return [m if m is not None and next(verdicts)[1] else None for m in made]


MARGIN = 8
"""Tokens an assessment's answer may run past the longest candidate completion."""


def check_answer_room(run: Run, rnd: int, samples: dict[tuple[str, int, str], list[Item]]) -> int:
    """The longest candidate completion in the student's tokens; when it does not fit
    `assess.max_new_tokens` with `MARGIN` to spare, a warning naming the rendering
    (once a run): a rendering cut off at assessment would lose by truncation, not by
    what the student learned."""
    sized = [(key, it.completion()) for key, items in samples.items() for it in items]
    if not sized:
        return 0
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(run.student_model))
    lengths = [(len(tokenizer(c, add_special_tokens=False)["input_ids"]), k) for k, c in sized]
    longest, (module, level, name) = max(lengths)
    cap = run.config.assess.max_new_tokens
    if longest + MARGIN > cap and not run.store.events("answer_room"):
        payload = {"round": rnd, "longest": longest, "cap": cap, "rendering": name}
        run.store.log_event("answer_room", "adapt", "answer_room", payload)
        console.print(
            f"round {rnd}: the `{name}` rendering of {module}@{level} runs to {longest} "
            f"tokens; answers in it would be cut off at assess.max_new_tokens {cap} were it "
            f"picked: set that to at least {longest + MARGIN}",
            markup=False,
        )
    return longest


def fits(config: Config) -> bool:
    """Whether a run's rounds are written in a rendering other than the teacher's text:
    a fixed one, or the rule's pick for a strategy that adapts material."""
    cfg = config.adapter
    if cfg.rendering == TEACHER:
        return False
    return cfg.rendering != "auto" or (rewrites(config.strategy) and bool(cfg.renderings))


def fit(run: Run, rnd: int, items: list[Item]) -> tuple[list[Item], dict[str, Any]]:
    """The round's items in the rendering picked for each group, and the record of it.

    The record (`{"round", "rule", "groups": [{"module", "level", "scores", "picked",
    "kept", "dropped"}]}`) is empty when renderings do not apply: the strategy does not
    adapt material and no rendering is fixed, or `adapter.rendering` is `teacher`.
    """
    cfg = run.config.adapter
    setting = cfg.rendering
    auto = setting == "auto"
    if not fits(run.config):
        return items, {}
    groups: dict[tuple[str, int], list[Item]] = defaultdict(list)
    for it in items:
        groups[(it.module, it.level)].append(it)
    names = [TEACHER, *cfg.renderings]

    picked: dict[tuple[str, int], str] = {}
    scores: dict[tuple[str, int], dict[str, Any]] = {}
    if auto:
        samples: dict[tuple[str, int, str], list[Item]] = {}
        for key, group in sorted(groups.items()):
            rng = random.Random(derive_seed(run.config.seed, "render", rnd, *key))
            sample = rng.sample(group, min(cfg.render_sample, len(group)))
            samples[(*key, TEACHER)] = sample
            for name in cfg.renderings:
                samples[(*key, name)] = [m for m in _rendered(run, sample, name) if m]
        pairs = [(it.prompt, it.completion()) for s in samples.values() for it in s]
        check_answer_room(run, rnd, samples)

        losses = iter(answer_losses(run.student_model, pairs, run.adapter_dir(rnd - 1)))
        for key in sorted(groups):
            scored = {}
            for name in names:
                got = [next(losses) for _ in samples[(*key, name)]]
                if got:
                    scored[name] = summarize(got)
            scores[key] = scored
            picked[key] = pick(scored, names) if scored else TEACHER
    else:
        picked = dict.fromkeys(groups, setting)

    out: list[Item] = []
    record: list[dict[str, Any]] = []
    for key, group in sorted(groups.items()):
        name = picked[key]
        made = group if name == TEACHER else [m for m in _rendered(run, group, name) if m]
        out += made
        record.append(
            {
                "module": key[0],
                "level": key[1],
                "scores": scores.get(key, {}),
                "picked": name,
                "kept": len(made),
                "dropped": len(group) - len(made),
            }
        )
    rule = RULE if auto else f"fixed by adapter.rendering: {setting}"
    return out, {"round": rnd, "rule": rule, "groups": record}
