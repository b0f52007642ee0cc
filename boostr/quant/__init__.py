"""Block-quantized tensors in every GGML format (QuantTensor) and the format table."""

from .formats import FORMATS, QK_K, QuantFormat, get_format
from .quant_tensor import QuantTensor

__all__ = ["FORMATS", "QK_K", "QuantFormat", "QuantTensor", "get_format"]
