import json

import pytest

from lesionkit.io import load_cohort
from lesionkit.pipeline import ClusterSpec, run_subjects
from lesionkit.pipeline.subject import STAGING
from tests.pipeline._data import tiny_model, write_bids


def _corrupt(path):
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])


def _run_tsv(out):
    lines = (out / "run.tsv").read_text().splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def test_a_corrupt_input_is_reported_in_run_tsv_while_the_others_finish(tmp_path):
    cases = load_cohort(write_bids(tmp_path / "bids", 3))
    _corrupt(cases[1].t1w)
    seen = []
    out, model = tmp_path / "out", tiny_model(tmp_path / "m.pt")
    report = run_subjects(cases, out, ("segment",), model=model, progress=False, on_outcome=seen.append)
    assert [o.status for o in report.outcomes] == ["done", "failed", "done"]
    assert not report.only_invalid_input and report.summary().startswith("2 done, 1 failed")
    header, rows = _run_tsv(out)
    assert header == ["subject", "status", "seconds", "worker", "error"]
    assert [r[:2] for r in rows] == [["sub-01_ses-1", "done"], ["sub-02_ses-1", "failed"], ["sub-03_ses-1", "done"]]
    assert "truncated or corrupt" in rows[1][4] and str(cases[1].t1w) in rows[1][4]
    assert rows[0][3] == "local" and float(rows[0][2]) > 0 and rows[0][4] == "n/a"
    assert sorted(o.subject for o in seen) == ["sub-01_ses-1", "sub-02_ses-1", "sub-03_ses-1"]
    assert not list(out.glob("sub-02*")) and not (out / STAGING).exists()
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["GeneratedBy"][0]["Name"] == "lesionkit" and (out / ".bidsignore").exists()

    again = run_subjects(cases, out, ("segment",), model=model, progress=False)
    assert [o.status for o in again.outcomes] == ["skipped", "failed", "skipped"]


def test_a_batch_of_only_invalid_input_writes_nothing(tmp_path):
    cases = load_cohort(write_bids(tmp_path / "bids", 2))
    for case in cases:
        _corrupt(case.t1w)
    out = tmp_path / "out"
    report = run_subjects(cases, out, ("segment",), model=tiny_model(tmp_path / "m.pt"), progress=False)
    assert report.only_invalid_input and len(report.failed) == 2
    assert not out.exists() or not any(out.rglob("*"))


def _contents(out):
    """Every output file's bytes; JSON sidecars without the timings (the one thing that differs between runs)."""
    files = {}
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.name == "run.tsv":
            continue
        data = path.read_bytes()
        if path.suffix == ".json" and b"Provenance" in data:
            record = json.loads(data)
            for name in ("seconds", "finished"):
                record["Provenance"].pop(name)
            data = json.dumps(record, sort_keys=True).encode()
        files[path.relative_to(out).as_posix()] = data
    return files


@pytest.mark.slow
@pytest.mark.ci_slow
def test_two_local_workers_write_byte_identical_outputs_to_the_serial_loop(tmp_path):
    cases = load_cohort(write_bids(tmp_path / "bids", 4))
    model = tiny_model(tmp_path / "m.pt")
    serial = run_subjects(cases, tmp_path / "serial", ("segment", "analyze"), model=model, progress=False,
                          spec=ClusterSpec(threads=1))
    parallel = run_subjects(cases, tmp_path / "parallel", ("segment", "analyze"), model=model, progress=False,
                            spec=ClusterSpec(jobs=2))
    assert [o.status for o in serial.outcomes] == [o.status for o in parallel.outcomes] == ["done"] * 4
    assert {o.worker for o in serial.outcomes} == {"local"}
    workers = {o.worker for o in parallel.outcomes}
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    a, b = _contents(tmp_path / "serial"), _contents(tmp_path / "parallel")
    assert len(a) == 4 * 7 + 4 and a.keys() == b.keys()  # per subject 7 files; README, .bidsignore, description, qc.tsv
    assert "qc.tsv" in a
    assert [name for name in a if a[name] != b[name]] == []
