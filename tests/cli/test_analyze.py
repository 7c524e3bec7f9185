import gzip

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from lesionkit.cli import main
from lesionkit.io import ATLAS_AFFINE

AFFINE = ATLAS_AFFINE.copy()
AFFINE[:3, :3] *= 2  # the ATLAS field of view at 2 mm (what `lesionkit synth --resolution 2` writes)
SHAPE = (99, 117, 95)


def _world_box(x: float, y: float, z: float, half: int = 2) -> tuple[slice, ...]:
    """A (2·half+1)³-voxel box centred on the voxel nearest to MNI (x, y, z) mm."""
    ijk = np.round(np.linalg.solve(AFFINE, [x, y, z, 1.0])[:3]).astype(int)
    return tuple(slice(c - half, c + half + 1) for c in ijk)


def _save(data, path, affine=AFFINE):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def _two_subjects(folder):
    two = np.zeros(SHAPE, np.uint8)
    two[_world_box(-25, -10, 30)] = 1  # left centrum semiovale: 125 voxels
    two[_world_box(20, -70, -35, half=1)] = 1  # right cerebellum: 27 voxels
    return [_save(two, folder / "sub-01_mask.nii.gz"), _save(np.zeros(SHAPE, np.uint8), folder / "sub-02_mask.nii.gz")]


