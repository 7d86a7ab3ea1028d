"""Every teacher call goes through the run store's cache.

`CachedTeacher` wraps any `Teacher`: each call becomes a JSON request, keyed by a
hash of the teacher's model id, the task and the request; a hit returns the stored
answer, a miss calls the teacher and commits the answer and its usage before
returning. A run resumed after a crash therefore never pays for the same call twice.
It does not retry, rate-limit or batch: that is the wrapped teacher's business.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from ioa_agent.items import Item, ModuleSpec, Solution, Strategy, Variant
from ioa_agent.store import RunStore
from ioa_agent.teacher.base import Teacher


def request_key(model_id: str, task: str, request: dict[str, Any]) -> str:
    """Cache key: sha256 of model, task and the request (sorted JSON)."""
    blob = json.dumps([model_id, task, request], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _estimate_tokens(obj: Any) -> int:
    """About four characters a token, for teachers that report no usage."""
    return max(1, len(json.dumps(obj)) // 4)


class CachedTeacher:
    """A `Teacher` whose every call is cached in (and counted by) the run store."""

    def __init__(self, inner: Teacher, store: RunStore) -> None:
        self.inner = inner
        self.store = store
        self.model_id = inner.model_id
        self.hits = 0
        self.misses = 0

    def _call(self, task: str, request: dict[str, Any], fn: Callable[[], Any]) -> Any:
        key = request_key(self.model_id, task, request)
        cached = self.store.cache_get(key)
        if cached is not None:
            self.hits += 1
            return cached
        start = time.perf_counter()
        response = fn()
        seconds = time.perf_counter() - start
        usage = getattr(self.inner, "last_usage", None) or (
            _estimate_tokens(request),
            _estimate_tokens(response),
        )
        self.store.cache_put(key, task, request, response, usage, seconds)
        self.misses += 1
        return response

    def decompose(self, domain: str) -> list[ModuleSpec]:
        out = self._call(
            "decompose",
            {"domain": domain},
            lambda: [m.model_dump() for m in self.inner.decompose(domain)],
        )
        return [ModuleSpec(**m) for m in out]

    def write_items(self, module: ModuleSpec, level: int, n: int, seed: int) -> list[Item]:
        req = {"module": module.model_dump(), "level": level, "n": n, "seed": seed}
        out = self._call(
            "write_items",
            req,
            lambda: [i.model_dump() for i in self.inner.write_items(module, level, n, seed)],
        )
        return [Item(**i) for i in out]

    def synthesize(self, seed_item: Item, level: int, n: int, seed: int) -> list[Item]:
        req = {"item": seed_item.model_dump(), "level": level, "n": n, "seed": seed}
        out = self._call(
            "synthesize",
            req,
            lambda: [i.model_dump() for i in self.inner.synthesize(seed_item, level, n, seed)],
        )
        return [Item(**i) for i in out]

    def solve(self, prompt: str) -> Solution:
        out = self._call("solve", {"prompt": prompt}, lambda: self.inner.solve(prompt).model_dump())
        return Solution(**out)

    def rewrite(self, item: Item, strategies: list[Strategy], variant: Variant) -> Item:
        req = {"item": item.model_dump(), "strategies": list(strategies), "variant": variant}
        out = self._call(
            "rewrite",
            req,
            lambda: self.inner.rewrite(item, strategies, variant).model_dump(),
        )
        return Item(**out)
