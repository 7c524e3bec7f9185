import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import ATLAS_AFFINE, load_template
from lesionkit.report.preprocess_qc import edge_map, plot_preprocess_qc


def test_edge_map_marks_the_boundary_of_a_cube():
    data = np.zeros((30, 30, 30), np.float32)
    data[10:20, 10:20, 10:20] = 1.0
    edges = edge_map(data, region=np.ones(data.shape, bool), quantile=0.9)
    assert edges[10, 15, 15] or edges[9, 15, 15]
    assert not edges[15, 15, 15] and not edges[2, 2, 2]


def test_qc_figure_is_written(tmp_path):
    t1 = load_template("t1")
    mask = np.zeros(t1.shape, np.uint8)
    mask[120:130, 120:130, 90:100] = 1
    path = plot_preprocess_qc(
        nib.Nifti1Image(np.array(t1.dataobj), ATLAS_AFFINE), tmp_path / "sub-01_desc-registration_T1w.png",
        mask_mni=nib.Nifti1Image(mask, ATLAS_AFFINE), title="sub-01",
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_wrong_grid_is_refused(tmp_path):
    with pytest.raises(ValueError, match="ATLAS grid"):
        plot_preprocess_qc(nib.Nifti1Image(np.zeros((10, 10, 10), np.float32), np.eye(4)), tmp_path / "x.png")
    assert not any(tmp_path.iterdir())
