"""Small helpers shared by the benchmarks: figures, timers, peak memory, data paths."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data(name: str) -> Path:
    """Return ``../shared/data/<name>`` relative to the repository root (never copied in)."""
    return REPO_ROOT.parent / "shared" / "data" / name


def format_value(value: float) -> str:
    """Format a figure: integers as they are, floats with four significant digits."""
    if isinstance(value, int):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:.1f}"
    return f"{value:.4g}"


def figure(name: str, value: float, unit: str) -> None:
    """Print one benchmark figure exactly as ``name = value unit``."""
    print(f"{name} = {format_value(value)} {unit}", flush=True)


def note(message: str) -> None:
    """Print context (settings, progress) to stderr, apart from the figures on stdout."""
    print(f"# {message}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Timer:
    """Elapsed wall-clock seconds of a ``timed()`` block, set when the block ends."""

    seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    """Time the enclosed block with ``time.perf_counter``."""
    timer = Timer()
    start = time.perf_counter()
    try:
        yield timer
    finally:
        timer.seconds = time.perf_counter() - start
