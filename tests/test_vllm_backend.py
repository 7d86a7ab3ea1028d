"""The vLLM backend's pure parts: adapter names, finding vLLM's Python, server flags, config."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tiny_config

from ioa_agent.config import ConfigError, parse_config
from ioa_agent.student import vllm_server
from ioa_agent.student.vllm_client import adapter_name, adapter_weights_sha256
from ioa_agent.student.vllm_server import VLLMNotInstalled, VLLMServer, lora_rank_limit


def _adapter(path: Path, weights: bytes) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_model.safetensors").write_bytes(weights)
    return path


def test_adapter_name_follows_the_weights(tmp_path: Path) -> None:
    one = _adapter(tmp_path / "one", b"weights one")
    same = _adapter(tmp_path / "same", b"weights one")
    other = _adapter(tmp_path / "other", b"weights two")
    name = adapter_name("run-a", 3, one)
    assert name == f"run-a-r3-{adapter_weights_sha256(one)[:8]}"
    assert adapter_name("run-a", 3, same) == name
    assert adapter_name("run-a", 3, other) != name
    assert adapter_name("run-a", 4, one) != name


def test_adapter_without_weights_says_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="adapter_model.safetensors"):
        adapter_name("run", 1, tmp_path / "empty")


def test_missing_vllm_python_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IOA_VLLM_PYTHON", raising=False)
    monkeypatch.setattr(vllm_server, "DEFAULT_VENV", tmp_path / ".venv-vllm")
    with pytest.raises(VLLMNotInstalled, match="make vllm-setup") as err:
        vllm_server.resolve_python()
    assert "\n" not in str(err.value)
    with pytest.raises(VLLMNotInstalled, match="student.vllm_python"):
        vllm_server.resolve_python(tmp_path / "nope" / "python")


def test_python_comes_from_config_then_env_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured, from_env, default = (tmp_path / n for n in ("a", "b", "venv"))
    configured.write_text("")
    from_env.write_text("")
    (default / "bin").mkdir(parents=True)
    (default / "bin" / "python").write_text("")
    monkeypatch.setattr(vllm_server, "DEFAULT_VENV", default)
    monkeypatch.setenv("IOA_VLLM_PYTHON", str(from_env))
    assert vllm_server.resolve_python(configured) == configured
    assert vllm_server.resolve_python() == from_env
    monkeypatch.delenv("IOA_VLLM_PYTHON")
    assert vllm_server.resolve_python() == default / "bin" / "python"


def test_lora_rank_limit() -> None:
    assert lora_rank_limit(8) == 8
    assert lora_rank_limit(16) == 16
    assert lora_rank_limit(20) == 32
    with pytest.raises(ValueError, match="lower lora_r"):
        lora_rank_limit(1000)


def test_server_command_turns_on_lora_and_structured_outputs(tmp_path: Path) -> None:
    python = tmp_path / "python"
    python.write_text("")
    server = VLLMServer(tmp_path / "model", python=python, served_model_name="s", port=8123)
    cmd = server.command()
    assert cmd[:3] == [str(python), "-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--port") + 1] == "8123"
    assert cmd[cmd.index("--served-model-name") + 1] == "s"
    assert "--enable-lora" in cmd
    assert '"backend": "xgrammar"' in cmd[cmd.index("--structured-outputs-config") + 1]
    assert server.base_url == "http://127.0.0.1:8123/v1"


def test_server_that_exits_reports_its_log(tmp_path: Path) -> None:
    """A 'python' that fails at once: start raises with the log tail, nothing left running."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'no module named vllm' >&2\nexit 3\n")
    fake.chmod(0o755)
    server = VLLMServer(tmp_path, python=fake, log_path=tmp_path / "log", startup_timeout=30)
    with pytest.raises(RuntimeError, match="(?s)code 3.*no module named vllm"):
        server.start()
    assert not server.running


def test_config_backend_vllm_needs_one_server_source() -> None:
    with pytest.raises(ConfigError, match="exactly one of vllm_url"):
        parse_config({"student": {"backend": "vllm"}})
    with pytest.raises(ConfigError, match="exactly one of vllm_url"):
        parse_config(
            {"student": {"backend": "vllm", "vllm_url": "http://h:1/v1", "vllm_start": True}}
        )
    config = parse_config({"student": {"backend": "vllm", "vllm_start": True}})
    assert config.student.backend == "vllm"
    assert parse_config({}).student.backend == "transformers"


def test_vllm_backend_without_vllm_falls_back_to_transformers(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ioa_agent.probe_scores import student_scores
    from ioa_agent.run import create_run
    from ioa_agent.teacher.exact import ArithmeticTeacher

    monkeypatch.delenv("IOA_VLLM_PYTHON", raising=False)
    monkeypatch.setattr(vllm_server, "DEFAULT_VENV", tmp_path / ".venv-vllm")
    config = parse_config(tiny_config(tiny_model, student={"backend": "vllm", "vllm_start": True}))
    run = create_run(config, tmp_path / "runs", name="fallback")
    teacher = ArithmeticTeacher()
    probes = teacher.write_items(teacher.decompose("arithmetic")[0], 1, 3, seed=0)
    with pytest.warns(UserWarning, match="make vllm-setup.*assessing with transformers"):
        scores = student_scores(run, 0, probes)
    assert set(scores) == {p.id for p in probes}
    assert len(run.store.assessment(0)) == len(probes)
