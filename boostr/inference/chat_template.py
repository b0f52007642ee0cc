"""Chat templates: the model's Jinja template rendered in jinja2's sandbox.

``render_chat(template, messages, add_generation_prompt=True, bos_token="", eos_token="")``
renders like HF transformers' ``apply_chat_template``: an ``ImmutableSandboxedEnvironment``
(templates cannot reach Python internals or mutate their inputs) with ``trim_blocks`` and
``lstrip_blocks``, the ``raise_exception`` and ``strftime_now`` globals and a ``tojson`` filter
that keeps non-ASCII text. ``messages`` is a list of ``{"role": ..., "content": ...}``.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from ..errors import InvalidArgument


class TemplateError(InvalidArgument):
    """The template raised (``raise_exception``) or failed to render."""

    def __init__(self, reason: str) -> None:
        super().__init__("messages", reason)


def _raise(message: str) -> None:
    raise TemplateError(f"the chat template refused the messages: {message}")


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None,
            sort_keys: bool = False) -> str:  # fmt: skip
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


@lru_cache(maxsize=8)
def _compile(template: str) -> Any:
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    try:
        return env.from_string(template)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"the chat template does not parse: {exc}") from exc


def render_chat(
    template: str, messages: list[dict[str, Any]], add_generation_prompt: bool = True, bos_token: str = "",
    eos_token: str = "", **extra: Any,
) -> str:  # fmt: skip
    """The prompt text for ``messages`` (see the module doc)."""
    from jinja2.exceptions import SecurityError, UndefinedError

    if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
        raise InvalidArgument("messages", "expected a list of {'role': ..., 'content': ...} dicts")
    tmpl = _compile(template)
    try:
        return str(tmpl.render(messages=messages, add_generation_prompt=add_generation_prompt,
                               bos_token=bos_token, eos_token=eos_token, **extra))  # fmt: skip
    except (SecurityError, UndefinedError, TypeError) as exc:
        raise TemplateError(f"the chat template failed: {type(exc).__name__}: {exc}") from exc


__all__ = ["TemplateError", "render_chat"]
