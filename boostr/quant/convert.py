"""Rewriting a LLaMA-family model (GGUF or safetensors) as a GGUF of one GGML type: ``boostr quantize``.

``quantize_model(src, dst, "Q4_K")`` plans every tensor first, then streams them one at a time
(read -> dequantize if needed -> quantize on the CPU client -> write), so only one tensor is ever
held in float. The rules, as llama.cpp's ``llama-quantize`` applies them:

- 2-D ``*.weight`` matrices whose K (last dim) is a multiple of the type's block get the type;
- otherwise (fallback, reported) llama.cpp's choice of a 32-weight-block type of similar size
  (``FALLBACK``: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K/IQ4_XS -> IQ4_NL,
  TQ1_0/TQ2_0/Q1_0 -> Q4_0, others Q8_0) when K is a multiple of 32, else ``F16``;
- 1-D tensors (norms, biases, ``rope_freqs``) are written F32;
- the head (``output.weight``, or ``token_embd.weight`` when the embedding is tied) gets
  ``output_type``; ``"auto"`` (default) is ``Q6_K`` when the type has fewer bits per weight than
  Q6_K (llama.cpp's default for its quantized file types), else the type itself;
- tensors whose name matches a ``keep`` glob keep their input type (block bytes copied);
- an input tensor already of its output type is copied unchanged; one of another quantized type is
  dequantized (boostr's CPU kernels) and requantized, which adds error: a note says how many.

Types are those the CPU quantizes (``supported_types()``) plus F32/F16/BF16; the activation-only
formats Q8_1/Q8_K are refused. Sources and the metadata each gets are in ``convert_sources``.
The file is written beside ``dst`` under a temporary name and renamed when complete.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormatError, InvalidArgument
from .convert_sources import GGUFSource, HFSource, open_source
from .formats import FORMATS

FLOAT_TYPES = ("F32", "F16", "BF16")
_FILE_TYPES = {"F32": "ALL_F32", "Q3_K": "MOSTLY_Q3_K_S", "Q4_K": "MOSTLY_Q4_K_S", "Q5_K": "MOSTLY_Q5_K_S",
               "MXFP4": "MOSTLY_MXFP4_MOE"}  # fmt: skip


FALLBACK = {"Q2_K": "IQ4_NL", "Q3_K": "IQ4_NL", "IQ4_XS": "IQ4_NL", "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0",
            "TQ1_0": "Q4_0", "TQ2_0": "Q4_0", "Q1_0": "Q4_0"}  # fmt: skip
"""The type of a matrix whose K is not a multiple of the requested type's block (when K % 32 == 0)."""
_ITEM_BYTES = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2, "I16": 2}


def supported_types() -> tuple[str, ...]:
    """Output types: F32, F16, BF16 and every block format the CPU quantizer writes (no activation formats)."""
    from ..kernels.cpu.quant.quantize import QUANTIZABLE

    return FLOAT_TYPES + tuple(n for n in QUANTIZABLE if FORMATS[n].family != "activation")


def check_type(arg: str, name: str, allow_auto: bool = False) -> str:
    """The canonical type name of ``name``; InvalidArgument naming ``arg`` and the supported types otherwise."""
    up = str(name).upper()
    if allow_auto and up == "AUTO":
        return "auto"
    ok = supported_types()
    if up not in ok:
        why = " (an activation-only format)" if up in FORMATS and FORMATS[up].family == "activation" else ""
        raise InvalidArgument(arg, f"cannot quantize to {name!r}{why}; supported: {', '.join(ok)}")
    return up


def file_type(qtype: str) -> int:
    """``general.file_type`` (llama.cpp ``LlamaFileType``) of a file mostly of ``qtype``."""
    from gguf import LlamaFileType

    return int(LlamaFileType[_FILE_TYPES.get(qtype, f"MOSTLY_{qtype}")])


def head_type(qtype: str, output_type: str) -> str:
    """The head's type: ``output_type``, or for ``"auto"`` Q6_K below Q6_K's bits per weight, else ``qtype``."""
    if output_type != "auto":
        return output_type
    if qtype in FORMATS and FORMATS[qtype].bits_per_weight < FORMATS["Q6_K"].bits_per_weight:
        return "Q6_K"
    return qtype


