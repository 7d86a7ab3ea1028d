"""Config files: reading one into the run's `Config`, writing one, and advice on it.

`load_config` reads a YAML file (or the built-in offline demo), validates it with
`config.parse_config`, resolves a local seed-data path against the file's folder and
checks a hub id's form, then warns (`ConfigWarning`) with each line of `advice`: fields
set where they have no effect, and a mastery gate on too few probes to trust. Advice
never rejects or changes a config (`Config`'s validators reject). `dump_config` is the
YAML a run directory keeps.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import yaml

from ioa_agent.config import GATE_PROBES, HF_SEED, Config, ConfigError, parse_config


class ConfigWarning(UserWarning):
    """A field set in a config file where it has no effect."""


DEMO = "demo.yaml"


def load_config(path: Path | None = None, warn: bool = True) -> Config:
    """The config from a YAML file, or the built-in offline demo when `path` is None.

    With `warn`, a `ConfigWarning` for each line of `advice`: fields set
    where they have no effect, a gate on too few probes (a run directory's config.yaml
    holds every field, so reopening a run does not warn).
    """
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
    config = parse_config(data, where)
    if config.seed_data is not None and path is not None:
        if config.seed_data.path.startswith("hf://"):
            if not HF_SEED.match(config.seed_data.path):
                raise ConfigError(
                    f"{where}: field `seed_data.path`: {config.seed_data.path!r} is not "
                    "hf://OWNER/NAME[@REVISION][:CONFIG]/SPLIT (e.g. hf://openai/gsm8k:main/train)"
                )
            return config
        seed = Path(config.seed_data.path).expanduser()
        seed = seed if seed.is_absolute() else (path.parent / seed).resolve()
        if not seed.is_file():
            raise ConfigError(
                f"{where}: field `seed_data.path`: {seed} does not exist: point it at a "
                "JSONL file or a dataset id, hf://OWNER/NAME[:CONFIG]/SPLIT"
            )
        config.seed_data.path = str(seed)
    for message in advice(config) if warn else []:
        warnings.warn(f"{where}: {message}", ConfigWarning, stacklevel=2)
    return config


def dump_config(config: Config) -> str:
    """The config as YAML, as stored in a run directory."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def ineffective_fields(config: Config) -> list[str]:
    """One line per field the config sets where it has no effect: the field and why."""
    out: list[str] = []
    if config.seed_data is not None and "probes_per_level" in config.identifier.model_fields_set:
        out.append(
            "field `identifier.probes_per_level` has no effect with `seed_data`: probes are "
            "held out per module (`seed_data.probes_per_module`)"
        )
    if config.student.backend == "vllm" and "batch_size" in config.assess.model_fields_set:
        out.append(
            "field `assess.batch_size` has no effect with `student.backend: vllm`: the server "
            "batches the requests in flight (`student.vllm_concurrency`); it is used only when "
            "vLLM is missing and assessment falls back to transformers"
        )
    return out


def weak_gate(config: Config) -> str | None:
    """A line when the mastery gate judges skills on fewer probes than tell 0.9 from luck."""
    n = config.organizer.gate_min_probes
    if n >= GATE_PROBES or config.seed_data is not None:  # seed data: as many as it holds
        return None
    return (
        f"the mastery gate judges each skill on {n} probes (identifier.probes_per_level): "
        f"{GATE_PROBES} or more tell 0.9 from luck"
    )


def advice(config: Config) -> list[str]:
    """Every line of advice on `config`, in order."""
    weak = weak_gate(config)
    return [*ineffective_fields(config), *([weak] if weak else [])]
