"""Small timing helpers shared by the benchmarks."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable

import numpy as np


def median_ms(function: Callable[[], object], repeat: int = 200, warmup: int = 10) -> float:
    """Median wall time of ``function()`` in milliseconds, after a warm-up."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000.0


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    if not samples_ms:
        return {"p50": float("nan"), "p90": float("nan"), "p95": float("nan"), "p99": float("nan")}
    values = np.percentile(samples_ms, [50, 90, 95, 99])
    return {"p50": float(values[0]), "p90": float(values[1]), "p95": float(values[2]), "p99": float(values[3])}


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}"
