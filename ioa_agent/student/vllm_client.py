"""The student's answers from a vLLM OpenAI server, with each round's LoRA loaded at run time.

`VLLMStudent` talks to a server started with LoRA enabled and runtime adapter updates
allowed (what `VLLMServer` starts). `use_adapter` loads a round's adapter under a name
made from the run id, the round and the adapter weights' hash, so a name never stands
for two different sets of weights (the server's prefix cache is keyed by name), and
unloads the run's other adapters first. `generate` sends one greedy chat completion per
prompt, several at a time, retrying throttled, failed and timed-out requests, and
returns the answers in the order of the prompts. `generate_for_run` does all of that
for one run's round, against `student.vllm_url` or a server it starts once per process
(`student.vllm_start`) and stops at exit.

This module does not score answers or train, and starts servers only through
vllm_server.py.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ioa_agent.student.vllm_server import VLLMServer, resolve_python

if TYPE_CHECKING:
    from ioa_agent.run import Run
    from ioa_agent.student.vllm_server import VLLMServer

API_KEY_ENV = "IOA_VLLM_API_KEY"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
# Servers started for runs in this process, by (python, model folder, LoRA rank limit).
_STARTED: dict[tuple[str, str, int], VLLMServer] = {}


class VLLMRequestError(RuntimeError):
    """The server refused a request or kept failing after the retries."""


def adapter_weights_sha256(adapter_dir: Path) -> str:
    """The sha256 of an adapter folder's weights file."""
    for name in ADAPTER_WEIGHTS:
        path = Path(adapter_dir) / name
        if path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            return digest.hexdigest()
    raise FileNotFoundError(
        f"adapter folder {adapter_dir} holds no {' or '.join(ADAPTER_WEIGHTS)}: "
        "point it at a folder written by PEFT's save_pretrained"
    )


def adapter_name(run_id: str, round: int, adapter_dir: Path) -> str:
    """`<run id>-r<round>-<first 8 hex of the weights' sha256>`: new weights, new name."""
    return f"{run_id}-r{round}-{adapter_weights_sha256(adapter_dir)[:8]}"


class VLLMStudent:
    """A client of one vLLM OpenAI server; `base_url` ends in `/v1`."""

    def __init__(
        self,
        base_url: str,
        concurrency: int = 16,
        timeout: float = 300.0,
        retries: int = 4,
        backoff: float = 0.5,
    ) -> None:

        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.retries = retries
        self.backoff = backoff
        headers = {}
        if os.environ.get(API_KEY_ENV):
            headers["Authorization"] = f"Bearer {os.environ[API_KEY_ENV]}"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.Client(timeout=timeout, limits=limits, headers=headers)

    def close(self) -> None:
        self._http.close()

    def models(self) -> list[dict[str, Any]]:
        """The server's models: the base model, and loaded adapters (with a `parent`)."""
        return list(self._request("GET", "/models")["data"])

    def base_model(self) -> str:
        """The served name of the base model."""
        for model in self.models():
            if not model.get("parent"):
                return str(model["id"])
        raise VLLMRequestError(f"{self.base_url}/models lists no base model")

    def loaded_adapters(self) -> list[str]:
        return [str(m["id"]) for m in self.models() if m.get("parent")]

    def load_adapter(self, name: str, path: Path) -> None:
        self._request(
            "POST", "/load_lora_adapter", {"lora_name": name, "lora_path": str(Path(path))}
        )

    def unload_adapter(self, name: str) -> None:
        self._request("POST", "/unload_lora_adapter", {"lora_name": name})

    def use_adapter(self, run_id: str, round: int, adapter_dir: Path) -> str:
        """Load the adapter of `round` (unloading the run's others); its served name."""
        name = adapter_name(run_id, round, adapter_dir)
        loaded = self.loaded_adapters()
        for old in loaded:
            if old != name and old.startswith(f"{run_id}-r"):
                self.unload_adapter(old)
        if name not in loaded:
            self.load_adapter(name, Path(adapter_dir).resolve())
        return name

    def generate(
        self,
        model: str,
        prompts: list[str],
        max_new_tokens: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        """The greedy answer of `model` (base or adapter name) to each prompt, in order."""

        def one(prompt: str) -> str:
            body = {
                "model": model,
                "messages": [{"role": "user", "content": prompt}],
                "temperature": 0.0,
                "max_tokens": max_new_tokens,
            }
            answer = self._request("POST", "/chat/completions", body)
            text = answer["choices"][0]["message"]["content"] or ""
            if progress is not None:
                progress(1)
            return str(text).strip()

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(one, prompts))

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:

        url = f"{self.base_url}{path}"
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._http.request(method, url, json=body)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in _RETRY_STATUS:
                problem = f"HTTP {response.status_code}: {response.text[:200]}"
                continue
            if response.status_code >= 400:
                raise VLLMRequestError(
                    f"{method} {url} failed with HTTP {response.status_code}: {response.text[:300]}"
                )
            if not response.content or "json" not in response.headers.get("content-type", ""):
                return {}
            try:
                return response.json()
            except ValueError:
                problem = f"bad JSON in the answer: {response.text[:100]!r}"
        raise VLLMRequestError(
            f"{method} {url} failed after {self.retries + 1} tries; last: {problem}"
        )

    def __enter__(self) -> VLLMStudent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def generate_for_run(
    run: Run, round: int, prompts: list[str], progress: Callable[[int], None] | None = None
) -> list[str]:
    """The answers of `round`'s student (0: the base model) to `prompts`, from vLLM.

    Raises `VLLMNotInstalled` when `student.vllm_start` is set and no vLLM Python exists.
    """
    config = run.config.student
    base_url = config.vllm_url or started_server(run).base_url
    with VLLMStudent(base_url, concurrency=config.vllm_concurrency) as student:
        adapter = run.adapter_dir(round)
        model = student.use_adapter(run.id, round, adapter) if adapter else student.base_model()
        return student.generate(model, prompts, run.config.assess.max_new_tokens, progress)


def started_server(run: Run) -> VLLMServer:
    """The vLLM server this process started for the run's student, started on first use."""

    python = resolve_python(run.config.student.vllm_python)
    rank = run.config.train.lora_r
    key = (str(python), str(run.student_model), rank)
    server = _STARTED.get(key)
    if server is None or not server.running:
        server = VLLMServer(
            run.student_model,
            python=python,
            max_num_seqs=run.config.student.vllm_concurrency,
            max_lora_rank=rank,
            log_path=run.dir / "vllm.log",
        )
        server.start()
        atexit.register(server.stop)
        _STARTED[key] = server
    return server
