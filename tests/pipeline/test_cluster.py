import os

import pytest

from lesionkit.io import InvalidInputError
from lesionkit.pipeline import ClusterSpec, open_client
from lesionkit.pipeline.cluster import jobqueue_cluster, read_cluster_yaml
from lesionkit.pipeline.threads import ComputeThreads, cpu_count, set_compute_threads


def test_one_place_to_run_and_sane_numbers():
    assert not ClusterSpec().uses_dask and ClusterSpec(jobs=2).uses_dask and ClusterSpec(scheduler="tcp://h:1").uses_dask
    with pytest.raises(ValueError, match="choose one"):
        ClusterSpec(jobs=2, scheduler="tcp://h:1")
    with pytest.raises(ValueError, match="at least 1"):
        ClusterSpec(jobs=0)
    with pytest.raises(ValueError, match="one of slurm"):
        ClusterSpec(cluster="condor")


def test_the_slurm_job_script_carries_the_options_and_one_subject_per_worker():
    spec = ClusterSpec(cluster="slurm", threads=2, cluster_jobs=3, cluster_options={
        "queue": "long", "cores": 8, "memory": "32GB", "walltime": "02:00:00", "account": "stroke"})
    cluster, threads = jobqueue_cluster(spec)
    with cluster:
        script = cluster.job_script()
    assert threads == 2
    for line in ("#SBATCH -p long", "#SBATCH -A stroke", "#SBATCH -t 02:00:00", "#SBATCH --cpus-per-task=8"):
        assert line in script
    assert "--nworkers 4" in script and "--nthreads 2" in script and "--resources subject=1" in script
    assert "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON" in script and "MALLOC_TRIM_THRESHOLD_" not in script


def test_sge_calls_the_account_a_project_and_cores_and_memory_are_required():
    cluster, _ = jobqueue_cluster(ClusterSpec(cluster="sge", cluster_options={"cores": 4, "memory": "8GB",
                                                                              "account": "lab"}))
    with cluster:
        assert "#$ -P lab" in cluster.job_script()
    with pytest.raises(ValueError, match="cores"):
        jobqueue_cluster(ClusterSpec(cluster="pbs", cluster_options={"memory": "8GB"}))
    with pytest.raises(ValueError, match="memory"):
        jobqueue_cluster(ClusterSpec(cluster="lsf", cluster_options={"cores": 4}))


def test_cluster_yaml_flat_or_in_dasks_own_layout(tmp_path):
    flat = tmp_path / "flat.yaml"
    flat.write_text("queue: short\ncores: 4\nmemory: 16GB\n")
    nested = tmp_path / "nested.yaml"
    nested.write_text("jobqueue:\n  slurm:\n    queue: gpu\n    cores: 2\n  pbs:\n    queue: other\n")
    assert read_cluster_yaml(flat, "slurm") == {"queue": "short", "cores": 4, "memory": "16GB"}
    assert read_cluster_yaml(nested, "slurm") == {"queue": "gpu", "cores": 2}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(InvalidInputError, match="mapping"):
        read_cluster_yaml(bad, "slurm")


def test_compute_threads_are_set_for_torch_openmp_and_itk(monkeypatch):
    import torch
    from threadpoolctl import threadpool_info

    monkeypatch.setenv("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "unset")  # restored after the test
    before = torch.get_num_threads()
    try:
        ComputeThreads(1).setup(worker=None)
        assert torch.get_num_threads() == 1
        assert os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] == "1"
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    finally:
        set_compute_threads(before)


@pytest.mark.slow
def test_local_workers_times_threads_fit_the_cores():
    def threads():
        import torch

        # glibc's adaptive mmap threshold stays on (see lesionkit.pipeline.cluster.worker_environ)
        assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
        return torch.get_num_threads(), os.environ.get("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS")

    with open_client(ClusterSpec(jobs=2)) as client:
        seen = client.run(threads)
        assert len(client.scheduler_info()["workers"]) == 2
    expected = max(1, cpu_count() // 2)
    assert sorted(seen.values()) == [(expected, str(expected))] * 2
