"""Compute threads of the numerical libraries a subject uses, set inside each Dask worker.

PyTorch, the OpenMP/BLAS pools (threadpoolctl) and ITK (inside ANTsPy) each start as many threads as
the machine has cores; several workers on one machine would then oversubscribe it many times over.
"""

from __future__ import annotations

import contextlib
import os

from distributed import WorkerPlugin

__all__ = ["ComputeThreads", "cpu_count", "set_compute_threads"]


def cpu_count() -> int:
    """Cores this process may use (CPU affinity and cgroup limits included, as Dask counts them)."""
    from dask.system import cpu_count as dask_cpu_count

    return int(dask_cpu_count())


def set_compute_threads(threads: int) -> None:
    """Limit PyTorch, OpenMP/BLAS and ITK (ANTsPy) to ``threads`` threads in this process."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)  # OpenMP and BLAS pools already loaded (numpy, scipy)
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(threads)
    # ANTsPy has no call for this: ITK reads its default thread count from this variable when it first
    # builds a filter, which in a fresh worker process is after this plugin ran.
    os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = str(threads)


class ComputeThreads(WorkerPlugin):
    """Worker plugin: :func:`set_compute_threads` once in every worker, including ones that join later."""

    name = "lesionkit-compute-threads"

    def __init__(self, threads: int) -> None:
        self.threads = int(threads)

    def setup(self, worker) -> None:
        set_compute_threads(self.threads)
