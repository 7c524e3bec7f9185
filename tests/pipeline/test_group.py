import nibabel as nib
import numpy as np
import pytest

import lesionkit.model
from lesionkit.analysis.cohort import analyze_cohort
from lesionkit.io import Case, InvalidInputError, load_cohort
from lesionkit.pipeline import run_subjects
from lesionkit.pipeline.group import find_subject_outputs, run_group
from tests.pipeline._data import tiny_model, write_bids


def _cubes(model, image, tta=False):
    """A stand-in network: one cube per subject, its place set by the image (so subjects differ)."""
    data = np.zeros(image.shape, np.float32)
    shift = int(np.asarray(image.dataobj)[50, 50, 50]) % 7
    data[40 + shift:46 + shift, 50:55, 40:44] = 0.9
    return nib.Nifti1Image(data, image.affine)


def _cube_members(model, image, tta=False):
    """The stand-in with its QC members (what segment_t1w asks for when QC is on)."""
    probability = _cubes(model, image)
    data = np.asarray(probability.dataobj)
    return probability, {"net1": data, "net1_flipped": data}


@pytest.fixture
def derivatives(tmp_path, monkeypatch):
    monkeypatch.setattr(lesionkit.model, "segment", _cubes)
    monkeypatch.setattr(lesionkit.model, "segment_members", _cube_members)
    out = tmp_path / "derivatives"
    report = run_subjects(load_cohort(write_bids(tmp_path / "bids", 3)), out, ("segment", "analyze"),
                          model=tiny_model(tmp_path / "m.pt"), progress=False)
    assert report.count("done") == 3
    return out


def test_group_tables_are_those_of_analyze_on_the_same_masks(derivatives):
    paths = run_group(derivatives, ["01", "03"])
    found = find_subject_outputs(derivatives, ["01", "03"])
    assert [s.subject for s in found] == ["01", "03"]
    cases = [Case(subject=s.subject, session=s.session, mask=s.mask) for s in found]
    expected = analyze_cohort(cases)
    for name, table in (("lesions.tsv", expected.lesions), ("subjects.tsv", expected.subjects),
                        ("roi_load.tsv", expected.roi_load)):
        assert paths[name].read_text() == table.to_csv(sep="\t", index=False, lineterminator="\n"), name
    count = nib.load(paths["overlap_count.nii.gz"])
    assert int(np.asarray(count.dataobj).max()) >= 1 and count.shape == nib.load(found[0].mask).shape
    assert paths["overlap.png"].read_bytes()[:4] == b"\x89PNG" and "sub-03" in paths["report.html"].read_text()


def test_a_subject_without_its_tables_is_named(derivatives):
    next(derivatives.glob("sub-02/ses-1/anat/*_roiload.tsv")).unlink()
    with pytest.raises(InvalidInputError, match="roiload.tsv: is missing"):
        run_group(derivatives)
    assert not (derivatives / "group").exists()
    with pytest.raises(InvalidInputError, match="no participant-level"):
        run_group(derivatives, ["99"])
