"""The LLM teacher: any chat model behind an OpenAI-compatible endpoint.

`LLMTeacher` implements the `Teacher` protocol with langchain-openai's `ChatOpenAI`
(vLLM, DeepSeek, OpenAI: anything with `/v1/chat/completions`). Each task renders
its Jinja2 template from `prompts/` (StrictUndefined), asks for JSON that follows the
task's pydantic schema (`response_format`), and validates the answer. A malformed
answer (not JSON, wrong schema, empty, cut off) is sent back with the validation
error, `fix_attempts` times, then `TeacherFailure` is raised with the reason.
Transport faults (teacher.faults: 429, 5xx, timeouts, connection errors, broken bodies) are
retried by LangChain's `with_retry` with exponential backoff and jitter; each fault
is counted. LangChain's `InMemoryRateLimiter` paces requests when configured.
Tokens come from the endpoint's usage report; `usage()` returns them for the call
just made in this thread (calls run concurrently, see teacher.cached).

The API key is read from the environment variable the config names, passed to the
client and nowhere else. This module does not cache, budget or batch calls
(teacher.cached does) and does not score answers (domains.scorers does).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ioa_agent.config import ConfigError, TeacherConfig
from ioa_agent.items import Item, ModuleSpec, Solution, Strategy, Variant
from ioa_agent.teacher import schemas
from ioa_agent.teacher.base import TeacherFailure, TeacherUnreachable, Usage
from ioa_agent.teacher.faults import cut_off, fault_kind, retryable, short_error

PROMPTS = Path(__file__).resolve().parents[1] / "prompts"

STRATEGY_TEXT: dict[str, str] = {
    "concretization": "Concretization: give a concrete example or analogy before the "
    "abstract rule.",
    "decomposition": "Decomposition: solve in explicit steps: extract the facts, state "
    "the relations, write the equations, solve, verify.",
    "cognitive_load": "Cognitive-load control: use smaller numbers and fewer objects first.",
    "step_format": "Step format: one short line per step, always in the same format.",
    "simplification": "Linguistic simplification: short sentences and common words.",
}

ANSWER_RULES: dict[str, str] = {
    "math": "Each answer is a single number or mathematical expression, without units.",
    "code": "Each answer is a complete Python function; tests are assert statements.",
    "open": "Each answer is a short, complete reference answer.",
}


def render(name: str, **values: Any) -> str:
    """Render `prompts/<name>.j2`; a missing value is an error, never an empty string."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(PROMPTS),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return env.get_template(f"{name}.j2").render(**values).strip()


