"""Inference: tokenizer (HF tokenizers from GGUF metadata), chat templates (sandboxed jinja2),
on-device sampling and the generation loop."""

from .chat_template import TemplateError, render_chat
from .generate import GenerationResult, generate
from .sampling import Sampler, SamplingParams
from .tokenizer import Tokenizer

__all__ = ["GenerationResult", "Sampler", "SamplingParams", "TemplateError", "Tokenizer", "generate", "render_chat"]
