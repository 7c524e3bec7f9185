from html.parser import HTMLParser

import matplotlib.image
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from lesionkit.io import InvalidInputError, save_nifti
from lesionkit.report.analysis import (
    cohort_summary_html,
    lesion_slices,
    plot_overlap_map,
    share_outside,
    subject_montage,
)

PNG = b"\x89PNG\r\n\x1a\n"


def _case(shape=(24, 28, 22)):
    rng = np.random.default_rng(3)
    mask = np.zeros(shape, np.uint8)
    mask[6:10, 8:12, 4:8] = 1
    mask[14:19, 15:20, 12:18] = 1  # the larger lesion
    image = (rng.random(shape, dtype=np.float32) * 100 + 300) * (1 - 0.8 * mask)
    return image.astype(np.float32), mask


def test_lesion_slices_only_pick_lesioned_slices():
    _, mask = _case()
    picks = lesion_slices(mask, 6)
    lesioned = set(np.flatnonzero(mask.any(axis=(0, 1))))
    assert 1 < len(picks) <= 6 and set(picks) <= lesioned
    assert picks == sorted(picks) and min(picks) < 8 and max(picks) >= 12  # both lesions are shown
    assert lesion_slices(np.zeros((4, 5, 6), np.uint8), 6) == [3]


def test_subject_montage_from_files_and_arrays(tmp_path):
    image, mask = _case()
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    t1_path = save_nifti(image, tmp_path / "t1.nii.gz", affine)
    mask_path = save_nifti(mask, tmp_path / "mask.nii.gz", affine, dtype=np.uint8)
    out = subject_montage(t1_path, mask_path, tmp_path / "a" / "m.png", title="sub-x")
    assert out.read_bytes()[:8] == PNG
    pixels = matplotlib.image.imread(out)
    red = (pixels[..., 0] > 0.9) & (pixels[..., 1] < 0.4) & (pixels[..., 2] < 0.4)
    assert red.sum() > 50  # the contours are drawn
    empty = subject_montage(image, np.zeros_like(mask), tmp_path / "e.png")
    pixels = matplotlib.image.imread(empty)
    assert not ((pixels[..., 0] > 0.9) & (pixels[..., 1] < 0.4) & (pixels[..., 2] < 0.4)).any()
    assert [p.name for p in tmp_path.rglob(".*")] == []  # no temporary file left


def test_subject_montage_lesion_beyond_the_shortest_axis(tmp_path):
    # a coronal index larger than the number of axial slices once made every view index every axis
    image, _ = _case((20, 40, 10))
    mask = np.zeros(image.shape, np.uint8)
    mask[8:12, 30:35, 3:6] = 1
    out = subject_montage(image, mask, tmp_path / "far.png")
    assert out.read_bytes()[:8] == PNG


