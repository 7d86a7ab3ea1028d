"""What a run started from the page may do (serve/policy.py), through the real app.

The page starts runs only from configs in the folders it was given (or the runs
folder), and refuses, with a line naming the field, a config that runs a program
(`student.vllm_python`), sends a key where the config says (`teacher.base_url` with
`teacher.api_key_env`) or reads a file outside those folders (`seed_data.path`,
`train.accelerate_config`). Nothing starts on a refusal; the CLI's loader still
accepts every one of these configs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from ioa_agent.config_file import load_config
from ioa_agent.serve import policy, workers
from ioa_agent.serve.app import create_app

LOCAL = "http://127.0.0.1:8765"
LLM = {"kind": "llm", "model": "teacher", "base_url": "http://127.0.0.1:9/v1"}


@pytest.fixture
def where(tmp_path: Path) -> dict[str, Path]:
    out = {k: tmp_path / k for k in ("runs", "configs", "elsewhere")}
    for p in out.values():
        p.mkdir()
    (out["configs"] / "data").mkdir()
    (out["configs"] / "data" / "seed.jsonl").write_text('{"prompt": "1+1", "answer": "2"}\n')
    (out["elsewhere"] / "seed.jsonl").write_text('{"prompt": "1+1", "answer": "2"}\n')
    return out


def write(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def start(where: dict[str, Path], config: str, name: str = "r1") -> tuple[int, str]:
    app = create_app(where["runs"], configs=[where["configs"]])
    c = TestClient(app, base_url=LOCAL, follow_redirects=False)
    page = c.get("/start").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = c.post("/start", data={"csrf": csrf, "config": config, "name": name})
    assert not workers.running() and not (where["runs"] / name).exists()  # nothing started
    return r.status_code, r.text


def error_of(html: str) -> str:
    return re.search(r'id="form-error">([^<]*)<', html).group(1).replace("&#39;", "'")


def test_configs_only_from_the_given_folders(where: dict[str, Path]) -> None:
    outside = write(where["elsewhere"] / "run.yaml", {"max_rounds": 1})
    status, html = start(where, str(outside))
    assert status == 400
    assert "outside the folders this page starts runs from" in error_of(html)
    assert str(where["configs"]) in error_of(html) and "ioa run --config" in error_of(html)
    # a link inside the folder to a file outside it is outside
    (where["configs"] / "link.yaml").symlink_to(outside)
    status, html = start(where, str(where["configs"] / "link.yaml"))
    assert status == 400 and "outside the folders" in error_of(html)
    status, html = start(where, "../elsewhere/run.yaml")
    assert status == 400 and "outside the folders" in error_of(html)
    status, html = start(where, "nothing.yaml")
    assert status == 400 and "is not a .yaml file in" in error_of(html)
    status, html = start(where, "/etc/passwd")
    assert status == 400 and "is not a .yaml file" in error_of(html)

    # the start page offers what it may use
    write(where["configs"] / "mine.yaml", {"max_rounds": 1})
    page = TestClient(create_app(where["runs"], configs=[where["configs"]]), base_url=LOCAL)
    text = page.get("/start").text
    assert f'<option value="{where["configs"] / "mine.yaml"}">' in text
    assert str(where["elsewhere"]) not in text and "link.yaml" not in text

    dirs = policy.allowed_dirs(where["runs"])  # the default: shipped configs, then the runs
    repo = Path(__file__).resolve().parents[1]
    assert dirs == [repo / "configs", repo / "ioa_agent" / "defaults", where["runs"].resolve()]
    assert policy.find_config("gsm8k.yaml", dirs) == repo / "configs" / "gsm8k.yaml"


@pytest.mark.parametrize(
    ("cfg", "field"),
    [
        ({"student": {"vllm_python": "/bin/sh"}}, "student.vllm_python"),
        ({"student": {"vllm_python": "python3"}}, "student.vllm_python"),
        (
            {"teacher": {**LLM, "base_url": "https://evil.example/v1", "api_key_env": "HOME"}},
            "teacher.base_url` with `teacher.api_key_env",
        ),
        (
            {"teacher": LLM, "domain": "d", "seed_data": {"path": "SEED_OUTSIDE"}},
            "seed_data.path",
        ),
        (
            {"teacher": LLM, "domain": "d", "seed_data": {"path": "../elsewhere/seed.jsonl"}},
            "seed_data.path",
        ),
        ({"train": {"accelerate_config": "SEED_OUTSIDE"}}, "train.accelerate_config"),
    ],
)
def test_fields_that_widen_the_page_are_refused(
    where: dict[str, Path], cfg: dict, field: str
) -> None:
    text = yaml.safe_dump(cfg).replace("SEED_OUTSIDE", str(where["elsewhere"] / "seed.jsonl"))
    path = where["configs"] / "widen.yaml"
    path.write_text(text)
    status, html = start(where, "widen.yaml")
    assert status == 400
    err = error_of(html)
    assert f"field `{field}`" in err or f"fields `{field}`" in err, err
    assert "ioa run --config" in err
    load_config(path)  # the CLI still takes it


def test_what_the_page_accepts(where: dict[str, Path]) -> None:
    dirs = policy.allowed_dirs(where["runs"], [where["configs"]])
    fine = [
        {"teacher": LLM},  # a local endpoint without a key
        {"teacher": {**LLM, "base_url": None, "api_key_env": "OPENAI_API_KEY"}},  # OpenAI
        {"teacher": LLM, "domain": "d", "seed_data": {"path": "data/seed.jsonl"}},
        {"teacher": LLM, "domain": "d", "seed_data": {"path": "hf://openai/gsm8k:main/train"}},
        {"train": {"accelerate_config": "ddp"}},
        {"student": {"vllm_python": None}},
    ]
    for i, cfg in enumerate(fine):
        path = policy.find_config(str(write(where["configs"] / f"ok{i}.yaml", cfg)), dirs)
        assert policy.refusals(load_config(path), dirs) == [], cfg
    both = {
        "student": {"vllm_python": "/bin/sh"},
        "teacher": {**LLM, "api_key_env": "KEY"},
    }
    path = write(where["configs"] / "both.yaml", both)
    assert len(policy.refusals(load_config(path), dirs)) == 2
