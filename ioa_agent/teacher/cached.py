"""Every teacher call goes through the run store's cache, within the run's budget.

`CachedTeacher` wraps any `Teacher`: each call becomes a JSON request, keyed by a
hash of the teacher's identity (model and sampling), the task and the request; a hit
returns the stored answer, a miss calls the teacher and commits the answer, its tokens,
cost, retried faults and the node that asked, before anything else happens. A resumed
run therefore never pays for the same call twice, and a failed call (an answer that
stayed malformed) is stored too, so it is not paid for twice either: callers get None.

The `*_many` methods run their misses concurrently (LangChain's `batch_as_completed`,
at most `max_concurrency` in flight) and commit each answer as it arrives. With a
token budget, no call starts once the budget is spent: `BudgetSpent` is raised
instead (calls already in flight may overshoot it by at most one batch).

It does not retry, rate-limit or validate answers: that is the wrapped teacher's job.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ioa_agent.items import Item, ModuleSpec, Solution, Strategy, Variant
from ioa_agent.store import RunStore
from ioa_agent.teacher.base import Teacher, TeacherFailure, Usage


class BudgetSpent(RuntimeError):
    """The run's teacher-token budget is spent; no further call is made."""


@dataclass
class TeacherCall:
    """One real call to the teacher, as the run store records it."""

    response: Any
    error: str | None = None
    node: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    attempts: int = 1
    faults: dict[str, int] = field(default_factory=dict)


