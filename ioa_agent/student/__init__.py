"""The student: a Hugging Face causal LM that the run fine-tunes with LoRA.

`models` resolves a model name or folder to a local Hugging Face folder (converting
the packaged SmolLM2 GGUF once) and builds tiny random models for tests;
`generate` answers prompts in batches; `train` runs one LoRA SFT round in a
subprocess. Importing this package loads no heavy library.
"""
