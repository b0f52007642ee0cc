"""Device storage: a buffer wrapper and a size-class pool that reuses freed buffers.

A tensor's storage is a ``WgpuStorage`` (``buffer``, ``nbytes``, ``big``: whether the
buffer exceeds one storage binding). When the storage object is garbage collected, its
``__del__`` returns the buffer to the pool's free list for its size class (cheaper than a
``weakref.finalize`` per tensor); the next allocation of that class takes it instead of
creating a buffer. Size classes: 256 bytes, then 4 steps per power
of two (x1, x1.25, x1.5, x1.75), so at most 25% of a buffer is slack.
"""

from __future__ import annotations

import threading
from typing import Any

MIN_CLASS = 256


def size_class(nbytes: int) -> int:
    """The pooled buffer size (bytes) that serves a request of ``nbytes``."""
    if nbytes <= MIN_CLASS:
        return MIN_CLASS
    lower = 1 << ((nbytes - 1).bit_length() - 1)  # largest power of two below nbytes
    step = lower // 4
    return lower + -(-(nbytes - lower) // step) * step


class WgpuStorage:
    """One tensor's device memory: ``buffer`` holds at least ``nbytes`` bytes."""

    __slots__ = ("__weakref__", "_cls", "_pool", "big", "buffer", "nbytes")

    def __init__(self, buffer: Any, nbytes: int, big: bool = False, pool: Any = None, cls: int = 0) -> None:
        self.buffer = buffer
        self.nbytes = nbytes
        self.big = big
        self._pool = pool
        self._cls = cls

    def __del__(self) -> None:
        pool = self._pool
        if pool is not None:
            self._pool = None
            try:
                pool._release(self.buffer, self._cls)
            except Exception:  # interpreter shutdown: nothing to return the buffer to
                pass

    def __repr__(self) -> str:
        return f"<WgpuStorage {self.nbytes} bytes in a {self.buffer.size}-byte buffer>"


class BufferPool:
    """Free lists of storage buffers by size class (thread-safe)."""

    def __init__(self, device: Any, usage: int, max_buffer: int, max_binding: int | None = None) -> None:
        self.device = device
        self.usage = usage
        self.max_buffer = max_buffer
        self.max_binding = max_buffer if max_binding is None else max_binding
        self.on_trim: Any = None  # called by trim (the engine drops bind groups that keep buffers alive)
        self._free: dict[int, list[Any]] = {}
        # every buffer this pool made, in use or free: a storage collected inside a reference cycle must not
        # take its buffer down with it (the gc may finalize both), so the pool always holds a reference
        self._owned: dict[int, Any] = {}
        self._lock = threading.Lock()
        self.created = 0
        self.reused = 0
        self.pooled_bytes = 0

    def allocate(self, nbytes: int) -> WgpuStorage:
        """A storage of ``nbytes`` (rounded up to 4), reusing a freed buffer of its size class."""
        nbytes = max(4, (nbytes + 3) // 4 * 4)
        cls = size_class(nbytes)
        if cls > self.max_buffer:
            cls = nbytes
        buf = None
        with self._lock:
            free = self._free.get(cls)
            if free:
                buf = free.pop()
                self.reused += 1
                self.pooled_bytes -= cls
        if buf is None:
            from ...errors import InvalidArgument

            if cls > self.max_buffer:
                raise InvalidArgument("numel", f"{nbytes} bytes exceed the adapter's max-buffer-size {self.max_buffer}")
            buf = self.device.create_buffer(size=cls, usage=self.usage)
            with self._lock:
                self._owned[id(buf)] = buf
            self.created += 1
        return WgpuStorage(buf, nbytes, cls > self.max_binding, self, cls)

    def _release(self, buf: Any, cls: int) -> None:
        with self._lock:
            self._free.setdefault(cls, []).append(buf)
            self.pooled_bytes += cls

    def trim(self) -> None:
        """Drop every pooled (free) buffer."""
        with self._lock:
            for free in self._free.values():
                for buf in free:
                    self._owned.pop(id(buf), None)
            self._free.clear()
            self.pooled_bytes = 0
        if self.on_trim is not None:
            self.on_trim()