def test_subject_montage_refuses_mismatched_grids(tmp_path):
    image, mask = _case()
    t1 = nib.Nifti1Image(image, np.eye(4))
    other = nib.Nifti1Image(mask[:-2], np.eye(4))
    with pytest.raises(InvalidInputError, match="shape"):
        subject_montage(t1, other, tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()


def test_plot_overlap_map_on_the_template(tmp_path):
    share = np.zeros((40, 48, 40), np.float32)  # a 4 mm grid over MNI space
    share[10:14, 20:26, 18:22] = 0.5
    share[11:13, 22:24, 19:21] = 1.0
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = (-80.0, -112.0, -70.0)
    out = plot_overlap_map(nib.Nifti1Image(share, affine), tmp_path / "o.png", n_subjects=2, n_slices=4)
    pixels = matplotlib.image.imread(out)
    hot = (pixels[..., 0] > 0.8) & (pixels[..., 2] < 0.3) & (pixels[..., 1] > 0.1)
    assert pixels.shape[1] > 2 * pixels.shape[0] and hot.sum() > 20  # a row of slices with coloured lesion


class _Tables(HTMLParser):
    """Cell texts of every <table> of a page, row by row (the venv has no lxml for pandas.read_html)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _counts(tables, header, key):
    """{first cell: n} of the first table with this header holding the row ``key``."""
    for rows in tables:
        if rows[0] == header and any(row[0] == key for row in rows[1:]):
            return {row[0]: int(row[1]) for row in rows[1:]}
    raise AssertionError(f"no table {header} with {key}")


def _tables():
    lesions = pd.DataFrame({
        "subject": ["a", "a", "b", "c"],
        "lesion": [1, 2, 1, 1],
        "volume_mm3": [100.0, 50.0, 4000.0, 8.0],
        "hemisphere": ["left", "right", "left", "left"],
        "location": ["cortical", "subcortical", "subcortical", "other"],
        "territory": ["MCAFL", "LLSR", "PCTPL", "SCL"],
        "territory_MCAFL": [1.0, 0.0, 0.0, 0.0],
    })
    subjects = pd.DataFrame({
        "subject": ["a", "b", "c"],
        "n_lesions": [2, 1, 1],
        "total_volume_mm3": [150.0, 4000.0, 8.0],
        "hemisphere_class": ["bilateral", "left", "left"],
    })
    return lesions, subjects


def test_cohort_summary_html_counts_and_inlines_the_figure(tmp_path):
    lesions, subjects = _tables()
    png = tmp_path / "o.png"
    matplotlib.image.imsave(png, np.zeros((4, 8, 3)))
    out = cohort_summary_html(lesions, subjects, png, tmp_path / "r" / "summary.html")
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in text
    assert "src=\"o.png\"" not in text  # self-contained
    tables = _Tables(text).tables
    assert _counts(tables, ["hemisphere", "n", "%"], "right") == {"left": 3, "right": 1}  # lesions
    classes = next(rows for rows in tables if rows[0] == ["lesions", "hemisphere", "n", "%"])  # subjects, Table 2
    assert [row[:3] for row in classes[1:]] == [["one lesion", "left", "2"], ["several lesions", "bilateral", "1"]]
    assert _counts(tables, ["location", "n", "%"], "other") == {"cortical": 1, "subcortical": 2, "other": 1}
    cross = next(rows for rows in tables if rows[0][-1] == "all")
    assert cross[-1][0] == "all" and cross[-1][-1] == "4"
    assert sum(len(rows) - 1 for rows in tables if rows[0][:2] == ["subject", "lesion"]) == 4  # every lesion row
    assert "median total volume" in text and "150" in text
    assert "LLSR" in text and "territory_MCAFL" not in text and "1 per-territory share columns" in text


def test_cohort_summary_html_without_figure_or_count_columns(tmp_path):
    lesions = pd.DataFrame({"subject": ["a"], "volume_mm3": [10.0]})
    subjects = pd.DataFrame({"subject": ["a"], "n_lesions": [1]})
    text = cohort_summary_html(lesions, subjects, None, tmp_path / "s.html").read_text()
    assert "<img" not in text and "No hemisphere or location columns" in text
    with pytest.raises(InvalidInputError, match="does not exist"):
        cohort_summary_html(lesions, subjects, tmp_path / "missing.png", tmp_path / "t.html")
    assert not (tmp_path / "t.html").exists()


def test_masks_outside_the_template_are_flagged(tmp_path):
    from lesionkit.io import load_template

    share = np.zeros((40, 48, 40), np.float32)
    share[10:14, 20:26, 18:22] = 0.5
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = (-80.0, -112.0, -70.0)
    template = load_template("t1")
    assert share_outside(nib.Nifti1Image(share, affine), template) == 0.0
    assert share_outside(nib.Nifti1Image(np.zeros_like(share), affine), template) == 0.0
    far = affine.copy()
    far[:3, 3] += 400.0  # e.g. a native-space mask with a scanner origin far from MNI's
    assert share_outside(nib.Nifti1Image(share, far), template) == 1.0
    with pytest.warns(UserWarning, match="MNI152NLin2009aSym space"):
        plot_overlap_map(nib.Nifti1Image(share, far), tmp_path / "far.png", n_slices=1)
