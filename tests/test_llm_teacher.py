"""The LLM teacher's own logic, through a scripted chat model (the chat seam only).

Prompts render from the files with StrictUndefined; a malformed answer is sent back
with its validation error and fixed, or becomes a `TeacherFailure` with the reason;
token usage is summed over the re-asks. The same teacher against a real vLLM server
is tested in tests/vllm/test_llm_teacher.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import UndefinedError
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from ioa_agent.cli import main
from ioa_agent.config import TeacherConfig
from ioa_agent.items import Item, ModuleSpec
from ioa_agent.teacher.base import TeacherFailure, TeacherUnreachable
from ioa_agent.teacher.llm import PROMPTS, LLMTeacher, render


class Scripted(BaseChatModel):
    """Replies with the scripted texts in order and records what it was sent."""

    replies: list[str]
    seen: list[list[BaseMessage]] = []
    kwargs_seen: list[dict[str, Any]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        self.kwargs_seen.append(kwargs)
        text = self.replies[len(self.seen) - 1]
        msg = AIMessage(
            text, usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        )
        return ChatResult(generations=[ChatGeneration(message=msg)])


def teacher_with(replies: list[str], **cfg: Any) -> tuple[LLMTeacher, Scripted]:
    config = TeacherConfig(kind="llm", model="m", fix_attempts=2, **cfg)
    teacher = LLMTeacher(config, domain="grade-school math")
    chat = Scripted(replies=replies, seen=[], kwargs_seen=[])
    teacher.__dict__["chat"] = chat  # the cached client, replaced by the script
    return teacher, chat


def test_every_template_renders_and_missing_values_are_errors() -> None:
    names = sorted(p.stem for p in PROMPTS.glob("*.j2"))
    assert names == [
        "classify",
        "decompose",
        "fix",
        "judge",
        "render",
        "rewrite",
        "solve",
        "synthesize",
        "system",
        "write_items",
    ]
    text = render("solve", prompt="What is 2+3?", answer_rule="A number.", schema="{}", seed=None)
    assert "What is 2+3?" in text and "A number." in text
    with pytest.raises(UndefinedError):
        render("solve", prompt="What is 2+3?", schema="{}")


def test_solve_asks_for_the_schema_and_returns_the_solution() -> None:
    teacher, chat = teacher_with([json.dumps({"rationale": "2+3=5", "answer": "5"})])
    sol = teacher.solve("What is 2+3?")
    assert (sol.rationale, sol.answer) == ("2+3=5", "5")
    fmt = chat.kwargs_seen[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"rationale", "answer"}
    assert chat.kwargs_seen[0]["temperature"] == 0.0
    usage = teacher.usage()
    assert (usage.tokens_in, usage.tokens_out, usage.attempts) == (10, 5, 1)


def test_malformed_answer_is_sent_back_with_its_error_and_fixed() -> None:
    teacher, chat = teacher_with(
        ['{"rationale": "2+3=5"', json.dumps({"rationale": "2+3=5", "answer": "5"})]
    )
    assert teacher.solve("What is 2+3?").answer == "5"
    second = chat.seen[1]
    assert second[-2].content == '{"rationale": "2+3=5"'  # its own broken reply
    assert "could not be used" in second[-1].content and "JSON" in second[-1].content
    usage = teacher.usage()
    assert (usage.tokens_in, usage.tokens_out, usage.attempts) == (20, 10, 2)


def test_answer_still_malformed_after_the_fixes_is_a_failure_with_the_reason() -> None:
    teacher, chat = teacher_with(['{"answer": ""}', "", '{"rationale": "x"}'])
    with pytest.raises(TeacherFailure, match="solve: .*answer"):
        teacher.solve("What is 2+3?")
    assert len(chat.seen) == 3


def test_request_checks_go_back_to_the_teacher() -> None:
    one = {"question": "What is 1+1?", "answer": "2"}
    two = {"question": "What is 2+2?", "answer": "4"}
    teacher, chat = teacher_with([json.dumps({"items": [one]}), json.dumps({"items": [one, two]})])
    module = ModuleSpec(id="arith/add", description="adding", levels=3)
    items = teacher.write_items(module, 2, 2, seed=7)
    assert [(i.prompt, i.answer, i.level, i.module) for i in items] == [
        ("What is 1+1?", "2", 2, "arith/add"),
        ("What is 2+2?", "4", 2, "arith/add"),
    ]
    assert "expected exactly 2 items, got 1" in chat.seen[1][-1].content
    schema = chat.kwargs_seen[0]["response_format"]["json_schema"]["schema"]
    assert (
        schema["properties"]["items"]["minItems"] == 2 == schema["properties"]["items"]["maxItems"]
    )
    assert chat.kwargs_seen[0]["seed"] == 7


def test_classify_is_constrained_to_known_modules_and_levels() -> None:
    mods = [
        ModuleSpec(id="arith/add", description="adding", levels=3),
        ModuleSpec(id="arith/mul", description="multiplying", levels=3),
    ]
    teacher, chat = teacher_with(
        [
            json.dumps({"module": "arith/div", "level": 1}),
            json.dumps({"module": "arith/mul", "level": 3}),
        ]
    )
    assert teacher.classify("What is 6 times 7?", mods, 3) == ("arith/mul", 3)
    schema = chat.kwargs_seen[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["module"]["enum"] == ["arith/add", "arith/mul"]
    assert "not one of" in chat.seen[1][-1].content


def test_decompose_drops_unknown_prerequisites_and_renames_repeated_ids() -> None:
    modules = {
        "modules": [
            {"id": "a/x", "description": "x", "prerequisites": ["a/zzz", "a/x"]},
            {"id": "a/y", "description": "y", "prerequisites": ["a/x"]},
            {"id": "a/x", "description": "x again", "prerequisites": ["a/y"]},
        ]
    }
    teacher, chat = teacher_with(["not json", json.dumps(modules)])
    mods = teacher.decompose("math", ["What is 1+1?"])
    assert [(m.id, m.prerequisites) for m in mods] == [
        ("a/x", []),
        ("a/y", ["a/x"]),
        ("a/x_2", ["a/y"]),
    ]
    assert "What is 1+1?" in chat.seen[0][-1].content
    schema = chat.kwargs_seen[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["modules"]["maxItems"] == 30
    assert schema["$defs"]["ModuleOut"]["properties"]["description"]["maxLength"] == 160


def test_rewrite_keeps_provenance() -> None:
    reply = {"question": "Add 2 and 3.", "rationale": "2 + 3 = 5", "answer": "5"}
    teacher, chat = teacher_with([json.dumps(reply)])
    item = Item(module="a/x", level=1, prompt="What is 2+3?", answer="5", rationale="5")
    new = teacher.rewrite(item, ["simplification"], "remedial")
    assert (new.prompt, new.answer, new.strategy, new.variant, new.parent) == (
        "Add 2 and 3.",
        "5",
        "simplification",
        "remedial",
        item.id,
    )
    sent = chat.seen[0][-1].content
    assert "Linguistic simplification" in sent and "simpler" in sent


def test_render_asks_for_every_short_rendering() -> None:
    reply = {"direct": "2 + 3 = 5.", "breakdown": "2 + 3 = 5; so 5.", "reason": "Add: 2 + 3 = 5."}
    teacher, chat = teacher_with([json.dumps(reply)])
    item = Item(module="a/x", level=1, prompt="What is 2+3?", answer="5", rationale="2+3=5")
    assert teacher.render(item) == reply
    fmt = chat.kwargs_seen[0]["response_format"]
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"direct", "breakdown", "reason"}
    sent = chat.seen[0][-1].content
    assert "What is 2+3?" in sent and "2+3=5" in sent and '"direct"' in sent


def test_judge_returns_the_verdict_both_ways() -> None:
    no = {"reason": "96 is not 72", "correct": False}
    yes = {"reason": "both are 72", "correct": True}
    teacher, chat = teacher_with([json.dumps(no), json.dumps(yes)])
    assert teacher.judge("How many?", "72", "96") is False
    assert teacher.judge("How many?", "72", "72") is True
    sent = chat.seen[0][-1].content
    assert "How many?" in sent and "72" in sent and "96" in sent


def test_a_missing_key_variable_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IOA_NO_SUCH_KEY", raising=False)
    with pytest.raises(ValueError, match="export IOA_NO_SUCH_KEY="):
        LLMTeacher(TeacherConfig(kind="llm", model="m", api_key_env="IOA_NO_SUCH_KEY"))


def test_an_endpoint_that_does_not_answer_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = TeacherConfig(
        kind="llm", model="m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, timeout=5
    )
    with pytest.raises(TeacherUnreachable, match=r"did not answer after 2 attempts.*ioa resume"):
        LLMTeacher(cfg).solve("What is 2+3?")

    # through the CLI: exit 2 with the reason, and the run is there to resume
    seed = tmp_path / "seed.jsonl"
    seed.write_text('{"question": "What is 2+3?", "answer": "5"}\n')
    config = {
        "domain": "sums",
        "seed_data": {"path": str(seed)},
        "teacher": {"kind": "llm", "model": "m", "base_url": cfg.base_url, "max_retries": 0},
        "student": {"model": str(tmp_path / "student")},
    }
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "config.json").write_text("{}")  # never loaded: no probe exists
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    args = ["run", "--config", str(path), "--runs", str(tmp_path / "runs"), "--name", "r"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("ioa: error: teacher 'm' at http://127.0.0.1:") and err.count("\n") == 1
    assert (tmp_path / "runs" / "r" / "config.yaml").is_file()
