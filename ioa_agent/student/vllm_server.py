"""Start and stop a local vLLM OpenAI-compatible server as a separate process.

vLLM lives in its own virtual environment (`make vllm-setup` creates `.venv-vllm`):
it pins its own torch and transformers, so it never shares a process with the rest of
the package. `VLLMServer` starts `python -m vllm.entrypoints.openai.api_server` from
that environment on 127.0.0.1 and a free port, with runtime LoRA loading and JSON
(structured) outputs switched on, writes its output to a log file, waits until
`/health` answers, and on `stop` ends its whole process group (SIGTERM, then SIGKILL).
It is a context manager.

This module does not send completions or load adapters (see vllm_client.py), and it
does not install vLLM.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from ioa_agent.student.process_guard import die_with_parent

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO_ROOT / ".venv-vllm"
PYTHON_ENV = "IOA_VLLM_PYTHON"
# LoRA ranks vLLM accepts for --max-lora-rank.
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class VLLMNotInstalled(FileNotFoundError):
    """No Python interpreter with vLLM where one was expected."""


class VLLMServerError(RuntimeError):
    """The server exited or did not become healthy; the message ends with its log tail."""


def resolve_python(configured: str | Path | None = None) -> Path:
    """The interpreter that runs vLLM: `configured`, else `$IOA_VLLM_PYTHON`, else `.venv-vllm`."""
    if configured:
        source, path = "student.vllm_python", Path(configured).expanduser()
    elif os.environ.get(PYTHON_ENV):
        source, path = f"${PYTHON_ENV}", Path(os.environ[PYTHON_ENV]).expanduser()
    else:
        source, path = "the default", DEFAULT_VENV / "bin" / "python"
    if not path.is_file():
        raise VLLMNotInstalled(
            f"no vLLM Python at {path} ({source}): run `make vllm-setup` to create "
            f"{DEFAULT_VENV.name}, or point {PYTHON_ENV} or student.vllm_python at a Python "
            "with vllm installed"
        )
    return path


def lora_rank_limit(rank: int) -> int:
    """The smallest `--max-lora-rank` vLLM accepts that fits adapters of rank `rank`."""
    for allowed in LORA_RANKS:
        if allowed >= rank:
            return allowed
    raise ValueError(f"LoRA rank {rank} is above vLLM's largest ({LORA_RANKS[-1]}): lower lora_r")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class VLLMServer:
    """One vLLM OpenAI server process serving `model_dir` (and LoRA adapters at run time)."""

    def __init__(
        self,
        model_dir: Path,
        python: str | Path | None = None,
        served_model_name: str | None = None,
        port: int | None = None,
        log_path: Path | None = None,
        max_model_len: int = 2048,
        max_num_seqs: int = 32,
        max_loras: int = 2,
        max_lora_rank: int = 32,
        startup_timeout: float = 300.0,
        extra_args: list[str] | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.python = resolve_python(python)
        self.served_model_name = served_model_name or self.model_dir.name
        self.port = port or free_port()
        self.log_path = Path(log_path) if log_path else _temp_log()
        self.max_model_len = max_model_len
        self.max_num_seqs = max_num_seqs
        self.max_loras = max_loras
        self.max_lora_rank = lora_rank_limit(max_lora_rank)
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args or [])
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, ending in `/v1`."""
        return f"{self.root_url}/v1"

    @property
    def root_url(self) -> str:
        """`http://127.0.0.1:PORT`, where `/health` and the LoRA endpoints' `/v1` hang."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        structured = {"backend": "xgrammar", "disable_any_whitespace": True}
        return [
            str(self.python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(self.model_dir),
            "--served-model-name",
            self.served_model_name,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--max-model-len",
            str(self.max_model_len),
            "--max-num-seqs",
            str(self.max_num_seqs),
            "--enforce-eager",
            "--distributed-executor-backend",
            "uni",
            "--enable-lora",
            "--max-loras",
            str(self.max_loras),
            "--max-lora-rank",
            str(self.max_lora_rank),
            "--structured-outputs-config",
            json.dumps(structured),
            *self.extra_args,
        ]

    def start(self) -> VLLMServer:
        """Start the server and wait until `/health` answers; raise with the log tail if not."""
        if self.running:
            return self
        env = dict(os.environ)
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        env.setdefault("HF_HUB_OFFLINE", "1")
        env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
        env.pop("PYTHONPATH", None)  # the vLLM venv must not see this package's environment
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:

        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.root_url}/health"
        while True:
            code = self._proc.poll()
            if code is not None:
                raise VLLMServerError(
                    f"vLLM server exited with code {code} while starting; log {self.log_path}:\n"
                    + self.log_tail()
                )
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise VLLMServerError(
                    f"vLLM server not healthy after {self.startup_timeout:.0f}s; "
                    f"log {self.log_path}:\n" + self.log_tail()
                )
            time.sleep(0.5)

    def stop(self, grace: float = 15.0) -> None:
        """End the server's process group: SIGTERM, then SIGKILL after `grace` seconds."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        # Workers the server started may outlive it; the group takes them too.
        _signal_group(proc.pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait(timeout=grace)

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, errors="replace") as handle:
                return "".join(collections.deque(handle, maxlen=lines))
        except OSError:
            return "(no log)"

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _temp_log() -> Path:
    handle, name = tempfile.mkstemp(prefix="ioa-vllm-", suffix=".log")
    os.close(handle)
    return Path(name)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
