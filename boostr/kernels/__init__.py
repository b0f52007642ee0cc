"""Kernel sources: numba functions (cpu/), CUDA C (cuda/), WGSL (wgsl/)."""
