"""Which operand tuples of the built-in arithmetic domain are held out for probes.

A fixed share of every template's tuples (`PROBE_SHARE`, by a hash), and, where a skill
(module and level) would hold fewer than the gate's 16, more of its tuples
(`PROBE_TUPLES`). Probes are drawn only from this set and training items never, so no
trained item can share a probe's operands. It does not write, solve or rewrite items
(`arithmetic` does), nor compare items with stored probes (the Adapter's filter does).
"""

from __future__ import annotations

import functools
import hashlib
import json
import random

from ioa_agent.domains.arithmetic_stories import STORY_TEMPLATES, WORD_FIELDS
from ioa_agent.domains.arithmetic_templates import LEVELS, NUMBER_TEMPLATES, Fields, Template

TEMPLATES: tuple[Template, ...] = NUMBER_TEMPLATES + STORY_TEMPLATES
PROBE_SHARE = 0.25
"""Share of each template's operand tuples set aside for probes and never trained on:
a one-digit level has only ~50-100 tuples, so without it the training items would
cover the probes' operands."""
PROBE_TUPLES = 16
"""The fewest operand tuples a skill (module and level) sets aside, so that the mastery
gate's 16 probes each ask a different fact. Where the hashed share holds fewer (the
one-digit times table: 36 facts once 6 × 9 and 9 × 6 count as one), the skill also sets
aside its lowest-hashed tuples above the share, up to half of its item space."""
SPACE_DRAWS = 3000
"""Draws that map a skill's item space, enough to meet every tuple of a small one."""


def seeded_rng(*parts: object) -> random.Random:
    """A generator seeded from a sha256 of `parts`: the same request, the same draws."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def operand_key(tpl: Template, fields: Fields) -> str:
    """What a problem asks, without its words: the template (one skill of one module, so
    every phrasing of `a + b` shares it) and the numbers, e.g. `add:a=7,b=11`. Operands
    that commute (`Template.swaps`) are put in order, so 11 + 7 and 7 + 11 are one fact."""
    numbers = {k: v for k, v in fields.items() if k not in WORD_FIELDS}
    if tpl.swaps and all(k in numbers for group in tpl.swaps for k in group):
        ordered = sorted(tuple(int(numbers[k]) for k in group) for group in tpl.swaps)
        for group, values in zip(tpl.swaps, ordered, strict=True):
            numbers.update(zip(group, values, strict=True))
    return f"{tpl.name}:" + ",".join(f"{k}={v}" for k, v in sorted(numbers.items()))


def _hash(key: str) -> float:
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@functools.cache
def _quota() -> frozenset[str]:
    """The tuples set aside beyond the hashed share, so that each skill holds at least
    `PROBE_TUPLES` (at most half its space): its lowest-hashed tuples above the share.
    A skill's space is mapped by drawing from its templates in turn (`SPACE_DRAWS`),
    stopping early once the share alone holds enough."""
    extra: set[str] = set()
    for module in sorted({t.module for t in TEMPLATES}):
        for level in range(1, LEVELS + 1):
            templates = [t for t in TEMPLATES if t.module == module and level in t.levels]
            rng = seeded_rng("space", module, level)
            keys: set[str] = set()
            inside = 0
            for draw in range(SPACE_DRAWS if templates else 0):
                tpl = templates[draw % len(templates)]
                key = operand_key(tpl, tpl.draw(rng, level))
                if key not in keys:
                    keys.add(key)
                    inside += _hash(key) < PROBE_SHARE
                if inside >= PROBE_TUPLES:
                    break
            else:
                want = min(PROBE_TUPLES, len(keys) // 2)
                extra.update(k for k in sorted(keys, key=_hash)[:want] if _hash(k) >= PROBE_SHARE)
    return frozenset(extra)


def held_out(key: str) -> bool:
    """Whether an operand tuple belongs to the probes' fixed set: `PROBE_SHARE` of all
    tuples, by a hash, and each skill's quota (`PROBE_TUPLES`). Probes are drawn only
    from it, training items never."""
    return _hash(key) < PROBE_SHARE or key in _quota()
