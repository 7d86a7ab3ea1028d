"""The real vLLM server: health, JSON-schema constrained chat, and LangChain against it."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import BaseModel

from ioa_agent.student.vllm_server import VLLMServer

pytestmark = pytest.mark.slow


class Sum(BaseModel):
    answer: int


def test_server_is_healthy_and_serves_the_named_model(vllm_server: VLLMServer) -> None:
    assert httpx.get(f"{vllm_server.root_url}/health", timeout=10).status_code == 200
    models = httpx.get(f"{vllm_server.base_url}/models", timeout=10).json()["data"]
    assert [m["id"] for m in models] == [vllm_server.served_model_name]


def test_json_schema_chat_completion_follows_the_schema(vllm_server: VLLMServer) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=vllm_server.base_url, api_key="unused", timeout=120)
    response = client.chat.completions.create(
        model=vllm_server.served_model_name,
        messages=[{"role": "user", "content": "What is 2 + 3? Answer in JSON."}],
        temperature=0,
        max_tokens=64,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "sum", "schema": Sum.model_json_schema()},
        },
    )
    text = response.choices[0].message.content
    assert text is not None
    parsed = Sum.model_validate(json.loads(text))
    assert isinstance(parsed.answer, int)
    assert response.usage is not None and response.usage.completion_tokens > 0


def test_langchain_structured_output_against_the_server(vllm_server: VLLMServer) -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model=vllm_server.served_model_name,
        base_url=vllm_server.base_url,
        api_key="unused",
        temperature=0,
        max_tokens=64,
        timeout=120,
    )
    result = model.with_structured_output(Sum, method="json_schema").invoke(
        "What is 4 + 4? Reply with the integer answer."
    )
    assert isinstance(result, Sum)
    assert isinstance(result.answer, int)