def nbytes_of(type_name: str, shape: Sequence[int]) -> int:
    n = int(np.prod(shape))
    if type_name in FORMATS:
        return n // FORMATS[type_name].block_elems * FORMATS[type_name].block_bytes
    return n * _ITEM_BYTES.get(type_name, 1)


@dataclass
class TensorPlan:
    """One output tensor: ``note`` is "" (quantized as asked), fallback, head, 1-D, kept, copied or requantized."""

    name: str
    shape: tuple[int, ...]
    src_type: str
    out_type: str
    note: str = ""

    @property
    def nbytes(self) -> int:
        return nbytes_of(self.out_type, self.shape)


def plan_tensor(name: str, shape: tuple[int, ...], src_type: str, target: str, keep: Sequence[str]) -> TensorPlan:
    """The output type of one tensor under the module doc's rules (``target``: its type before fallback)."""
    if any(fnmatch.fnmatchcase(name, pat) for pat in keep):
        writable = src_type in FORMATS or src_type in FLOAT_TYPES
        return TensorPlan(name, shape, src_type, src_type if writable else "F32", "kept")
    if len(shape) != 2 or not name.endswith(".weight"):
        return TensorPlan(name, shape, src_type, "F32", "1-D")
    out, note = target, ""
    if target in FORMATS and shape[-1] % FORMATS[target].block_elems:
        out, note = (FALLBACK.get(target, "Q8_0") if shape[-1] % 32 == 0 else "F16"), "fallback"
    if src_type == out:
        note = note or ("copied" if src_type in FORMATS else "")
    elif src_type in FORMATS:
        note = note or "requantized"
    return TensorPlan(name, shape, src_type, out, note)


