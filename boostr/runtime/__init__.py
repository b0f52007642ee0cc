"""Runtimes: the protocol, the registry and one package per backend (cpu, cuda, wgpu)."""
