"""Config: defaults are the paper's, overrides validate, errors name the field."""

from pathlib import Path

import pytest

from ioa_agent.config import Config, ConfigError, dump_config, load_config, parse_config


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
    assert load_config(None).train.packing == "off"  # the demo's measured setting
