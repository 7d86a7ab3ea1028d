"""Config: defaults are the paper's, overrides validate, errors name the field."""

import warnings
from pathlib import Path

import pytest
import yaml

from ioa_agent.config import Config, ConfigError, parse_config
from ioa_agent.config_file import ConfigWarning, dump_config, ineffective_fields, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_the_papers() -> None:
    c = Config()
    assert (c.identifier.tau_gap, c.identifier.alpha, c.identifier.target_fraction) == (
        0.3,
        0.7,
        0.25,
    )
    assert (c.identifier.tau_high, c.identifier.tau_low, c.identifier.tau_dep) == (0.9, 0.7, 0.3)
    assert (c.organizer.tau_zpd, c.organizer.tau_mastery, c.organizer.max_remedial) == (
        0.15,
        0.9,
        5,
    )
    assert c.adapter.j == 10
    t = c.train
    assert (t.lora_r, t.lora_alpha, t.lora_dropout, t.learning_rate) == (16, 32, 0.05, 1e-4)
    assert t.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert (t.lr_scheduler, t.warmup_ratio) == ("cosine", 0.03)
    assert c.review == "off"


def test_builtin_demo_loads_and_overrides() -> None:
    c = load_config(None)
    assert c.student.model == "smollm2-135m-instruct"
    assert c.organizer.on_escalation == "move_on"
    assert c.identifier.tau_gap == 0.3  # not overridden: the paper's


def test_roundtrip(tmp_path: Path) -> None:
    c = parse_config({"seed": 7, "organizer": {"max_remedial": 2}})
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(c))
    assert load_config(path) == c


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("organizer:\n  tau_mastery: 1.5\n", "organizer.tau_mastery"),
        ("organiser:\n  tau_mastery: 0.5\n", "organiser"),
        ("review: maybe\n", "review"),
        ("train: [1, 2\n", "not valid YAML"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("train:\n  steps_per_round: 0\n", "train.steps_per_round"),
    ],
)
def test_bad_config_names_what_to_fix(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert needle in msg and "\n" not in msg


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_yaml_on_off_switches_read_as_words(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  packing: off\n  gradient_checkpointing: on\n")
    cfg = load_config(path)
    assert (cfg.train.packing, cfg.train.gradient_checkpointing) == ("off", "on")
    assert load_config(None).train.packing == "on"  # the demo packs (measured faster)


def write_config_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_fields_without_effect_warn_at_load_time(tmp_path: Path) -> None:
    seed = tmp_path / "seed.jsonl"
    seed.write_text('{"question": "1 + 1?", "answer": "2"}\n')
    path = tmp_path / "c.yaml"
    path.write_text(
        "domain: sums\nteacher: {kind: llm, model: m}\n"
        f"seed_data: {{path: {seed}}}\nidentifier: {{probes_per_level: 4}}\n"
        "student: {backend: vllm, vllm_start: true}\nassess: {batch_size: 64}\n"
    )
    with pytest.warns(ConfigWarning) as caught:
        config = load_config(path)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "`identifier.probes_per_level` has no effect with `seed_data`" in messages[0]
    assert "`assess.batch_size` has no effect with `student.backend: vllm`" in messages[1]
    assert all(m.startswith(f"{path}: field ") for m in messages)
    assert config.organizer.gate_min_probes == 2  # 8 probes a module over 3 levels
    # the same fields where they do have an effect, or left unset: no warning
    with pytest.warns(ConfigWarning, match="judges each skill on 4 probes"):
        load_config(
            write_config_text(tmp_path / "weak.yaml", "identifier: {probes_per_level: 4}\n")
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigWarning)
        assert ineffective_fields(parse_config({"identifier": {"probes_per_level": 16}})) == []
        assert ineffective_fields(parse_config({"assess": {"batch_size": 2}})) == []
        load_config(None)
        for shipped in sorted((ROOT / "configs").glob("*.yaml")):
            data = yaml.safe_load(shipped.read_text())
            assert ineffective_fields(parse_config(data, str(shipped))) == [], shipped
        # a run directory's config.yaml holds every field: reopening it does not warn
        stored = tmp_path / "stored.yaml"
        stored.write_text(dump_config(config))
        assert load_config(stored, warn=False) == config


def test_ioa_run_prints_the_warning_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ioa_agent.cli import main

    path = tmp_path / "c.yaml"
    path.write_text(
        "student: {backend: vllm, vllm_url: 'http://127.0.0.1:9/v1', model: nope}\n"
        "assess: {batch_size: 8}\n"
    )
    assert main(["run", "--config", str(path), "--runs", str(tmp_path)]) == 2  # no such model
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"ioa: warning: {path}: field `assess.batch_size` has no effect")
    assert err[1].startswith("ioa: error: student model 'nope' not found")
