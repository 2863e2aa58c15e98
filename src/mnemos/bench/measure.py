"""Small measuring instruments: an embedder that times itself, process memory, file sizes."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mnemos.embedders.base import Embedder

__all__ = [
    "CpuMeter",
    "TimedEmbedder",
    "file_bytes",
    "machine",
    "process_memory",
    "reset_peak_memory",
]


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


def machine() -> dict[str, object]:
    """The machine a run measured: CPUs, Python, platform and torch's thread count."""
    torch = sys.modules.get("torch")  # only when a model was loaded; never imported here
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
    }


class CpuMeter:
    """How much CPU other processes used while a run was measuring.

    Timings are only comparable between runs on a quiet machine. This compares the busy
    time of every CPU (``/proc/stat``) with this process's own CPU time over the same wall
    time; the difference is what other processes took.
    """

    def __init__(self) -> None:
        self._start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except (OSError, IndexError):
            return None
        ticks = [int(x) for x in fields]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
        hz = os.sysconf("SC_CLK_TCK")
        own = os.times()
        return time.perf_counter(), (sum(ticks[:8]) - idle) / hz, own.user + own.system

    def report(self) -> dict[str, float] | None:
        """Wall seconds, CPU seconds of this process and of others, and others' share of
        the machine's CPU capacity; ``None`` where ``/proc/stat`` is not available."""
        end = self._sample()
        if self._start is None or end is None:
            return None
        wall = end[0] - self._start[0]
        busy = end[1] - self._start[1]
        own = end[2] - self._start[2]
        others = max(0.0, busy - own)
        capacity = wall * (os.cpu_count() or 1)
        return {
            "wall_seconds": wall,
            "own_cpu_seconds": own,
            "other_cpu_seconds": others,
            "other_share": others / capacity if capacity else 0.0,
        }
