"""The CUDA runtime: CuPy arrays for storage, CuPy/cuBLAS where they are the best tool and
RawKernels compiled from ``boostr/kernels/cuda`` everywhere else.

``import cupy`` happens only inside ``probe()`` / ``create_client()`` (and the modules they
load), so importing boostr never needs CuPy or a GPU.
"""

from __future__ import annotations

from typing import Any

MIN_COMPUTE_CAPABILITY = 80  # bf16 conversions and mma.sync bf16 need sm_80


def _install_hint() -> str:
    return (
        "install CuPy for your CUDA toolkit: pip install 'boostr[cuda]' brings the source package; "
        "prefer the wheel, `pip install cupy-cuda12x` (CUDA 12) or `pip install cupy-cuda13x` (CUDA 13)"
    )


def probe() -> str | None:
    """None when a CUDA device can run boostr here, else why not (never raises)."""
    try:
        import cupy
    except ImportError as exc:
        return f"CuPy is not installed ({exc}); {_install_hint()}"
    except Exception as exc:
        return f"CuPy failed to import: {type(exc).__name__}: {exc}"
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:
        built = _cupy_cuda_major(cupy)
        return (
            f"no usable CUDA driver ({type(exc).__name__}: {exc}); CuPy {cupy.__version__} was built for "
            f"CUDA {built}: install an NVIDIA driver that supports it, or the cupy-cuda{{12,13}}x wheel that "
            f"matches your driver"
        )
    if count == 0:
        return "no CUDA device found (cupy.cuda.runtime.getDeviceCount() == 0)"
    try:
        ccs = [int(cupy.cuda.Device(i).compute_capability) for i in range(count)]
    except Exception as exc:
        return f"cannot query CUDA devices: {type(exc).__name__}: {exc}"
    if max(ccs) < MIN_COMPUTE_CAPABILITY:
        return f"boostr's CUDA kernels need compute capability >= 8.0 (sm_80); found {sorted(set(ccs))}"
    try:
        cupy.cuda.nvrtc.getVersion()
    except Exception as exc:
        return f"NVRTC (the runtime CUDA compiler) cannot load: {exc}; {_install_hint()}"
    return None


def _cupy_cuda_major(cupy: Any) -> str:
    try:
        return str(cupy.cuda.runtime.runtimeGetVersion() // 1000)
    except Exception:
        name = getattr(cupy, "__name__", "cupy")
        return f"unknown ({name})"


def device_count() -> int:
    """Number of CUDA devices CuPy sees (0 when CUDA is unavailable)."""
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def create_client(index: int = 0) -> Any:
    """The CudaClient for device ``index`` (the registry calls this once per device)."""
    from .client import CudaClient

    return CudaClient(index)


__all__ = ["MIN_COMPUTE_CAPABILITY", "create_client", "device_count", "probe"]
