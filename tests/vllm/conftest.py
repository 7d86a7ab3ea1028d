"""Fixtures for tests against a real local vLLM server serving SmolLM2-135M-Instruct.

- `smollm2_dir`: the SmolLM2 Hugging Face folder (converted once, cached).
- `vllm_server`: a session-wide server on 127.0.0.1 with runtime LoRA and structured
  (JSON-schema) outputs; yields the started `VLLMServer`: `.base_url` (ends in `/v1`),
  `.root_url` (without it), `.served_model_name` ("smollm2"). Stopped at session end.
- `fault_proxy`: a factory `fault_proxy(p=..., faults=..., seed=..., hold_s=...)` that
  starts a `FaultProxy` in front of the server; every proxy it made is stopped after the
  test. `proxy.base_url` (ends in `/v1`) is the base URL for OpenAI clients,
  `proxy.count(path, outcome)` the requests seen.

Every test module in this folder sets `pytestmark = pytest.mark.slow`: they need
`make vllm-setup` and minutes of CPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import FaultProxy

from ioa_agent.student.vllm_server import VLLMServer

SERVED_NAME = "smollm2"


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    from ioa_agent.student.models import resolve_model

    return resolve_model("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def vllm_server(
    smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VLLMServer]:
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    server = VLLMServer(
        smollm2_dir,
        python=os.environ.get("IOA_VLLM_PYTHON"),
        served_model_name=SERVED_NAME,
        log_path=log,
        max_loras=2,
        max_lora_rank=16,
    )
    with server:
        yield server


@pytest.fixture
def fault_proxy(vllm_server: VLLMServer) -> Iterator[Callable[..., FaultProxy]]:
    started: list[FaultProxy] = []

    def make(**kwargs: Any) -> FaultProxy:
        proxy = FaultProxy(vllm_server.root_url, **kwargs).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()
