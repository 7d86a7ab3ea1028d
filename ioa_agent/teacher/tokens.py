"""Token counts for a teacher that reports none: a real tokenizer, loaded on first use.

The built-in exact teacher is code, not a model, so it has no usage figures of its
own. Its calls are counted as the text a model teacher would read and write (the
request and the answer, as JSON) tokenized by the run's student tokenizer, so the
budgets, `ioa status` and the report count real tokens rather than characters.
Teachers behind an endpoint keep the endpoint's usage figures; this module is not
used for them. It does not call any model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


class TokenCounter:
    """Tokens of a text under one Hugging Face tokenizer (no special tokens added)."""

    def __init__(self, locate: Callable[[], Path | str]) -> None:
        self._locate = locate
        self._tokenizer: Any = None
        self.name = ""

    def __call__(self, text: str) -> int:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            path = self._locate()
            self._tokenizer = AutoTokenizer.from_pretrained(str(path))
            self._tokenizer.model_max_length = 1 << 30  # counting only: no length warning
            self.name = Path(path).name
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])
