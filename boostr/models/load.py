"""Loading a LLaMA-family model from GGUF or safetensors onto a backend.

``load_model(path, backend=None, dequantize="auto", fuse=True, progress=True)``:

- the format is detected from the file's magic bytes (``boostr.formats.detect_format``);
- GGUF: config from the metadata, tensors uploaded from the memory map (quantized types as
  QuantTensor, their block bytes untouched); llama3-style ``rope_freqs.weight`` becomes RoPE
  frequency factors; the tokenizer comes from the metadata;
- safetensors (file, sharded index or HF directory): config from ``config.json``;
- float weights are held in f32 (activations are f32); a narrower float type is cast on the device.

``dequantize``: ``"auto"`` (default) keeps a quantized format as QuantTensor unless the backend
refuses it with ``UnsupportedDType`` (probed once per format with a one-block ``quant_matmul`` and
``dequantize``); then that format is decoded once at load time (on the device if the backend can
dequantize it, else on the host with gguf-py) and held in f32. ``"never"`` keeps every QuantTensor
(ops then raise UnsupportedDType where the backend lacks a kernel), ``"always"`` decodes all.
There is never a silent per-op fallback: the choice is made here, once, and reported in
``model.load_report``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import dtype as _dt
from ..errors import FormatError, InvalidArgument, UnsupportedDType
from ..formats import detect_format, gguf_to_module, hf_to_module, open_gguf, open_safetensors
from ..quant.formats import FORMATS, get_format
from ..quant.quant_tensor import QuantTensor
from ..runtime.registry import get_client
from ..tensor import Tensor
from .config import LlamaConfig
from .llama import LlamaModel

DEQUANTIZE_MODES = ("auto", "never", "always")


def backend_runs_format(client: Any, fmt_name: str) -> bool:
    """True unless ``client`` refuses ``quant_matmul`` or ``dequantize`` of ``fmt_name`` with UnsupportedDType."""
    cache = client.__dict__.setdefault("_boostr_quant_probe", {})
    if fmt_name not in cache:
        fmt = get_format(fmt_name)
        qt = QuantTensor.from_raw(np.zeros(fmt.block_bytes, np.uint8), fmt, (1, fmt.block_elems), backend=client)
        try:
            client.quant_matmul(client.zeros(1, fmt.block_elems), qt)
            client.dequantize(qt)
            cache[fmt_name] = True
        except UnsupportedDType:
            cache[fmt_name] = False
    return bool(cache[fmt_name])


def _device_dequantizes(client: Any, fmt_name: str) -> bool:
    fmt = get_format(fmt_name)
    try:
        client.dequantize(QuantTensor.from_raw(np.zeros(fmt.block_bytes, np.uint8), fmt, (1, fmt.block_elems), client))
        return True
    except UnsupportedDType:
        return False


def _bar(total: int, desc: str, on: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not on, leave=False)


def _as_f32(client: Any, t: Tensor) -> Tensor:
    return t if t.dtype is _dt.f32 or not t.dtype.is_float else client.cast(t, _dt.f32)


def _load_gguf(path: str, client: Any, dequantize: str, progress: bool, report: dict[str, Any]) -> LlamaModel:
    f = open_gguf(path)
    cfg = LlamaConfig.from_gguf(f.metadata)
    cfg.tie_word_embeddings = "output.weight" not in f
    freq = None
    if "rope_freqs.weight" in f:
        freq = [float(v) for v in np.asarray(f.host_array("rope_freqs.weight"), dtype=np.float64).reshape(-1)]
    todo = [(n, gguf_to_module(n)) for n in f.names]
    report["ignored"] = [n for n, m in todo if m is None and n != "rope_freqs.weight"]
    params: dict[str, Any] = {}
    bar = _bar(sum(f.nbytes(n) for n, m in todo if m), f"loading {os.path.basename(path)} to {client.device_name}",
               progress)  # fmt: skip
    for gname, mname in todo:
        if mname is None:
            continue
        kind = f.type_name(gname)
        if kind in FORMATS:
            deq = dequantize == "always" or (dequantize == "auto" and not backend_runs_format(client, kind))
            if deq:
                report["dequantized"].add(kind)
                if _device_dequantizes(client, kind):
                    params[mname] = f.load(gname, client).dequantize()  # type: ignore[union-attr]
                else:
                    params[mname] = f.load(gname, client, dequantize=True)
            else:
                params[mname] = f.load(gname, client)
        else:
            params[mname] = _as_f32(client, f.load(gname, client))  # type: ignore[arg-type]
        bar.update(f.nbytes(gname))
    bar.close()
    model = LlamaModel.from_params(cfg, params, freq)
    model.source_metadata = dict(f.metadata)
    from ..inference.tokenizer import Tokenizer

    if "tokenizer.ggml.tokens" in f.metadata:
        model.tokenizer = Tokenizer.from_gguf_metadata(f.metadata)
    return model


def _load_safetensors(path: str, client: Any, progress: bool) -> LlamaModel:
    ck = open_safetensors(path)
    if ck.hf_config is None:
        raise FormatError(f"safetensors checkpoint {path!r} has no config.json beside it")
    cfg = LlamaConfig.from_hf(ck.hf_config)
    names = [n for n in ck.names if not n.endswith("rotary_emb.inv_freq")]
    params: dict[str, Any] = {}
    bar = _bar(len(names), f"loading {os.path.basename(path)} to {client.device_name}", progress)
    for n in names:
        params[hf_to_module(n)] = _as_f32(client, ck.load(n, client))
        bar.update(1)
    bar.close()
    model = LlamaModel.from_params(cfg, params)
    tok_path = os.path.join(os.path.dirname(path) if os.path.isfile(path) else path, "tokenizer.json")
    if os.path.isfile(tok_path):
        from ..inference.tokenizer import Tokenizer

        model.tokenizer = Tokenizer.from_file(tok_path, ck.hf_config)
    return model


def load_model(
    path: str | os.PathLike[str], backend: Any = None, dequantize: str = "auto", fuse: bool = True,
    progress: bool = True,
) -> LlamaModel:  # fmt: skip
    """Load a model file or directory onto ``backend`` (see the module doc); the tokenizer, when the
    file carries one, is ``model.tokenizer``; ``model.load_report`` says what was dequantized."""
    if dequantize not in DEQUANTIZE_MODES:
        raise InvalidArgument("dequantize", f"expected one of {DEQUANTIZE_MODES}, received {dequantize!r}")
    client = backend if hasattr(backend, "_k_upload") else get_client(backend)
    spath = os.fspath(path)
    kind = detect_format(spath)
    report: dict[str, Any] = {"format": kind, "dequantized": set()}
    if kind == "gguf":
        model = _load_gguf(spath, client, dequantize, progress, report)
    else:
        model = _load_safetensors(spath, client, progress)
    report["fused_qkv_layers"] = model.fuse() if fuse else 0
    report["dequantized"] = sorted(report["dequantized"])
    model.load_report = report
    return model


__all__ = ["DEQUANTIZE_MODES", "backend_runs_format", "load_model"]
