"""The fault proxy in front of the real vLLM server: each fault, the counts, plain forwarding."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from fault_proxy import FaultProxy

from ioa_agent.student.vllm_server import VLLMServer

pytestmark = pytest.mark.slow

CHAT = "/v1/chat/completions"


def _chat_body(server: VLLMServer) -> dict:
    return {
        "model": server.served_model_name,
        "messages": [{"role": "user", "content": "What is 7 + 5?"}],
        "temperature": 0,
        "max_tokens": 16,
    }


def test_counting_proxy_returns_the_servers_answer(
    vllm_server: VLLMServer, fault_proxy: Callable[..., FaultProxy]
) -> None:
    from openai import OpenAI

    proxy = fault_proxy(p=0.0)
    kwargs = {
        "model": vllm_server.served_model_name,
        "messages": [{"role": "user", "content": "Name a colour."}],
        "temperature": 0,
        "max_tokens": 16,
    }
    direct = OpenAI(base_url=vllm_server.base_url, api_key="unused", max_retries=0)
    proxied = OpenAI(base_url=proxy.base_url, api_key="unused", max_retries=0)
    want = direct.chat.completions.create(**kwargs).choices[0].message.content
    got = proxied.chat.completions.create(**kwargs).choices[0].message.content
    assert want and got == want
    assert proxy.counts() == {(CHAT, "forwarded"): 1}


@pytest.mark.parametrize("fault", ["429", "500", "truncated"])
def test_each_answered_fault(
    vllm_server: VLLMServer, fault_proxy: Callable[..., FaultProxy], fault: str
) -> None:
    proxy = fault_proxy(p=1.0, faults=[fault])
    response = httpx.post(f"{proxy.url}{CHAT}", json=_chat_body(vllm_server), timeout=120)
    if fault == "truncated":
        assert response.status_code == 200
        assert response.text.startswith("{")
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.text)
    else:
        assert response.status_code == int(fault)
        if fault == "429":
            assert response.headers["Retry-After"] == "0"
    assert proxy.counts() == {(CHAT, fault): 1}


def test_timeout_fault_holds_past_the_client_timeout(
    vllm_server: VLLMServer, fault_proxy: Callable[..., FaultProxy]
) -> None:
    proxy = fault_proxy(p=1.0, faults=["timeout"], hold_s=3.0)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{proxy.url}{CHAT}", json=_chat_body(vllm_server), timeout=0.5)
    assert proxy.count(CHAT, "timeout") == 1
    assert proxy.count(outcome="forwarded") == 0


def test_openai_client_retries_through_faults_and_they_are_counted(
    vllm_server: VLLMServer, fault_proxy: Callable[..., FaultProxy]
) -> None:
    from openai import OpenAI

    proxy = fault_proxy(p=0.5, faults=["429", "500"], seed=3)
    client = OpenAI(base_url=proxy.base_url, api_key="unused", max_retries=10)
    for _ in range(4):
        out = client.chat.completions.create(**_chat_body(vllm_server))
        assert out.choices[0].message.content
    assert proxy.count(CHAT, "forwarded") == 4
    faults = proxy.count(CHAT, "429") + proxy.count(CHAT, "500")
    assert faults > 0
    assert proxy.count() == 4 + faults