@dataclass
class QuantizeResult:
    """What ``quantize_model`` wrote: per-tensor plans, sizes, time and notes."""

    path: str
    qtype: str
    plans: list[TensorPlan]
    in_bytes: int
    out_bytes: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Number of tensors per output type, most frequent first."""
        return dict(Counter(p.out_type for p in self.plans).most_common())

    @property
    def bits_per_weight(self) -> float:
        """Bits of tensor data per weight over the whole file."""
        n = sum(int(np.prod(p.shape)) for p in self.plans)
        return 8.0 * sum(p.nbytes for p in self.plans) / max(n, 1)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {t}" for t, n in self.counts().items())
        weights = sum(int(np.prod(p.shape)) for p in self.plans)
        return (
            f"wrote {self.path} ({self.qtype}) in {self.seconds:.1f} s\n"
            f"  tensors: {len(self.plans)} ({counts})\n"
            f"  size:    {self.in_bytes / 1e6:.2f} MB of input tensors -> {self.out_bytes / 1e6:.2f} MB file "
            f"({self.out_bytes / max(self.in_bytes, 1):.0%} of the input)\n"
            f"  weights: {weights:,} at {self.bits_per_weight:.3f} bits per weight"
        )


def make_plans(src: GGUFSource | HFSource, qtype: str, output_type: str, keep: Sequence[str]) -> list[TensorPlan]:
    """Plans for every tensor of ``src``, in its order."""
    head = "output.weight" if "output.weight" in src.names else "token_embd.weight"
    htype = head_type(qtype, output_type)
    return [plan_tensor(n, src.shape(n), src.type_name(n), htype if n == head else qtype, keep) for n in src.names]


def _notes(plans: list[TensorPlan], qtype: str) -> list[str]:
    out = []
    fb = [p for p in plans if p.note == "fallback"]
    if fb:
        block = FORMATS[qtype].block_elems if qtype in FORMATS else 0
        listed = ", ".join(f"{p.name} (K={p.shape[-1]}) -> {p.out_type}" for p in fb[:6])
        more = f" and {len(fb) - 6} more" if len(fb) > 6 else ""
        out.append(f"{len(fb)} tensor(s) have a K that is not a multiple of the {block}-weight block; written in "
                   f"a 32-weight-block type (F16 if K % 32 != 0): {listed}{more}")  # fmt: skip
    rq = Counter(p.src_type for p in plans if p.note == "requantized")
    if rq:
        kinds = ", ".join(f"{n} {t}" for t, n in rq.items())
        out.append(f"requantizing already-quantized tensors ({kinds}): dequantized then quantized again, which adds "
                   "error; quantize from the float model when you have it")  # fmt: skip
    return out


def _produce(src: GGUFSource | HFSource, p: TensorPlan, client: Any) -> np.ndarray:
    """The bytes of one planned tensor (block rows, or a float array of the output type)."""
    if p.src_type == p.out_type:
        arr = src.raw(p.name)
    else:
        x = src.floats(p.name)
        if p.out_type in FORMATS:
            arr = client.quantize(client.from_numpy(x.reshape(-1, x.shape[-1])), p.out_type).raw()
            arr = arr.reshape(int(np.prod(p.shape[:-1])), -1)
        elif p.out_type == "F16":
            arr = x.astype(np.float16)
        elif p.out_type == "BF16":
            import ml_dtypes

            arr = x.astype(ml_dtypes.bfloat16)
        else:
            arr = x.astype(np.float32, copy=False)
    arr = np.ascontiguousarray(arr)
    if p.out_type == "BF16":
        arr = arr.view(np.uint16)
    if arr.nbytes != p.nbytes:
        raise FormatError(f"tensor {p.name!r}: {arr.nbytes} bytes produced, {p.out_type} {p.shape} needs {p.nbytes}")
    return arr


def _write(dst: str, src: GGUFSource | HFSource, plans: list[TensorPlan], qtype: str, progress: bool) -> None:
    from gguf import GGML_QUANT_VERSION, GGMLQuantizationType, GGUFValueType, GGUFWriter
    from tqdm import tqdm

    from ..runtime.registry import get_client

    client = get_client("cpu")
    writer = GGUFWriter(dst, src.arch)
    try:
        src.add_metadata(writer)
        writer.add_key_value("general.file_type", file_type(qtype), GGUFValueType.UINT32)
        if any(p.out_type in FORMATS for p in plans):
            writer.add_key_value("general.quantization_version", GGML_QUANT_VERSION, GGUFValueType.UINT32)
        for p in plans:
            dt = np.dtype(np.uint16) if p.out_type == "BF16" else np.dtype(np.float32)
            writer.add_tensor_info(p.name, list(p.shape), dt, p.nbytes, GGMLQuantizationType[p.out_type])
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        with tqdm(total=len(plans), unit="tensor", desc=f"quantizing to {qtype}", disable=not progress) as bar:
            for p in plans:
                bar.set_postfix_str(f"{p.name} -> {p.out_type}", refresh=False)
                writer.write_tensor_data(_produce(src, p, client))
                bar.update(1)
    finally:
        writer.close()


def quantize_model(
    src_path: str | os.PathLike[str], dst_path: str | os.PathLike[str], qtype: str, output_type: str = "auto",
    keep: Sequence[str] = (), progress: bool = False, log: Callable[[str], None] | None = None,
) -> QuantizeResult:  # fmt: skip
    """Write ``src_path`` (GGUF, safetensors file/index or HF directory) as a GGUF of ``qtype`` at ``dst_path``.

    ``log`` receives the notes (fallbacks, requantization, what metadata was not carried) before the
    tensors are written. Raises InvalidArgument for bad types or paths, FormatError for bad input.
    """
    qtype = check_type("qtype", qtype)
    output_type = check_type("output_type", output_type, allow_auto=True)
    dst = os.fspath(dst_path)
    if os.path.isdir(dst):
        raise InvalidArgument("dst_path", f"{dst!r} is a directory; expected a .gguf file path")
    if os.path.exists(dst) and os.path.exists(src_path) and os.path.samefile(dst, src_path):
        raise InvalidArgument("dst_path", f"{dst!r} is the input file; write to another path")
    t0 = time.perf_counter()
    src = open_source(src_path)
    plans = make_plans(src, qtype, output_type, keep)
    if not plans:
        raise FormatError(f"{os.fspath(src_path)!r} holds no tensors")
    notes = [*src.notes, *_notes(plans, qtype)]
    for n in notes:
        if log is not None:
            log(n)
    tmp = f"{dst}.tmp-{os.getpid()}"
    try:
        _write(tmp, src, plans, qtype, progress)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    in_bytes = sum(nbytes_of(p.src_type, p.shape) for p in plans)
    return QuantizeResult(dst, qtype, plans, in_bytes, os.path.getsize(dst), time.perf_counter() - t0, notes)


__all__ = [
    "FALLBACK", "FLOAT_TYPES", "QuantizeResult", "TensorPlan", "check_type", "file_type", "head_type", "make_plans",
    "plan_tensor", "quantize_model", "supported_types",
]  # fmt: skip
