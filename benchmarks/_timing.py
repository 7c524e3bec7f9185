"""What the speed benchmarks share: the median wall time of a call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def median_seconds(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """(median seconds of ``repeats`` timed calls, the result of an untimed warm-up call)."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result
