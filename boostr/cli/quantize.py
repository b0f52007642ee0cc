"""``boostr quantize IN OUT --type Q4_K``: rewrite a LLaMA-family model as a GGUF of one GGML type.

IN is a GGUF file, a safetensors file, a sharded ``model.safetensors.index.json`` or an HF model
directory (with ``config.json``); the format comes from the magic bytes. OUT is the GGUF to write.
The rules (which tensors are quantized, the fallback for a K that is not a block multiple, the
head's type) are those of ``boostr.quant.convert``; notes about fallbacks and requantization go to
stderr before the tensors are written, a tqdm bar shows progress, and a summary (tensors per type,
sizes, bits per weight, time) ends the run. Exit status: 0 done, 2 for a bad argument or malformed
input (the message says which), 1 when the output cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "quantize",
        help="rewrite a GGUF or safetensors LLaMA-family model as a GGUF of one type (Q4_K, Q8_0, ...)",
        description="Quantize 2-D weight matrices to --type on the CPU; norms and biases stay F32; a matrix "
        "whose K is not a multiple of the type's block falls back as llama-quantize does (Q4_K -> Q5_0, "
        "Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K -> IQ4_NL, ...; F16 when K % 32 != 0).",
    )
    p.add_argument("input", help="GGUF file, safetensors file or index, or HF model directory")
    p.add_argument("output", help="GGUF file to write")
    p.add_argument("--type", default="Q4_K", help="GGML type of the weight matrices (default Q4_K); one of the "
                   "types the CPU quantizes, or F32/F16/BF16")  # fmt: skip
    p.add_argument("--output-type", default="auto", help="type of the head (output.weight, or token_embd.weight "
                   "when tied); auto (default): Q6_K when --type has fewer bits per weight, else --type")  # fmt: skip
    p.add_argument("--keep", action="append", default=[], metavar="GLOB", help="leave tensors whose GGUF name "
                   "matches GLOB in their input type (repeatable), e.g. --keep 'blk.0.*'")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``boostr quantize``; returns the exit status."""
    from ..errors import FormatError, InvalidArgument
    from ..quant.convert import check_type, quantize_model

    def note(msg: str) -> None:
        print(f"boostr quantize: note: {msg}", file=sys.stderr)

    try:
        qtype = check_type("--type", args.type)
        out_type = check_type("--output-type", args.output_type, allow_auto=True)
        res = quantize_model(args.input, args.output, qtype, out_type, keep=args.keep,
                             progress=not args.no_progress, log=note)  # fmt: skip
    except (FormatError, InvalidArgument) as exc:
        print(f"boostr quantize: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"boostr quantize: cannot write {args.output!r}: {exc}", file=sys.stderr)
        return 1
    print(res.summary())
    return 0


__all__ = ["add_parser", "run"]
