"""Small measuring instruments: an embedder that times itself, process memory, file sizes."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mnemos.embedders.base import Embedder

__all__ = ["TimedEmbedder", "file_bytes", "process_memory", "reset_peak_memory"]


class TimedEmbedder:
    """Wraps an embedder and adds up the wall time spent in ``embed``.

    It has the wrapped embedder's ``id`` and ``dimension``, so a store cannot tell them
    apart; handing it to ``Memory(embedder=...)`` measures how much of ``add`` and
    ``search`` is embedding without looking inside the engine.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.id = inner.id
        self.dimension = inner.dimension
        self.seconds = 0.0
        self.calls = 0
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed through the wrapped embedder, timing the call."""
        started = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1
            self.texts += len(texts)

    def reset(self) -> None:
        """Start counting from zero."""
        self.seconds = 0.0
        self.calls = 0
        self.texts = 0


def process_memory() -> dict[str, int | None]:
    """This process's resident memory now (``rss``) and at its peak (``peak``), in bytes.

    Read from ``/proc/self/status`` (``VmRSS``, ``VmHWM``); ``None`` where it is not there.
    """
    out: dict[str, int | None] = {"rss": None, "peak": None}
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            kib = int(value.split()[0])
            out["rss" if key == "VmRSS" else "peak"] = kib * 1024
    return out


def reset_peak_memory() -> bool:
    """Reset the peak resident memory to the current one, where the kernel allows it.

    Writing ``5`` to ``/proc/self/clear_refs`` resets ``VmHWM`` (Linux 4.0+).
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def file_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes of a SQLite store on disk: the file and its write-ahead log."""
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):
            total += os.path.getsize(f"{os.fspath(path)}{suffix}")
    return total
