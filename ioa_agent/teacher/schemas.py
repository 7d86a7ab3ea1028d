"""The shapes of the teacher's structured answers, one pydantic model per task.

Each model validates a raw JSON answer; its JSON schema is what the endpoint is asked
to follow (`response_format`) and what the prompt shows. Checks that need the
request (how many items, which module ids exist) are done by `check_*` functions,
whose errors go back to the teacher like any validation error. No I/O here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

ModuleId = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,24}/[a-z0-9_]{1,24}$")]


class ModuleOut(BaseModel):
    id: ModuleId = Field(description="`category/name`, lowercase letters, digits, underscores")
    description: str = Field(min_length=1, max_length=160)
    prerequisites: list[ModuleId] = Field(
        max_length=4, description="ids of modules this one builds on"
    )


class DecomposeAnswer(BaseModel):
    modules: list[ModuleOut] = Field(min_length=1)


class ClassifyAnswer(BaseModel):
    module: str
    level: int


class ItemOut(BaseModel):
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1, description="the final answer alone")


class CodeItemOut(ItemOut):
    tests: list[str] = Field(
        min_length=1, description="Python assert statements that a correct solution passes"
    )


class ItemsAnswer(BaseModel):
    items: list[ItemOut] = Field(min_length=1)


class CodeItemsAnswer(BaseModel):
    items: list[CodeItemOut] = Field(min_length=1)


class SolveAnswer(BaseModel):
    rationale: str = Field(min_length=1, description="step-by-step reasoning")
    answer: str = Field(min_length=1, description="the final answer alone")


class RewriteAnswer(BaseModel):
    question: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    answer: str = Field(min_length=1)


class RenderAnswer(BaseModel):
    direct: str = Field(min_length=1, description="the direct equation or statement")
    breakdown: str = Field(min_length=1, description="the computing steps on one line")
    reason: str = Field(min_length=1, description="the answer with a one-line reason")


class JudgeAnswer(BaseModel):
    reason: str
    correct: bool


def json_schema(model: type[BaseModel], **overrides: Any) -> dict[str, Any]:
    """The model's JSON schema with top-level property overrides (e.g. an enum of ids)."""
    schema = model.model_json_schema()
    for name, extra in overrides.items():
        schema["properties"][name] = {**schema["properties"][name], **extra}
    return schema


def limit_strings(schema: Any, max_chars: int) -> Any:
    """Give every string in a JSON schema a `maxLength` (and every list a `maxItems` of 64).

    Constrained decoding then has to close each string: a model that repeats itself
    ends a field instead of running to the token limit.
    """
    if isinstance(schema, dict):
        out = {k: limit_strings(v, max_chars) for k, v in schema.items()}
        if out.get("type") == "string" and "enum" not in out and "pattern" not in out:
            out.setdefault("maxLength", max_chars)
        if out.get("type") == "array":
            out.setdefault("maxItems", 64)
        return out
    if isinstance(schema, list):
        return [limit_strings(v, max_chars) for v in schema]
    return schema


def limit_field(schema: Any, name: str, max_chars: int) -> Any:
    """Set `maxLength` of every property called `name`, wherever it is in the schema."""
    if isinstance(schema, dict):
        out = {k: limit_field(v, name, max_chars) for k, v in schema.items()}
        props = out.get("properties")
        if isinstance(props, dict) and isinstance(props.get(name), dict):
            props[name] = {**props[name], "maxLength": max_chars}
        return out
    if isinstance(schema, list):
        return [limit_field(v, name, max_chars) for v in schema]
    return schema


def check_count(items: list[Any], n: int) -> None:
    if len(items) != n:
        raise ValueError(f"expected exactly {n} items, got {len(items)}")


def check_classification(answer: ClassifyAnswer, ids: list[str], levels: int) -> None:
    if answer.module not in ids:
        raise ValueError(f"module {answer.module!r} is not one of {ids}")
    if not 1 <= answer.level <= levels:
        raise ValueError(f"level must be between 1 and {levels}, got {answer.level}")


def check_modules(answer: DecomposeAnswer) -> DecomposeAnswer:
    """Unique ids (a repeated id gets a `_2`, `_3`... suffix); prerequisites only among
    the listed modules, never the module itself (others are dropped)."""
    seen: set[str] = set()
    for m in answer.modules:
        base, k = m.id, 1
        while m.id in seen:
            k += 1
            category, name = base.split("/")
            m.id = f"{category}/{name[: 24 - len(str(k)) - 1]}_{k}"
        seen.add(m.id)
    for m in answer.modules:
        m.prerequisites = [p for p in dict.fromkeys(m.prerequisites) if p in seen and p != m.id]
    return answer