def test_tables_of_a_folder(tmp_path, capsys):
    _two_subjects(tmp_path / "masks")
    out = tmp_path / "out"
    assert main(["analyze", str(tmp_path / "masks"), "-o", str(out), "--quiet", "--no-report"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["lesions.tsv", "roi_load.tsv", "subjects.tsv"]
    lesions = pd.read_csv(out / "lesions.tsv", sep="\t")
    assert lesions[["subject", "lesion", "n_voxels", "volume_mm3"]].values.tolist() == [
        ["sub-01", 1, 125, 1000.0], ["sub-01", 2, 27, 216.0]]
    assert lesions["hemisphere"].tolist() == ["left", "right"]
    assert lesions["location"].tolist()[1] == "other" and lesions["territory"].tolist()[1].endswith("R")
    subjects = pd.read_csv(out / "subjects.tsv", sep="\t", keep_default_na=False).set_index("subject")
    assert subjects.loc["sub-01", "hemisphere_class"] == "other"  # several lesions, one infratentorial
    assert subjects.loc["sub-01", "total_volume_mm3"] == 1216.0
    assert subjects.loc["sub-02", ["n_lesions", "hemisphere_class"]].tolist() == [0, "none"]  # empty mask: valid
    roi = pd.read_csv(out / "roi_load.tsv", sep="\t")
    assert set(roi["atlas"]) == {"jhu_lvl1", "jhu_lvl2"} and len(roi) == 2 * (30 + 8)
    mine = roi[(roi["subject"] == "sub-01") & (roi["atlas"] == "jhu_lvl2")]
    assert mine["overlap_mm3"].sum() <= 1216.0 and mine["lesion_percent"].sum() <= 100.0 + 1e-9
    assert "2 subject(s), 2 lesion(s)" in capsys.readouterr().out


def test_user_atlas_cst_min_size_and_report(tmp_path):
    files = _two_subjects(tmp_path / "masks")
    atlas = np.zeros(SHAPE, np.int16)
    atlas[_world_box(-25, -10, 30, half=1)] = 3
    atlas_path = _save(atlas, tmp_path / "roi.nii.gz")
    labels = tmp_path / "roi.tsv"
    labels.write_text("index\tname\n3\tcore\n")
    cst = np.zeros(SHAPE, np.float32)
    cst[_world_box(-25, -10, 30)][2, 2, :] = 1.0  # a 1-voxel-wide vertical tract through the first lesion
    cst_path = _save(cst, tmp_path / "cst.nii.gz")
    t1 = _save(np.random.default_rng(0).random(SHAPE, dtype=np.float32), tmp_path / "t1" / "sub-01_T1w.nii.gz")
    out = tmp_path / "out"
    code = main(["analyze", str(files[0]), "-o", str(out), "--quiet", "--min-size", "300", "--atlas",
                 str(atlas_path), "--atlas-labels", str(labels), "--cst", str(cst_path), "--t1", str(t1)])
    assert code == 0
    lesions = pd.read_csv(out / "lesions.tsv", sep="\t")
    assert lesions["n_voxels"].tolist() == [125]  # the 216 mm³ cerebellar lesion is below --min-size
    roi = pd.read_csv(out / "roi_load.tsv", sep="\t").set_index("roi")
    assert roi.loc["core", "overlap_mm3"] == 27 * 8.0 and roi.loc["core", "roi_percent"] == 100.0
    cst_load = pd.read_csv(out / "cst_load.tsv", sep="\t")
    # 5 slices of one tract voxel each: every weight is 1, load = overlap = 5 voxels × 8 mm³
    columns = ["weighted_cst_load_mm3", "cst_overlap_mm3", "cst_percent"]
    assert cst_load[columns].values.tolist() == [[40.0, 40.0, 100.0]]
    assert (out / "figures" / "sub-01_montage.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "overlap.png").exists() and "lesionkit analyze" in (out / "report.html").read_text()


def _bad_inputs(tmp_path):
    good = _two_subjects(tmp_path / "masks")[0]
    data = np.asanyarray(nib.load(good).dataobj)
    truncated = tmp_path / "bad" / "sub-09_mask.nii.gz"
    truncated.parent.mkdir(parents=True, exist_ok=True)
    truncated.write_bytes(gzip.compress(b"\0" * 4000)[:200])
    nan = data.astype(np.float32)
    nan[0, 0, 0] = np.nan
    shifted = AFFINE.copy()
    shifted[0, 3] += 5.0  # MNI-like but 5 mm off the ATLAS origin
    bad = tmp_path / "bad"
    return {
        "other grid": [str(_save(np.zeros((20, 20, 20), np.uint8), bad / "sub-03_mask.nii.gz", np.eye(4)))],
        "shifted": [str(_save(data, bad / "sub-04_mask.nii.gz", shifted))],
        "non-binary": [str(_save(data * 3, tmp_path / "bad" / "sub-05_mask.nii.gz"))],
        "NaN": [str(_save(nan, tmp_path / "bad" / "sub-06_mask.nii.gz"))],
        "missing": [str(tmp_path / "nothing.nii.gz")],
        "truncated": [str(truncated)],
        "good then bad": [str(good), str(_save(data * 2, tmp_path / "bad" / "sub-07_mask.nii.gz"))],
        "atlas grid": [str(good), "--atlas", str(_save(np.ones((20, 20, 20), np.uint8), tmp_path / "a.nii.gz",
                                                       np.eye(4))), "--atlas-labels", str(good)],
        "t1 grid": [str(good), "--t1", str(_save(np.ones((20, 20, 20), np.float32), tmp_path / "t1.nii.gz",
                                                 np.eye(4)))],
    }


@pytest.mark.parametrize("case", ["other grid", "shifted", "non-binary", "NaN", "missing", "truncated",
                                  "good then bad", "atlas grid", "t1 grid"])
def test_bad_input_exits_3_and_writes_nothing(tmp_path, capsys, case):
    args = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out"
    assert main(["analyze", *args, "-o", str(out), "--quiet"]) == 3
    assert not out.exists()
    assert "invalid input" in capsys.readouterr().err


def test_bad_arguments_exit_2(tmp_path):
    good = _two_subjects(tmp_path / "masks")[0]
    assert main(["analyze", str(good), "-o", str(tmp_path / "o"), "--atlas", str(good)]) == 2
    assert main(["analyze", str(good), "-o", str(tmp_path / "o"), "--min-size", "-1"]) == 2
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_agrees_with_the_generator_on_a_2mm_cohort(tmp_path):
    cohort, out = tmp_path / "cohort", tmp_path / "out"
    assert main(["synth", str(cohort), "--subjects", "12", "--seed", "5", "--resolution", "2", "--quiet"]) == 0
    assert main(["analyze", str(cohort), "-o", str(out), "--quiet", "--no-report"]) == 0
    found = pd.read_csv(out / "lesions.tsv", sep="\t")
    truth = pd.concat([pd.read_csv(p, sep="\t") for p in cohort.rglob("lesions.tsv")], ignore_index=True)
    assert len(found) == len(truth)
    agree = {"hemisphere": 0, "location": 0}
    for _, lesion in found.iterrows():  # match by nearest centroid within the subject (lesions are ≥ 3 mm apart)
        theirs = truth[truth["participant_id"] == lesion["subject"]]
        xyz = theirs[["centroid_x_mm", "centroid_y_mm", "centroid_z_mm"]].to_numpy(float)
        distance = np.linalg.norm(xyz - lesion[["centroid_x", "centroid_y", "centroid_z"]].to_numpy(float), axis=1)
        match = theirs.iloc[int(distance.argmin())]
        assert distance.min() <= 1.0 and match["volume_mm3"] == lesion["volume_mm3"] == lesion["n_voxels"] * 8.0
        for key in agree:
            agree[key] += match[key] == lesion[key]
    assert agree["hemisphere"] / len(found) >= 0.9 and agree["location"] / len(found) >= 0.9


def test_cst_threshold_default_is_the_library_default():
    from lesionkit.analysis.roi import CST_THRESHOLD
    from lesionkit.cli import _get_parser

    assert _get_parser().parse_args(["analyze", "m", "-o", "o"]).cst_threshold == CST_THRESHOLD