def request_key(model_id: str, task: str, request: dict[str, Any]) -> str:
    """Cache key: sha256 of model, task and the request (sorted JSON)."""
    blob = json.dumps([model_id, task, request], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _estimate_tokens(obj: Any) -> int:
    """About four characters a token: only when no tokenizer is given (narrow unit tests)."""
    return max(1, len(json.dumps(obj)) // 4)


class CachedTeacher:
    """A `Teacher` whose every call is cached in (and counted by) the run store."""

    def __init__(
        self,
        inner: Teacher,
        store: RunStore,
        *,
        budget_tokens: int | None = None,
        price_in: float = 0.0,
        price_out: float = 0.0,
        max_concurrency: int = 1,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.inner = inner
        self.store = store
        self.model_id = inner.model_id
        self.cache_id = inner.model_id + getattr(inner, "cache_salt", "")
        self.budget_tokens = budget_tokens
        self.prices = (price_in, price_out)
        self.max_concurrency = max_concurrency
        self.count_tokens = count_tokens  # for a teacher without usage figures
        self.node = ""
        self.hits = 0
        self.misses = 0
        self.metered = 0  # tokens of every answer given, a cached one at its first cost

    def metered_tokens(self) -> int:
        """Tokens of every answer this process gave, cached ones at what they first cost:
        the same requests meter the same whether or not a crash came between them."""
        return self.metered

    def spent_tokens(self) -> int:
        """Teacher tokens (in + out) this run has paid for so far."""
        use = self.store.teacher_usage()
        return use["tokens_in"] + use["tokens_out"]

    def _check_budget(self) -> None:
        if self.budget_tokens is not None and self.spent_tokens() >= self.budget_tokens:
            raise BudgetSpent(f"teacher budget of {self.budget_tokens} tokens is spent")

    def _call_one(self, request: dict[str, Any], fn: Callable[[], Any]) -> TeacherCall:
        start = time.perf_counter()
        try:
            response, error = fn(), None
        except TeacherFailure as exc:
            response, error = None, str(exc)[:500] or type(exc).__name__
        seconds = time.perf_counter() - start
        usage_of = getattr(self.inner, "usage", None)
        usage: Usage | None = usage_of() if usage_of is not None else None
        if usage is None:
            count = self.count_tokens
            sizes = [
                count(json.dumps(o, sort_keys=True, ensure_ascii=False))
                if count
                else _estimate_tokens(o)
                for o in (request, response)
            ]
            usage = Usage(*sizes)
        cost = (usage.tokens_in * self.prices[0] + usage.tokens_out * self.prices[1]) / 1e6
        return TeacherCall(
            response=response,
            error=error,
            node=self.node,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            cost=cost,
            seconds=seconds,
            attempts=usage.attempts,
            faults=dict(usage.faults),
        )

    def _many(
        self, task: str, requests: Sequence[dict[str, Any]], fn: Callable[[int], Any]
    ) -> list[Any | None]:
        """Answers to `requests` in order (None for a failed call); `fn(i)` calls the teacher."""
        keys = [request_key(self.cache_id, task, r) for r in requests]
        answers: dict[str, Any] = {}
        todo: dict[str, int] = {}
        hits = 0
        for i, key in enumerate(keys):
            if key in answers or key in todo:
                continue
            cached = self.store.cache_get(key)
            if cached is None:
                todo[key] = i
            else:
                answers[key] = cached[0] if cached[1] is None else None
                hits += 1
        self.hits += hits
        self.store.add_hits(self.node, hits)
        self.metered += self.store.call_tokens([k for k in answers if k not in todo])
        pending = list(todo.items())
        width = max(1, self.max_concurrency)
        for start in range(0, len(pending), width):
            self._check_budget()
            chunk = pending[start : start + width]
            calls, error = self._run_chunk(chunk, requests, fn)
            for pos, call in sorted(calls.items()):
                key, i = chunk[pos]
                self.store.cache_put(key, task, requests[i], call)
                answers[key] = call.response
                self.misses += 1
                self.metered += call.tokens_in + call.tokens_out
            if error is not None:  # kept what was paid for; the run resumes from the cache
                raise error
        return [answers[k] for k in keys]

    def _run_chunk(
        self,
        chunk: list[tuple[str, int]],
        requests: Sequence[dict[str, Any]],
        fn: Callable[[int], Any],
    ) -> tuple[dict[int, TeacherCall], BaseException | None]:
        """The chunk's calls by position, and the first exception any of them raised."""

        def one(i: int) -> TeacherCall:
            return self._call_one(requests[i], lambda: fn(i))

        if len(chunk) == 1:
            try:
                return {0: one(chunk[0][1])}, None
            except Exception as exc:
                return {}, exc
        from langchain_core.runnables import RunnableLambda

        calls: dict[int, TeacherCall] = {}
        error: BaseException | None = None
        indices = [i for _, i in chunk]
        for pos, out in RunnableLambda(one).batch_as_completed(
            indices, config={"max_concurrency": self.max_concurrency}, return_exceptions=True
        ):
            if isinstance(out, BaseException):
                error = error or out
            else:
                calls[pos] = out
        return calls, error

    # the Teacher protocol, one call and many ---------------------------------------
    def decompose(self, domain: str, examples: list[str] | None = None) -> list[ModuleSpec]:
        examples = list(examples or [])
        req = {"domain": domain, "examples": examples}
        out = self._many(
            "decompose",
            [req],
            lambda i: [m.model_dump() for m in self.inner.decompose(domain, examples)],
        )[0]
        if out is None:
            reason = self.store.teacher_failures()[-1]["error"]
            raise TeacherFailure(
                f"the teacher could not decompose the domain into modules ({reason}): "
                "give the seed items a `module` field, or start a new run with a larger "
                "teacher.max_tokens or a stronger teacher"
            )
        return [ModuleSpec(**m) for m in out]

    def classify_many(
        self, prompts: list[str], modules: list[ModuleSpec], levels: int
    ) -> list[tuple[str, int] | None]:
        spec = [m.model_dump() for m in modules]
        reqs = [{"prompt": p, "modules": spec, "levels": levels} for p in prompts]
        out = self._many(
            "classify", reqs, lambda i: list(self.inner.classify(prompts[i], modules, levels))
        )
        return [None if o is None else (str(o[0]), int(o[1])) for o in out]

    def write_items(
        self, module: ModuleSpec, level: int, n: int, seed: int, held_out: bool = False
    ) -> list[Item]:
        req = {"module": module.model_dump(), "level": level, "n": n, "seed": seed}
        extra = {"held_out": True} if held_out else {}
        out = self._many(
            "write_items",
            [req | extra],
            lambda i: [
                it.model_dump() for it in self.inner.write_items(module, level, n, seed, **extra)
            ],
        )[0]
        return [Item(**i) for i in out or []]

    def synthesize(self, seed_item: Item, level: int, n: int, seed: int) -> list[Item]:
        return self.synthesize_many([(seed_item, level, n, seed)])[0]

    def synthesize_many(self, jobs: list[tuple[Item, int, int, int]]) -> list[list[Item]]:
        reqs = [{"item": it.model_dump(), "level": lv, "n": n, "seed": s} for it, lv, n, s in jobs]
        out = self._many(
            "synthesize",
            reqs,
            lambda i: [it.model_dump() for it in self.inner.synthesize(*jobs[i])],
        )
        return [[Item(**i) for i in o or []] for o in out]

    def solve(self, prompt: str) -> Solution | None:
        return self.solve_many([prompt])[0]

    def solve_many(self, prompts: list[str]) -> list[Solution | None]:
        out = self._many(
            "solve",
            [{"prompt": p} for p in prompts],
            lambda i: self.inner.solve(prompts[i]).model_dump(),
        )
        return [None if o is None else Solution(**o) for o in out]

    def rewrite(self, item: Item, strategies: list[Strategy], variant: Variant) -> Item | None:
        return self.rewrite_many([(item, strategies, variant)])[0]

    def rewrite_many(self, jobs: list[tuple[Item, list[Strategy], Variant]]) -> list[Item | None]:
        reqs = [
            {"item": it.model_dump(), "strategies": list(st), "variant": v} for it, st, v in jobs
        ]
        out = self._many("rewrite", reqs, lambda i: self.inner.rewrite(*jobs[i]).model_dump())
        return [None if o is None else Item(**o) for o in out]

    def render_many(self, items: list[Item]) -> list[dict[str, str] | None]:
        """Each solved item in every short rendering (see `Teacher.render`)."""
        out = self._many(
            "render",
            [{"item": it.model_dump()} for it in items],
            lambda i: self.inner.render(items[i]),
        )
        return [None if o is None else {str(k): str(v) for k, v in o.items()} for o in out]

    def judge_many(self, triples: list[tuple[str, str, str]]) -> list[bool | None]:
        reqs = [{"question": q, "reference": r, "answer": a} for q, r, a in triples]
        out = self._many("judge", reqs, lambda i: bool(self.inner.judge(*triples[i])))
        return [None if o is None else bool(o) for o in out]