class LLMTeacher:
    """A `Teacher` backed by an OpenAI-compatible chat endpoint."""

    def __init__(self, cfg: TeacherConfig, domain: str = "", answer_kind: str = "math") -> None:
        if cfg.api_key_env and not os.environ.get(cfg.api_key_env):
            raise ConfigError(
                f"teacher.api_key_env names {cfg.api_key_env}, which is not set: "
                f"export {cfg.api_key_env}=<your key>"
            )
        self.cfg = cfg
        self.domain = domain
        self.answer_kind = answer_kind
        self.model_id = cfg.model
        prompts = sorted(PROMPTS.glob("*.j2"))
        blob = json.dumps(
            [
                cfg.base_url,
                cfg.temperature,
                cfg.solve_temperature,
                cfg.max_tokens,
                cfg.structured_output,
                answer_kind,
                [p.read_text() for p in prompts],
            ]
        )
        self.cache_salt = "@" + hashlib.sha256(blob.encode()).hexdigest()[:12]
        self._local = threading.local()

    # the client --------------------------------------------------------------------
    @cached_property
    def chat(self) -> Any:
        from langchain_core.rate_limiters import InMemoryRateLimiter
        from langchain_openai import ChatOpenAI

        cfg = self.cfg
        key = os.environ.get(cfg.api_key_env) if cfg.api_key_env else None
        limiter = (
            InMemoryRateLimiter(requests_per_second=cfg.requests_per_second)
            if cfg.requests_per_second
            else None
        )
        return ChatOpenAI(
            model=cfg.model,
            base_url=cfg.base_url,
            api_key=key or "not-needed",
            max_tokens=cfg.max_tokens,
            timeout=cfg.timeout,
            max_retries=0,  # retried below, where each fault is counted
            rate_limiter=limiter,
        )

    def usage(self) -> Usage | None:
        """Tokens, attempts and faults of the last call made in this thread."""
        return getattr(self._local, "usage", None)

    def _ask(
        self,
        task: str,
        answer_model: type[BaseModel],
        check: Any = None,
        *,
        temperature: float,
        seed: int | None = None,
        schema_overrides: dict[str, dict[str, Any]] | None = None,
        **values: Any,
    ) -> Any:
        """One task: render, ask, validate; re-ask with the error; raise TeacherFailure.

        The answer's JSON schema is `answer_model`'s, with `schema_overrides` merged into
        its top-level properties (e.g. an enum of module ids)."""
        schema = schemas.json_schema(answer_model, **(schema_overrides or {}))
        from langchain_core.callbacks import BaseCallbackHandler
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        usage = Usage(attempts=0)
        self._local.usage = usage

        class Faults(BaseCallbackHandler):
            def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
                if isinstance(error, retryable()):  # a cut-off reply is re-asked, not retried
                    kind = fault_kind(error)
                    usage.faults[kind] = usage.faults.get(kind, 0) + 1

        # about a third of the token budget per text field, ~3 characters a token
        schema = schemas.limit_strings(schema, max(64, self.cfg.max_tokens))
        if self.answer_kind == "math":  # a final answer is a number or an expression
            schema = schemas.limit_field(schema, "answer", 64)
        schema_text = json.dumps(schema, separators=(",", ":"))
        messages: list[Any] = [
            SystemMessage(render("system", domain=self.domain or "the subject")),
            HumanMessage(render(task, schema=schema_text, seed=seed, **values)),
        ]
        if self.cfg.structured_output == "json_schema":
            fmt = {"type": "json_schema", "json_schema": {"name": task, "schema": schema}}
        else:
            fmt = {"type": "json_object"}
        kwargs: dict[str, Any] = {"response_format": fmt, "temperature": temperature}
        if seed is not None:
            kwargs["seed"] = seed
        runner = self.chat.bind(**kwargs).with_retry(
            retry_if_exception_type=retryable(),
            wait_exponential_jitter=True,
            stop_after_attempt=self.cfg.max_retries + 1,
        )
        error = "no answer"
        for _ in range(self.cfg.fix_attempts + 1):
            usage.attempts += 1
            try:
                reply = runner.invoke(messages, config={"callbacks": [Faults()]})
            except Exception as exc:
                if cut_off(exc):
                    error = "the reply was cut off at the token limit: answer more briefly"
                    messages += [HumanMessage(render("fix", error=error))]
                    continue
                raise self._unreachable(exc) from exc
            meta = getattr(reply, "usage_metadata", None) or {}
            usage.tokens_in += int(meta.get("input_tokens", 0))
            usage.tokens_out += int(meta.get("output_tokens", 0))
            text = reply.content if isinstance(reply.content, str) else str(reply.content)
            try:
                if not text.strip():
                    raise ValueError("the reply was empty")
                answer = answer_model.model_validate_json(text)
                return check(answer) if check is not None else answer
            except (ValidationError, ValueError) as exc:
                error = short_error(exc)
                messages += [AIMessage(text), HumanMessage(render("fix", error=error))]
        raise TeacherFailure(f"{task}: {error}")

    def _unreachable(self, exc: Exception) -> Exception:
        """A one-line error for an endpoint that failed for good (others pass through)."""
        import openai

        where = f"teacher {self.cfg.model!r} at {self.cfg.base_url or 'api.openai.com'}"
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if isinstance(exc, retryable()):
            return TeacherUnreachable(
                f"{where} did not answer after {self.cfg.max_retries + 1} attempts ({detail}); "
                "nothing is lost: start or fix the endpoint, then `ioa resume` the run"
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return TeacherUnreachable(
                f"{where} refused the API key ({detail}): check teacher.api_key_env"
            )
        if isinstance(exc, openai.BadRequestError) and "context" in str(exc).lower():
            return TeacherUnreachable(
                f"{where} refused a prompt longer than its context ({detail}): serve the "
                "model with a longer context (vLLM --max-model-len), or lower "
                "teacher.max_tokens; nothing is lost: `ioa resume` the run"
            )
        if isinstance(exc, openai.APIStatusError):
            return TeacherUnreachable(
                f"{where} refused the request ({detail}): check teacher.model and base_url"
            )
        return exc

    # the Teacher protocol -------------------------------------------------------------
    def decompose(self, domain: str, examples: list[str] | None = None) -> list[ModuleSpec]:
        answer = self._ask(
            "decompose",
            schemas.DecomposeAnswer,
            schemas.check_modules,
            temperature=self.cfg.solve_temperature,
            schema_overrides={"modules": {"maxItems": max(1, self.cfg.n_modules)}},
            domain=domain,
            n_modules=self.cfg.n_modules,
            examples=list(examples or []),
        )
        return [
            ModuleSpec(id=m.id, description=m.description, levels=1, prerequisites=m.prerequisites)
            for m in answer.modules
        ]

    def classify(self, prompt: str, modules: list[ModuleSpec], levels: int) -> tuple[str, int]:
        ids = [m.id for m in modules]

        def check(a: schemas.ClassifyAnswer) -> schemas.ClassifyAnswer:
            schemas.check_classification(a, ids, levels)
            return a

        answer = self._ask(
            "classify",
            schemas.ClassifyAnswer,
            check,
            temperature=self.cfg.solve_temperature,
            schema_overrides={"module": {"enum": ids}, "level": {"minimum": 1, "maximum": levels}},
            prompt=prompt,
            modules=modules,
            levels=levels,
        )
        return answer.module, answer.level

    def _items(
        self, task: str, module_id: str, level: int, n: int, seed: int, **values: Any
    ) -> list[Item]:
        model = schemas.CodeItemsAnswer if self.answer_kind == "code" else schemas.ItemsAnswer

        def check(a: Any) -> Any:
            schemas.check_count(a.items, n)
            return a

        answer = self._ask(
            task,
            model,
            check,
            temperature=self.cfg.temperature,
            seed=seed,
            schema_overrides={"items": {"minItems": n, "maxItems": n}},
            n=n,
            level=level,
            answer_rule=ANSWER_RULES[self.answer_kind],
            **values,
        )
        return [
            Item(
                module=module_id,
                level=level,
                prompt=it.question.strip(),
                answer=it.answer.strip(),
                tests=list(getattr(it, "tests", [])),
            )
            for it in answer.items
        ]

    def write_items(
        self, module: ModuleSpec, level: int, n: int, seed: int, held_out: bool = False
    ) -> list[Item]:
        # no item space to split: probes are guarded by the Adapter's probe filter
        return self._items("write_items", module.id, level, n, seed, module=module)

    def synthesize(self, seed_item: Item, level: int, n: int, seed: int) -> list[Item]:
        return self._items("synthesize", seed_item.module, level, n, seed, item=seed_item)

    def solve(self, prompt: str) -> Solution:
        answer = self._ask(
            "solve",
            schemas.SolveAnswer,
            temperature=self.cfg.solve_temperature,
            prompt=prompt,
            answer_rule=ANSWER_RULES[self.answer_kind],
        )
        return Solution(rationale=answer.rationale.strip(), answer=answer.answer.strip())

    def rewrite(self, item: Item, strategies: list[Strategy], variant: Variant) -> Item:
        answer = self._ask(
            "rewrite",
            schemas.RewriteAnswer,
            temperature=self.cfg.temperature,
            item=item,
            strategies=list(strategies),
            variant=variant,
            descriptions=STRATEGY_TEXT,
            answer_rule=ANSWER_RULES[self.answer_kind],
        )
        return item.model_copy(
            update={
                "prompt": answer.question.strip(),
                "rationale": answer.rationale.strip(),
                "answer": answer.answer.strip(),
                "strategy": "+".join(strategies),
                "variant": variant,
                "parent": item.id,
            }
        )

    def render(self, item: Item) -> dict[str, str]:
        answer = self._ask(
            "render",
            schemas.RenderAnswer,
            temperature=self.cfg.solve_temperature,
            item=item,
            answer_rule=ANSWER_RULES[self.answer_kind],
        )
        return {k: v.strip() for k, v in answer.model_dump().items()}

    def judge(self, question: str, reference: str, answer: str) -> bool:
        verdict = self._ask(
            "judge",
            schemas.JudgeAnswer,
            temperature=self.cfg.solve_temperature,
            question=question,
            reference=reference,
            answer=answer,
        )
        return verdict.correct
