"""Bad input gets one line and exit code 2, and loses nothing: wrong types, an unknown
key, a broken seed row, an unknown hub id offline, a teacher answer off the schema, a
prompt past the teacher's context. The last two talk to a local OpenAI-compatible
endpoint started by the test (the HTTP seam). No file already in the runs folder
changes; a run that had started stays resumable, and resuming does not ask the teacher
again. Each test records what it saw for benchmarks/reliability.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import tiny_config
from run_checks import last_line

from ioa_agent.cli import main
from ioa_agent.run import find_run, sha256_file

Record = Callable[[str, Any], None]


class Endpoint(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint that always answers `self.server.reply`."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, body = self.server.reply  # type: ignore[attr-defined]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def chat_reply(content: str) -> tuple[int, dict[str, Any]]:
    return 200, {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }


CONTEXT = (
    400,
    {
        "error": {
            "message": "This model's maximum context length is 2048 tokens. However, you "
            "requested 4100 tokens (3700 in the messages, 400 in the completion).",
            "type": "BadRequestError",
            "code": 400,
        }
    },
)


def bad_inputs(tmp: Path, model: Path, url: str) -> dict[str, tuple[dict[str, Any], str]]:
    """Each case: a config, and what its one-line error must say."""
    seed = tmp / "seed.jsonl"
    seed.write_text('{"question": "What is 2+3?", "answer": "5"}\n{"question": "What is\n')
    good_seed = tmp / "good.jsonl"
    good_seed.write_text('{"question": "What is 2+3?", "answer": "#### 5"}\n')

    def seeded(path: Path, **over: Any) -> dict[str, Any]:
        config = tiny_config(model, domain="sums", seed_data={"path": str(path)}, **over)
        del config["identifier"]  # probes come from the seed file
        return config

    llm = {"kind": "llm", "model": "m", "base_url": url, "max_retries": 0, "fix_attempts": 1}
    return {
        "config of wrong types": (tiny_config(model, max_rounds="many"), "max_rounds"),
        "config with an unknown key": (tiny_config(model, studnet={"model": "x"}), "studnet"),
        "seed JSONL with a broken row": (seeded(seed, teacher=llm), "seed.jsonl:2"),
        "unknown hub id offline": (
            tiny_config(model, student={"model": "no-such-org/no-such-model"}),
            "no-such-org/no-such-model",
        ),
        "teacher answer off the schema": (seeded(good_seed, teacher=llm), "could not decompose"),
        "prompt past the teacher's context": (
            seeded(good_seed, teacher=llm),
            "longer than its context",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "config of wrong types",
        "config with an unknown key",
        "seed JSONL with a broken row",
        "unknown hub id offline",
        "teacher answer off the schema",
        "prompt past the teacher's context",
    ],
)
def test_bad_input_is_one_line_and_loses_nothing(
    case: str,
    tiny_model: Path,
    tmp_path: Path,
    endpoint: ThreadingHTTPServer,
    capsys: pytest.CaptureFixture[str],
    record_property: Record,
) -> None:
    record_property("case", case)
    endpoint.reply = CONTEXT if "context" in case else chat_reply('{"nope": 1}')  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{endpoint.server_address[1]}/v1"
    config, says = bad_inputs(tmp_path, tiny_model, url)[case]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(config))
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "other").mkdir()  # a run already there is not touched
    (runs / "other" / "config.yaml").write_text("seed: 0\n")
    before = {p: sha256_file(p) for p in runs.rglob("*") if p.is_file()}
    capsys.readouterr()
    args = ["run", "--config", str(cfg), "--runs", str(runs), "--name", "r"]
    assert main(args) == 2
    err = capsys.readouterr().err
    record_property("message", last_line(err))
    errors = [line for line in err.splitlines() if line.startswith("ioa: error: ")]
    assert errors == [last_line(err)] and "Traceback" not in err, err
    assert says in err, err
    after = {p: sha256_file(p) for p in runs.rglob("*") if p.is_file()}
    lost = [str(p) for p in before if before[p] != after.get(p)]
    if (runs / "r").exists():  # a teacher that failed: the run stays, resumable
        run = find_run(runs, "r")
        paid = run.store.teacher_usage()["calls"]
        assert main(["resume", "r", "--runs", str(runs)]) == 2  # the same answer, unpaid
        assert run.store.teacher_usage()["calls"] == paid
    record_property("lost", lost)
    assert lost == []
