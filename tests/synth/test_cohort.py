import hashlib

import numpy as np
import pytest

from lesionkit.synth import cohort_profile, generate_cohort, generate_subject, subject_seed


def _digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_subject_seed_depends_on_cohort_and_index_only():
    seeds = {subject_seed(7, k, s) for k in (1, 2) for s in (1, 2, 3)}
    assert len(seeds) == 6
    assert subject_seed(7, 1, 2) == subject_seed(7, 1, 2) != subject_seed(8, 1, 2)
    assert cohort_profile(7, 1) == cohort_profile(7, 1) != cohort_profile(7, 2)


def test_adding_subjects_keeps_the_existing_ones(tmp_path):
    small = generate_cohort(tmp_path / "a", 1, seed=3, resolution=2, n_cohorts=1, progress=False)
    large = generate_cohort(tmp_path / "b", 2, seed=3, resolution=2, n_cohorts=1, progress=False)
    assert small[0].read_bytes() == large[0].read_bytes()
    assert len(large) == 2 and large[1].name.startswith("sub-r001s002")
    # and the file holds the subject generate_subject makes from the same seed
    import nibabel as nib

    again = generate_subject(subject_seed(3, 1, 1), 2, cohort_profile(3, 1))
    stored = np.asanyarray(nib.load(small[0]).dataobj)
    assert stored.dtype == np.int16
    np.testing.assert_array_equal(stored, np.clip(np.rint(again.t1w), -32768, 32767).astype(np.int16))


def test_two_seeds_share_one_folder_with_first_cohort(tmp_path):
    generate_cohort(tmp_path, 1, seed=3, resolution=2, progress=False)
    later = generate_cohort(tmp_path, 2, seed=4, resolution=2, n_cohorts=2, progress=False, first_cohort=2)
    assert [p.parent.parent.parent.parent.name for p in later] == ["R002", "R003"]
    assert sorted(p.name for p in (tmp_path / "Training").iterdir()) == ["R001", "R002", "R003"]
    assert "sub-r003s001" in (tmp_path / "Training" / "R003" / "participants.tsv").read_text()


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="first_cohort must be at least 1"):
        generate_cohort(tmp_path, 1, seed=1, first_cohort=0)
    with pytest.raises(ValueError, match="n_subjects must be at least 1"):
        generate_cohort(tmp_path, 0, seed=1)
    with pytest.raises(ValueError, match="space must be 'mni', 'native' or 'both'"):
        generate_cohort(tmp_path, 1, seed=1, space="talairach")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_cohorts"):
        generate_cohort(tmp_path, 1, seed=1, n_cohorts=0)
    with pytest.raises(ValueError, match="seed"):
        generate_cohort(tmp_path, 1, seed=-1)


@pytest.mark.slow
@pytest.mark.ci_slow
def test_jobs_give_byte_identical_output(tmp_path):
    generate_cohort(tmp_path / "serial", 3, seed=5, resolution=2, space="both", progress=False)
    generate_cohort(tmp_path / "parallel", 3, seed=5, resolution=2, space="both", jobs=2, progress=False)
    serial, parallel = _digest(tmp_path / "serial"), _digest(tmp_path / "parallel")
    assert serial == parallel and len(serial) > 10


def test_interrupted_run_resumes_with_identical_output(tmp_path):
    first = generate_cohort(tmp_path / "c", 2, seed=4, resolution=2, n_cohorts=1, progress=False)
    record = first[1].parent / "sub-r001s002_ses-1_synth.json"
    tsv = (tmp_path / "c" / "Training" / "R001" / "participants.tsv").read_text()
    before = _digest(tmp_path / "c")
    # simulate an interruption: subject 2 lost its record (written last); subject 1 is kept as it is
    record.unlink()
    kept = first[0].stat().st_mtime_ns
    generate_cohort(tmp_path / "c", 2, seed=4, resolution=2, n_cohorts=1, progress=False)
    assert first[0].stat().st_mtime_ns == kept  # not rewritten
    assert _digest(tmp_path / "c") == before
    assert (tmp_path / "c" / "Training" / "R001" / "participants.tsv").read_text() == tsv
    # a damaged record (a disk error, a hand edit) is not trusted: that subject is made anew, identically
    record.write_text('{"Seed": 1, broken')
    generate_cohort(tmp_path / "c", 2, seed=4, resolution=2, n_cohorts=1, progress=False)
    assert _digest(tmp_path / "c") == before and first[0].stat().st_mtime_ns == kept
    # a different seed in the same folder is regenerated, never mixed in
    generate_cohort(tmp_path / "c", 2, seed=5, resolution=2, n_cohorts=1, progress=False)
    assert _digest(tmp_path / "c") != before


# The classic preset's output, as first made on main at commit 0822ce0 with
#   generate_cohort(OUT, 2, seed=0, resolution=2, progress=False)                 -> the "mni" cohorts
#   generate_cohort(OUT, 1, seed=1, resolution=2, space="both", progress=False)   -> the "both" cohort
# (then two deliberate BIDS changes: mm units in the headers, a .bidsignore). Stored since issue 21 as content
# summaries (tests/synth/_golden.py: masks exactly, intensities per 8³ block within a tolerance, headers and
# sidecars by field), not gzip digests, which encoded one CPU's floating-point path. The native files were
# summarised after native.py began building its sampling grid in float64 NumPy (185 of 2.1 M native T1w voxels
# moved by one intensity unit; masks unchanged); the MNI files are those of the old digests.
def test_classic_cohort_matches_the_golden_summaries(tmp_path):
    from tests.synth._golden import assert_matches, make

    make(tmp_path)
    assert_matches(tmp_path, "classic_cohort")


def test_realistic_options_are_recorded_and_resumed(tmp_path):
    import csv
    import json

    from lesionkit.cli import main
    from lesionkit.synth.cohort import PARTICIPANT_COLUMNS, REALISM_COLUMNS

    out = tmp_path / "real"
    assert main(["synth", str(out), "--subjects", "2", "--seed", "2", "--resolution", "2", "--quiet",
                 "--preset", "realistic", "--lesion-free-share", "0", "--skull-strip-share", "1"]) == 0
    with (out / "Training" / "R001" / "participants.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert tuple(rows[0]) == PARTICIPANT_COLUMNS + REALISM_COLUMNS
    assert rows[0]["brain_extracted"] == "true" and 30 <= float(rows[0]["age"]) <= 85
    description = json.loads((out / "Training" / "R001" / "dataset_description.json").read_text())
    assert description["SynthOptions"]["lesion_shapes"] == "mixed"
    before = _digest(out)
    assert main(["synth", str(out), "--subjects", "2", "--seed", "2", "--resolution", "2", "--quiet",
                 "--preset", "realistic", "--lesion-free-share", "0", "--skull-strip-share", "1"]) == 0
    assert _digest(out) == before  # resumed: the records match
    assert main(["synth", str(tmp_path / "bad"), "--skull-strip-share", "2", "--quiet"]) == 2
