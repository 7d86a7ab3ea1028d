"""Keep what the student knew: its own verified answers on modules outside the round.

Each round, the round's starting student (the previous round's adapter, or the base
model) answers fresh questions of the modules the round does not teach, drawn where
its last assessment says it tends to be right: written by the teacher for a built-in
domain, drawn from the seed pool for seed data, never a probe (the probe-leak filter
of `adapter.filters` applies, and an answer that works out a probe's operation on the
way is dropped). The run's scorer checks each answer against the gold;
only verified answers that ended before the token limit are kept, as items of
rendering `self` whose completion is the student's text verbatim, up to
`adapter.self_replay` of the round's training rows. Training on them keeps the
student's own format and skills on those modules while the stage is taught (SDFT,
ACL 2024).

This module does not pick the round's stage, train, or score probes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from ioa_agent import probe_scores  # by module: tests set the student's answers there
from ioa_agent.adapter.budget import replay_questions
from ioa_agent.adapter.filters import drop_stated, filter_items
from ioa_agent.display import progress_bar
from ioa_agent.domains.seed import seed_items
from ioa_agent.items import SELF, Item
from ioa_agent.organizer.curriculum import replay_count
from ioa_agent.run import Run, derive_seed


def questions(run: Run, modules: Sequence[str], n: int, rnd: int) -> tuple[list[Item], int]:
    """About `n` fresh questions of `modules`, none a probe, spread over (module, level)
    cells in proportion to the starting student's success rate there on its last
    assessment (evenly when it was right nowhere), so many can be verified."""
    specs = {m.id: m for m in run.store.modules()}
    seen: dict[tuple[str, int], list[int]] = defaultdict(list)
    for row in run.store.assessment(rnd - 1):
        seen[(row["module"], row["level"])].append(int(row["correct"]))
    cells = [(m, lv) for m in modules for lv in range(1, specs[m].levels + 1)]
    if not cells or n <= 0:
        return [], 0
    weight = {c: sum(seen[c]) / len(seen[c]) if seen[c] else 0.0 for c in cells}
    if not any(weight.values()):  # right nowhere yet: ask everywhere alike
        weight = dict.fromkeys(cells, 1.0)
    total = sum(weight.values())
    drawn: list[Item] = []
    for m, lv in cells:
        k = round(n * weight[(m, lv)] / total)
        if k == 0:
            continue
        seed = derive_seed(run.config.seed, "self", rnd, m, lv)
        drawn += seed_items(run, specs[m], lv, k, seed)
    probes = [p.prompt for p in run.store.items("probe")]
    kept, dropped = filter_items(
        [(it, it.answer) for it in drawn], probes, lambda a, g: a == g, key=run.scorer.content_key
    )
    random.Random(derive_seed(run.config.seed, "self", rnd)).shuffle(kept)
    return kept[:n], sum(reason == "probe_leak" for _, reason in dropped)


def own_answers(
    run: Run, rnd: int, outside: Sequence[str], n_new: int, end: int | None
) -> tuple[list[Item], int]:
    """The starting student's verified answers on `outside` modules, at the configured
    share, and how many the probe filter dropped: drawn questions, and answers that
    compute a probe's content on the way.

    `n_new` is the count of the round's new items; the share is taken of new plus self
    rows, as replay's is (`organizer.replay_count`). `end` is where the round's share
    of the teacher-token budget ends (None: no budget): it bounds the questions asked
    (`budget.replay_questions`).
    """
    cfg = run.config.adapter
    want = replay_count(n_new, cfg.self_replay)
    asked = replay_questions(run, rnd, end) if want and outside else 0
    if asked == 0:
        return [], 0

    drawn, leaked = questions(run, outside, asked, rnd)
    with progress_bar(f"self-replay answers (round {rnd})", len(drawn)) as advance:
        outputs = probe_scores.student_outputs(run, rnd - 1, [q.prompt for q in drawn], advance)
    verdicts = run.scorer.check_outputs(drawn, outputs)
    ended = finished(run, outputs)
    own = [
        q.model_copy(update={"rationale": out.strip(), "rendering": SELF})
        for q, out, (_, ok), done in zip(drawn, outputs, verdicts, ended, strict=True)
        if ok and done and out.strip()
    ]
    # an answer that works out a probe's operation on the way ("3 * 4 = 12") states it
    probe_keys = {run.scorer.content_key(p.prompt) for p in run.store.items("probe")}
    own, stated = drop_stated(own, probe_keys, run.scorer.stated_keys)
    return own[:want], leaked + stated


def finished(run: Run, outputs: Sequence[str]) -> list[bool]:
    """Whether each answer ended before the token limit (a cut-off one teaches cutting off)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(run.student_model))
    limit = run.config.assess.max_new_tokens
    return [len(tokenizer(o, add_special_tokens=False)["input_ids"]) < limit - 1 for o in outputs]
