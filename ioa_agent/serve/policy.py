"""What a run started from the page may do: no more than the page itself.

The page starts runs only from config files inside the folders the server was given
(`ioa serve --configs DIR`, repeatable; default: the repository's `configs/` when
there is one and the package's defaults) or inside the runs folder. Paths are
resolved (symlinks included) before they are compared. A config is refused, with one
line naming the field and what to do, when it sets a field that

- runs a program: `student.vllm_python`;
- sends a key somewhere the config names: `teacher.base_url` together with
  `teacher.api_key_env`;
- reads a file outside those folders: a local `seed_data.path`, a path in
  `train.accelerate_config` (the shipped names are fine).

The command line (`ioa run --config`) can still set all of them. This module only
checks; it starts nothing (workers.py does) and does not parse configs beyond
config.load_config.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import ioa_agent
from ioa_agent.config import Config, ConfigError
from ioa_agent.config_file import load_config
from ioa_agent.student.launch import shipped_config_names

PACKAGE_DEFAULTS = Path(ioa_agent.__file__).resolve().parent / "defaults"
REPO_CONFIGS = Path(ioa_agent.__file__).resolve().parents[1] / "configs"
SUFFIXES = (".yaml", ".yml")
CLI = "start it from a terminal with `ioa run --config FILE`"


def default_config_dirs() -> list[Path]:
    """The shipped configs: the repository's `configs/` when present, the package's defaults."""
    return [d for d in (REPO_CONFIGS, PACKAGE_DEFAULTS) if d.is_dir()]


def allowed_dirs(root: Path, configs: Iterable[Path] | None = None) -> list[Path]:
    """The folders the page may read configs (and their files) from, resolved, runs last."""
    given = list(configs) if configs is not None else default_config_dirs()
    out: list[Path] = []
    for d in [*given, Path(root)]:
        r = Path(d).expanduser().resolve()
        if r not in out:
            out.append(r)
    return out


def inside(path: Path, dirs: Iterable[Path]) -> bool:
    """Whether `path`, resolved, lies in one of `dirs` (resolved already)."""
    real = Path(path).expanduser().resolve()
    return any(real.is_relative_to(d) for d in dirs)


def _named(dirs: list[Path]) -> str:
    return ", ".join(str(d) for d in dirs)


def listed_configs(dirs: list[Path], limit: int = 200) -> list[str]:
    """The config files directly in `dirs` and the runs' own (`<runs>/RUN/config.yaml`,
    the runs folder being the last of `dirs`), for the start page to offer."""
    found: list[Path] = []
    for d in dirs:
        found += sorted(p for p in d.glob("*") if p.suffix in SUFFIXES and p.is_file())
    if dirs:
        found += sorted(dirs[-1].glob("*/config.yaml"))
    return [str(p) for p in found if inside(p, dirs)][:limit]


def find_config(text: str, dirs: list[Path]) -> Path:
    """The config file the form names: an absolute path, or one relative to a folder."""
    given = Path(text.strip()).expanduser()
    candidates = [given] if given.is_absolute() else [d / given for d in dirs]
    for c in candidates:
        real = c.resolve()
        if real.suffix in SUFFIXES and real.is_file() and inside(real, dirs):
            return real
    if not text.strip() or given.suffix not in SUFFIXES:
        raise ConfigError(f"{text!r} is not a .yaml file: pick one of the configs listed")
    if any(c.resolve().is_file() for c in candidates):
        raise ConfigError(
            f"{text!r} is outside the folders this page starts runs from ({_named(dirs)}): "
            f"copy it there (or restart with `ioa serve --configs DIR`), or {CLI}"
        )
    raise ConfigError(f"{text!r} is not a .yaml file in {_named(dirs)}")


def refusals(config: Config, dirs: list[Path]) -> list[str]:
    """One line per field the page does not accept (empty: the config may start)."""
    out: list[str] = []
    if config.student.vllm_python is not None:
        out.append(
            "field `student.vllm_python` names a program to run, which the page does not "
            f"accept: drop it (the server's $IOA_VLLM_PYTHON or .venv-vllm is used) or {CLI}"
        )
    t = config.teacher
    if t.base_url is not None and t.api_key_env is not None:
        out.append(
            f"fields `teacher.base_url` with `teacher.api_key_env` would send the key in "
            f"${t.api_key_env} to {t.base_url}, which the page does not accept: drop "
            f"api_key_env for a local endpoint, or {CLI}"
        )
    seed = config.seed_data
    if seed is not None and not seed.path.startswith("hf://") and not inside(Path(seed.path), dirs):
        out.append(
            f"field `seed_data.path`: {seed.path} is outside the folders this page reads "
            f"({_named(dirs)}): move the file there, or {CLI}"
        )
    acc = config.train.accelerate_config
    shipped = acc is not None and acc in shipped_config_names() and "/" not in acc
    if acc is not None and not shipped and not inside(Path(acc), dirs):
        out.append(
            f"field `train.accelerate_config`: {acc} is outside the folders this page "
            f"reads ({_named(dirs)}): use a shipped name, move the file there, or {CLI}"
        )
    return out


def check_config(path: Path, dirs: list[Path]) -> Config:
    """The config at `path` (inside `dirs`), or ConfigError with every refusal."""
    config = load_config(path)
    why = refusals(config, dirs)
    if why:
        raise ConfigError(f"{path}: " + "; ".join(why))
    return config
