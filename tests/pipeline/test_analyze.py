import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import Case
from lesionkit.pipeline import ClusterSpec
from lesionkit.pipeline.analyze import analyze_masks, match_t1w
from tests.pipeline._data import AFFINE_2MM, SHAPE_2MM


def _masks(folder, n=3):
    for i in range(1, n + 1):
        data = np.zeros(SHAPE_2MM, np.uint8)
        data[30 + 4 * i:36 + 4 * i, 50:56, 40:45] = 1
        folder.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(data, AFFINE_2MM), folder / f"sub-0{i}_mask.nii.gz")
    return folder


def test_t1w_images_are_matched_by_subject_else_in_order(tmp_path):
    cases = [Case("01", mask=tmp_path / "a"), Case("02", mask=tmp_path / "b", t1w=tmp_path / "own.nii.gz")]
    assert match_t1w(cases, None) == [None, str(tmp_path / "own.nii.gz")]
    t1 = tmp_path / "t1"
    t1.mkdir()
    for name in ("sub-02_T1w.nii.gz", "x.nii.gz", "y.nii.gz"):
        nib.save(nib.Nifti1Image(np.ones((4, 4, 4), np.float32), np.eye(4)), t1 / name)
    assert match_t1w(cases, [t1 / "sub-02_T1w.nii.gz"]) == [None, str(t1 / "sub-02_T1w.nii.gz")]
    assert match_t1w(cases, [t1 / "x.nii.gz", t1 / "y.nii.gz"]) == [str(t1 / "x.nii.gz"), str(t1 / "y.nii.gz")]


def test_tables_and_report(tmp_path):
    done = analyze_masks([_masks(tmp_path / "masks")], tmp_path / "out", progress=False)
    assert len(done.cases) == 3 and len(done.tables.lesions) == 3
    assert done.written == ["lesions.tsv", "subjects.tsv", "roi_load.tsv", "overlap.png", "report.html"]
    assert all((tmp_path / "out" / name).is_file() for name in done.written)


@pytest.mark.slow
def test_two_local_workers_give_the_tables_of_the_serial_loop(tmp_path):
    masks = _masks(tmp_path / "masks", 4)
    analyze_masks([masks], tmp_path / "serial", report=False, progress=False)
    analyze_masks([masks], tmp_path / "dask", report=False, progress=False, spec=ClusterSpec(jobs=2))
    for name in ("lesions.tsv", "subjects.tsv", "roi_load.tsv"):
        assert (tmp_path / "serial" / name).read_text() == (tmp_path / "dask" / name).read_text()
