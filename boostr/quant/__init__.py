"""Block-quantized tensors in every GGML format (QuantTensor) and the format table."""

from .formats import FORMATS, QK_K, QuantFormat, get_format
from .int4 import INT4_FORMATS, Int4QuantTensor
from .quant_tensor import QuantTensor

__all__ = ["FORMATS", "INT4_FORMATS", "QK_K", "Int4QuantTensor", "QuantFormat", "QuantTensor", "get_format"]
