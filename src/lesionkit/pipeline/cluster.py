"""Where a batch runs: in this process, on local worker processes, on a running Dask cluster, or on a job queue.

:class:`ClusterSpec` says which (``--jobs``, ``--scheduler``, ``--cluster`` on the command line) and
:func:`open_client` starts it and yields a :class:`distributed.Client` (None for the plain serial loop).

Threads: each worker runs one subject at a time, and the threads that subject's numerical libraries
use (PyTorch, OpenMP/BLAS through threadpoolctl, ITK inside ANTsPy) are set in the worker by the
:class:`~lesionkit.pipeline.threads.ComputeThreads` plugin, so that workers × threads ≤ cores:

* ``--jobs N``: a :class:`distributed.LocalCluster` of N processes with ``cores // N`` threads each;
* ``--cluster slurm|pbs|sge|lsf``: dask-jobqueue; each job of ``cores`` cores runs ``cores // threads``
  workers that hold a ``subject=1`` resource, so each runs one subject with ``threads`` threads;
* ``--scheduler tcp://HOST:PORT``: the workers are someone else's; each task uses ``--threads``
  threads (default 1), whatever number of tasks the worker runs at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from distributed import Client

__all__ = ["CLUSTERS", "ClusterSpec", "jobqueue_cluster", "open_client", "open_executor", "read_cluster_yaml"]

#: ``--cluster`` names and their dask-jobqueue classes.
CLUSTERS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}
#: What each queue system calls the account a job is charged to.
_ACCOUNT = {"slurm": "account", "pbs": "account", "sge": "project", "lsf": "project"}
#: The worker resource a job-queue subject needs: one per worker, so one subject at a time.
RESOURCE = "subject"


@dataclass(frozen=True)
class ClusterSpec:
    """How to run a batch; the default is the plain serial loop in this process."""

    jobs: int = 1
    """Local worker processes (1 = no Dask at all)."""
    scheduler: str | None = None
    """Address of a running Dask scheduler (``tcp://host:8786``)."""
    cluster: str | None = None
    """A job queue of :data:`CLUSTERS`."""
    cluster_options: dict[str, Any] = field(default_factory=dict)
    """dask-jobqueue keyword arguments (queue, cores, memory, walltime, account, processes, …)."""
    cluster_jobs: int = 1
    """How many queue jobs to submit."""
    threads: int | None = None
    """Compute threads per subject (default: see the module docstring)."""
    retries: int = 1
    """Extra attempts for a subject whose task raised something other than invalid input."""

    def __post_init__(self) -> None:
        chosen = [self.jobs > 1, self.scheduler is not None, self.cluster is not None]
        if sum(chosen) > 1:
            raise ValueError("choose one of --jobs N (N > 1), --scheduler and --cluster")
        if self.jobs < 1 or self.cluster_jobs < 1 or (self.threads is not None and self.threads < 1):
            raise ValueError("--jobs, --cluster-jobs and --threads must be at least 1")
        if self.retries < 0:
            raise ValueError("--retries must be at least 0")
        if self.cluster is not None and self.cluster not in CLUSTERS:
            raise ValueError(f"--cluster must be one of {', '.join(CLUSTERS)}")

    @property
    def uses_dask(self) -> bool:
        return self.jobs > 1 or self.scheduler is not None or self.cluster is not None

    @property
    def needs_resource(self) -> bool:
        """Whether tasks must ask for the :data:`RESOURCE` (job-queue workers run several threads)."""
        return self.cluster is not None


def worker_environ() -> dict[str, Any]:
    """Dask's pre-spawn environment of worker processes, without ``MALLOC_TRIM_THRESHOLD_``.

    Setting that variable also turns off glibc's adaptive mmap threshold, so every large temporary array
    becomes a fresh mmap whose pages fault in again: on 3-D volumes a subject then costs markedly more CPU
    in a worker than in a plain loop. Workers lesionkit starts keep glibc's default instead.
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


def jobqueue_cluster(spec: ClusterSpec) -> tuple[Any, int]:
    """(the dask-jobqueue cluster of ``spec``, compute threads per worker); no job is submitted yet."""
    import dask_jobqueue

    assert spec.cluster is not None
    options = dict(spec.cluster_options)
    if "account" in options and _ACCOUNT[spec.cluster] != "account":
        options[_ACCOUNT[spec.cluster]] = options.pop("account")
    cores = options.get("cores")
    if not cores:
        raise ValueError(f"--cluster {spec.cluster} needs the cores of one job (--cores or 'cores' in the YAML file)")
    if not options.get("memory"):
        raise ValueError(f"--cluster {spec.cluster} needs the memory of one job (--memory or 'memory' in the YAML)")
    processes = int(options.setdefault("processes", max(1, int(cores) // min(spec.threads or 1, int(cores)))))
    options["worker_extra_args"] = [*options.get("worker_extra_args", []), "--resources", f"{RESOURCE}=1"]
    # the nanny on the node reads its pre-spawn environment from Dask's config (see worker_environ)
    environ = json.dumps(worker_environ())
    options["job_script_prologue"] = [*options.get("job_script_prologue", []),
                                      f"export DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON='{environ}'"]
    cluster = getattr(dask_jobqueue, CLUSTERS[spec.cluster])(**options)
    return cluster, max(1, int(cores) // processes)


def read_cluster_yaml(path: str | Path, cluster: str) -> dict[str, Any]:
    """dask-jobqueue options from a YAML file: flat keys, or Dask's own ``jobqueue: {<cluster>: {…}}`` layout."""
    import yaml

    from lesionkit.io import InvalidInputError

    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(path, f"cannot read the cluster YAML file ({exc})") from exc
    if not isinstance(loaded, dict):
        raise InvalidInputError(path, "the cluster YAML file must hold a mapping of options")
    section = loaded.get("jobqueue", loaded)
    if isinstance(section, dict) and isinstance(section.get(cluster), dict):
        section = section[cluster]
    return dict(section)


@contextlib.contextmanager
def open_client(spec: ClusterSpec, n_tasks: int | None = None) -> Iterator[Client | None]:
    """Start what ``spec`` asks for and yield its client (None: run serially in this process).

    The cluster and client are closed on exit, also after an interrupt. A local cluster never starts
    more workers than ``n_tasks``.
    """
    if not spec.uses_dask:
        if spec.threads:
            from lesionkit.pipeline.threads import set_compute_threads

            set_compute_threads(spec.threads)
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    from lesionkit.pipeline.threads import ComputeThreads, cpu_count

    with contextlib.ExitStack() as stack:
        if spec.scheduler is not None:
            client = stack.enter_context(Client(spec.scheduler, timeout="30s"))
            threads = spec.threads or 1
        else:
            if spec.cluster is not None:
                cluster, threads = jobqueue_cluster(spec)
                stack.enter_context(cluster)
                cluster.scale(jobs=spec.cluster_jobs)
            else:
                workers = max(1, min(spec.jobs, n_tasks or spec.jobs))
                threads = spec.threads or max(1, cpu_count() // workers)
                stack.enter_context(dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()}))
                cluster = stack.enter_context(LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    silence_logs=logging.CRITICAL,  # failures are reported per subject
                ))
            client = stack.enter_context(Client(cluster))
        client.register_plugin(ComputeThreads(threads), name=ComputeThreads.name)
        yield client


@contextlib.contextmanager
def open_executor(spec: ClusterSpec, n_tasks: int | None = None) -> Iterator[Executor | None]:
    """A :class:`concurrent.futures.Executor` on the cluster of ``spec`` (None: run serially), for library
    functions that take one (``analyze_cohort``, ``evaluate_cohort``)."""
    with open_client(spec, n_tasks) as client:
        yield None if client is None else client.get_executor(pure=False, retries=spec.retries)
