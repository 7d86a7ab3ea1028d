"""Domains defined by seed data: questions with gold answers, from a Hugging Face
dataset (`hf://OWNER/NAME[@REVISION][:CONFIG]/SPLIT`, through `datasets` and its cache)
or a local JSONL file.

Each row holds `prompt` (or `question`/`text`), `answer` (or `code`), and optionally
`module` (`category/name`), `level` (1..) and `tests` (or `test_list`: assert
statements, for code). GSM8K-style answers (`... #### 72`) and solutions ending in a
`\\boxed{}` answer are split into a worked rationale and the final answer.

`build_seed_domain` turns the file into the run's modules and items, once: modules
come from the items' tags, else from the teacher (decompose, then classify each
untagged item into a module and a level; tagged items keep theirs); per module,
`probes_per_module` items are held out as probes (never trained on: they stay out
of the seed pool, and the adapter's leak filter rejects look-alikes), and a module
with too few gets teacher-written probes, whose provenance is the teacher's model id
instead of the seed file. `seed_items` draws a round's seed items from the pool.
This module does not score anything.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ioa_agent.config import HF_SEED
from ioa_agent.evaluation.math_scoring import last_boxed
from ioa_agent.items import Item, ModuleSpec

if TYPE_CHECKING:
    from ioa_agent.run import Run

_MODULE_ID = re.compile(r"^[a-z0-9_]+/[a-z0-9_]+$")
_CALC = re.compile(r"<<[^<>]*>>")
_PROMPT_KEYS = ("prompt", "question", "text")
_ANSWER_KEYS = ("answer", "code")
_TEST_KEYS = ("tests", "test_list")


class SeedDataError(ValueError):
    """A seed file that cannot be used; the message names the line and the fix."""


def _first(row: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((row[k] for k in keys if k in row), None)


def split_answer(answer: str) -> tuple[str, str]:
    """(rationale, final answer) of a gold answer: `#### N` or a last `\\boxed{}`."""
    if "####" in answer:
        body, _, final = answer.rpartition("####")
        return _CALC.sub("", body).strip(), final.strip().replace(",", "")

    boxed = last_boxed(answer) if "\\boxed" in answer else None
    if boxed is not None:
        return answer.strip(), boxed.strip()
    return "", answer.strip()


def parse_row(row: Any, where: str, scorer: str) -> Item:
    """One seed line as an Item (module "" and level 0 when untagged)."""
    if not isinstance(row, dict):
        raise SeedDataError(f"{where}: each line must be a JSON object")
    prompt, answer = _first(row, _PROMPT_KEYS), _first(row, _ANSWER_KEYS)
    if not isinstance(prompt, str) or not prompt.strip():
        raise SeedDataError(f"{where}: needs a non-empty string `prompt` (or `question`)")
    if not isinstance(answer, str) or not answer.strip():
        raise SeedDataError(f"{where}: needs a non-empty string `answer` (or `code`)")
    module = row.get("module") or ""
    if module and not (isinstance(module, str) and _MODULE_ID.match(module)):
        raise SeedDataError(f"{where}: `module` must look like `category/name`, got {module!r}")
    level = row.get("level", 0)
    if not isinstance(level, int) or level < 0:
        raise SeedDataError(f"{where}: `level` must be a positive integer, got {level!r}")
    tests = _first(row, _TEST_KEYS) or []
    if isinstance(tests, str):
        tests = [tests]
    if not (isinstance(tests, list) and all(isinstance(t, str) for t in tests)):
        raise SeedDataError(f"{where}: `tests` must be a list of assert statements")
    if scorer == "code":
        if not tests:
            raise SeedDataError(f"{where}: a code domain needs `tests` on every item")
        rationale, final = "", answer.replace("\r\n", "\n").strip()
    else:
        rationale, final = split_answer(answer) if scorer == "math" else ("", answer.strip())
    return Item(
        module=module,
        level=level,
        prompt=prompt.strip(),
        answer=final,
        rationale=rationale,
        tests=list(tests),
    )


def load_seed_file(path: Path, scorer: str, limit: int | None = None) -> list[Item]:
    """The seed items of a JSONL file, validated line by line (first `limit` lines)."""
    items: list[Item] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if limit is not None and len(items) >= limit:
                break
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SeedDataError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            items.append(parse_row(row, f"{path}:{number}", scorer))
    if not items:
        raise SeedDataError(f"{path} holds no seed items")
    return items


def load_seed_hub(path: str, scorer: str, limit: int | None = None) -> list[Item]:
    """The seed items of `hf://OWNER/NAME[@REVISION][:CONFIG]/SPLIT` (first `limit` rows),
    from the `datasets` cache or the hub (HF_DATASETS_OFFLINE=1 keeps to the cache)."""
    spec = HF_SEED.match(path)
    if spec is None:
        raise SeedDataError(f"{path} is not hf://OWNER/NAME[@REVISION][:CONFIG]/SPLIT")
    from datasets import load_dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    split = spec["split"] if limit is None else f"{spec['split']}[:{limit}]"
    try:
        data = load_dataset(spec["repo"], spec["config"], split=split, revision=spec["revision"])
    except Exception as exc:  # offline and not cached, no network, unknown repo or split
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise SeedDataError(
            f"seed_data.path {path}: not in the datasets cache and not reachable ({reason}): "
            "go online once so `datasets` caches it, or point seed_data.path at a local "
            "JSONL file"
        ) from exc
    items = [parse_row(dict(row), f"{path} row {i}", scorer) for i, row in enumerate(data)]
    if not items:
        raise SeedDataError(f"{path} holds no seed items")
    return items


def load_seed(path: str, scorer: str, limit: int | None = None) -> list[Item]:
    """Seed items of a dataset id (`hf://...`) or a local JSONL file."""
    if path.startswith("hf://"):
        return load_seed_hub(path, scorer, limit)
    return load_seed_file(Path(path), scorer, limit)


def split_probes(items: list[Item], per_module: int, seed: int) -> tuple[list[Item], list[Item]]:
    """(probes, pool): per module, `per_module` items spread over its levels, held out."""
    by_module: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        by_module[it.module].append(it)
    probes: list[Item] = []
    for module, group in sorted(by_module.items()):
        rng = random.Random(f"{seed}:{module}")
        by_level: dict[int, list[Item]] = defaultdict(list)
        for it in sorted(group, key=lambda i: i.id):
            by_level[it.level].append(it)
        for pile in by_level.values():
            rng.shuffle(pile)
        taken: list[Item] = []
        while len(taken) < per_module and any(by_level.values()):
            for level in sorted(by_level):
                if by_level[level] and len(taken) < per_module:
                    taken.append(by_level[level].pop())
        probes += taken
    held = {p.id for p in probes}
    return probes, [it for it in items if it.id not in held]


def build_seed_domain(run: Run) -> None:
    """Modules, probes and the seed pool in the run store, built on the first visit."""
    if run.store.modules():
        return
    cfg = run.config.seed_data
    assert cfg is not None
    items = load_seed(cfg.path, cfg.scorer, cfg.limit)
    source = f"seed:{cfg.path if cfg.path.startswith('hf://') else Path(cfg.path).name}"
    if all(it.module for it in items):
        items = [it if it.level else it.model_copy(update={"level": 1}) for it in items]
        levels = defaultdict(int)
        for it in items:
            levels[it.module] = max(levels[it.module], it.level)
        specs = [
            ModuleSpec(id=m, description=m.replace("_", " "), levels=n)
            for m, n in sorted(levels.items())
        ]
    else:
        specs, items = _classified(run, items)
    probes, pool = split_probes(items, cfg.probes_per_module, run.config.seed)
    run.store.save_items(probes, "probe", 0, source)
    run.store.save_items(pool, "seed", 0, source)
    have = defaultdict(int)
    for p in probes:
        have[p.module] += 1
    for spec in specs:
        missing = cfg.probes_per_module - have[spec.id]
        if missing > 0:
            extra = run.teacher.write_items(spec, 1, missing, run.config.seed)
            run.store.save_items(extra, "probe", 0, run.teacher.model_id)
    run.store.save_modules(specs)  # last: a store with modules is a built domain


def _classified(run: Run, items: list[Item]) -> tuple[list[ModuleSpec], list[Item]]:
    """Modules from the teacher plus the tagged ones; each untagged item placed by the teacher.

    A tagged item keeps its module and level (1 when it has none); a tagged module
    the teacher did not propose is added, with as many levels as its items use (at
    least the configured count). Untagged items may land in any of the modules.
    """
    cfg = run.config.seed_data
    assert cfg is not None
    examples = [it.prompt for it in items[:8]]
    tagged: dict[str, int] = defaultdict(int)
    for it in items:
        if it.module:
            tagged[it.module] = max(tagged[it.module], it.level, 1)
    specs = {
        s.id: s.model_copy(update={"levels": max(cfg.levels, tagged.get(s.id, 0))})
        for s in run.teacher.decompose(run.config.domain, examples)
    }
    for module, top in tagged.items():
        if module not in specs:
            specs[module] = ModuleSpec(
                id=module, description=module.replace("_", " "), levels=max(cfg.levels, top)
            )
    modules = sorted(specs.values(), key=lambda s: s.id)
    todo = [it for it in items if not it.module]
    labels = run.teacher.classify_many([it.prompt for it in todo], modules, cfg.levels)
    placed = {it.id: lab for it, lab in zip(todo, labels, strict=True)}
    out: list[Item] = []
    for it in items:
        if it.module:
            out.append(it if it.level else it.model_copy(update={"level": 1}))
        elif placed.get(it.id) is not None:
            module, level = placed[it.id]
            out.append(it.model_copy(update={"module": module, "level": level}))
    if not out:
        raise RuntimeError("the teacher placed no seed item in a module; see `ioa status`")
    used = {it.module for it in out}
    return [s for s in modules if s.id in used], out


def seed_items(run: Run, module: ModuleSpec, level: int, n: int, seed: int) -> list[Item]:
    """`n` seed items of `module` at `level`: from the seed-data pool (nearest level
    first), and written by the teacher where the pool runs short or, for a domain
    without seed data (the built-in one), for all `n`. The Adapter's writing and
    self-replay both draw here."""
    pool = run.store.items("seed", module=module.id, before_round=1)
    rng = random.Random(seed)
    ordered = sorted(pool, key=lambda it: (abs(it.level - level), rng.random()))
    picked = ordered[:n]
    if len(picked) < n:
        picked += run.teacher.write_items(module, level, n - len(picked), seed)
    return picked
