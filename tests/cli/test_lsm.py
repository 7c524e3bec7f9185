"""``lesionkit lsm``: outputs on the masks' grid, and one clear message per bad input with nothing written."""

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from lesionkit.cli import main

N = 16


def _cohort(tmp_path, n=N, seed=0):
    rng = np.random.default_rng(seed)
    masks = tmp_path / "masks"
    masks.mkdir()
    scores = []
    for i in range(n):
        data = np.zeros((10, 10, 10), np.uint8)
        lo = rng.integers(0, 5, size=3)
        data[lo[0]:lo[0] + 5, lo[1]:lo[1] + 5, lo[2]:lo[2] + 5] = 1
        nib.save(nib.Nifti1Image(data, np.eye(4)), masks / f"sub-{i:02d}_mask.nii.gz")
        scores.append(-3.0 * data[4:6, 4:6, 4:6].mean() + rng.normal(scale=0.2))
    table = pd.DataFrame({"participant_id": [f"sub-{i:02d}" for i in range(n)], "score": scores,
                          "age": rng.uniform(40, 80, size=n)})
    table.to_csv(tmp_path / "behavior.tsv", sep="\t", index=False)
    return masks, tmp_path / "behavior.tsv", table


def _run(masks, table, out, *extra):
    return main(["lsm", str(masks), str(table), "-o", str(out), "--quiet", "--permutations", "99", *extra])


@pytest.mark.parametrize("test", ["bm", "ttest", "regression", "svr"])
def test_writes_stat_and_thresholded_maps_on_the_masks_grid(tmp_path, test, capsys):
    masks, table, _ = _cohort(tmp_path)
    out = tmp_path / "out"
    extra = ["--covariates", "lesion_volume", "age"] if test == "regression" else []
    assert _run(masks, table, out, "--test", test, "--min-lesioned", "3", "--seed", "4", *extra) == 0
    stat = next(out.glob("*stat.nii.gz"))
    thresholded = next(out.glob("*thresholded.nii.gz"))
    reference = nib.load(next(masks.glob("*.nii.gz")))
    for path in (stat, thresholded, *out.glob("*mde.nii.gz")):
        img = nib.load(path)
        assert img.shape == reference.shape and np.allclose(img.affine, reference.affine)
    s, t = np.asanyarray(nib.load(stat).dataobj), np.asanyarray(nib.load(thresholded).dataobj)
    assert np.all((t == 0) | (t == s))
    provenance = json.loads((out / "lsm_provenance.json").read_text())
    assert provenance["settings"]["seed"] == 4 and provenance["settings"]["permutations"] == 99
    assert len(provenance["inputs"]["masks"]) == N and provenance["inputs"]["table"]["sha256"]
    assert "significant" in capsys.readouterr().out


def _assert_refused(tmp_path, capsys, code, args, *needles):
    out = tmp_path / "out"
    assert main(["lsm", *map(str, args), "-o", str(out), "--quiet", "--permutations", "99"]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    for needle in needles:
        assert needle in err
    assert not out.exists() or not any(out.iterdir())
    return err


def test_subjects_missing_from_the_table_are_listed(tmp_path, capsys):
    masks, path, table = _cohort(tmp_path)
    table.drop(index=[3, 7]).to_csv(path, sep="\t", index=False)
    _assert_refused(tmp_path, capsys, 3, [masks, path], "behavior.tsv", "2 subject(s)", "03", "07")


def test_nan_score_names_the_subject(tmp_path, capsys):
    masks, path, table = _cohort(tmp_path)
    table.loc[5, "score"] = np.nan
    table.to_csv(path, sep="\t", index=False)
    _assert_refused(tmp_path, capsys, 3, [masks, path], "NaN", "05")


def test_constant_score_is_refused(tmp_path, capsys):
    masks, path, table = _cohort(tmp_path)
    table["score"] = 2.5
    table.to_csv(path, sep="\t", index=False)
    _assert_refused(tmp_path, capsys, 3, [masks, path], "constant")


def test_fewer_subjects_than_the_voxel_threshold(tmp_path, capsys):
    masks, path, _ = _cohort(tmp_path)
    _assert_refused(tmp_path, capsys, 3, [masks, path, "--min-lesioned", "15"], "16 subjects", "15")


def test_masks_on_different_grids(tmp_path, capsys):
    masks, path, _ = _cohort(tmp_path)
    odd = masks / "sub-04_mask.nii.gz"
    img = nib.load(odd)
    nib.save(nib.Nifti1Image(np.asanyarray(img.dataobj), np.diag([2.0, 2.0, 2.0, 1.0])), odd)
    _assert_refused(tmp_path, capsys, 3, [masks, path], "sub-04_mask.nii.gz")


@pytest.mark.parametrize(("extra", "needle"), [
    (["--permutations", "9"], "permutations"),
    (["--test", "chisq", "--correction", "fdr"], "binary"),
])
def test_bad_arguments(tmp_path, capsys, extra, needle):
    masks, path, _ = _cohort(tmp_path)
    out = tmp_path / "out"
    code = main(["lsm", str(masks), str(path), "-o", str(out), "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == (2 if "9" in extra else 3) and needle in err
    assert not out.exists() or not any(out.iterdir())


def test_table_rows_without_masks_are_listed(tmp_path, capsys):
    masks, path, table = _cohort(tmp_path)
    extra = pd.DataFrame({"participant_id": ["sub-99"], "score": [1.0], "age": [50.0]})
    pd.concat([table, extra]).to_csv(path, sep="\t", index=False)
    assert _run(masks, path, tmp_path / "out", "--min-lesioned", "3") == 0
    assert "99" in capsys.readouterr().out


def test_cli_choices_are_the_library_s():
    from lesionkit.analysis.lsm import mapping
    from lesionkit.cli import lsm

    assert lsm.TESTS == mapping.TESTS and lsm.CORRECTIONS == mapping.CORRECTIONS
