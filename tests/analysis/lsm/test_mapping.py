"""A known answer from outside the project: LESYMAP's example, mapped by ``lesionkit lsm``.

LESYMAP's authors simulated the scores of its 131 real left-hemisphere lesion maps from the lesion load of
region 101 of its 403-area parcellation (``simulateBehavior``, label 101 in its documented example). The
fixture is that example at 2 mm (``lsm_data/README.md``), made with::

    s = slice(None, None, 2)
    vols = np.stack([np.asarray(nib.load(f).dataobj)[s, s, s].astype(bool).ravel() for f in sorted(masks)])
    union = np.flatnonzero(vols.any(0))
    np.savez_compressed("lesymap_2mm.npz", shape=..., voxels=union, lesions=np.packbits(vols[:, union], axis=1),
                        n_voxels=union.size, parcellation=parc[s, s, s], subjects=..., scores=...)
"""

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from lesionkit.cli import main
from lesionkit.io import ATLAS_AFFINE

DATA = Path(__file__).parent / "lsm_data" / "lesymap_2mm.npz"
SIMULATED_REGION = "101"


@pytest.fixture(scope="module")
def lesymap(tmp_path_factory):
    data = np.load(DATA, allow_pickle=False)
    shape = tuple(int(v) for v in data["shape"])
    affine = ATLAS_AFFINE.copy()
    affine[:3, :3] *= 2
    lesions = np.unpackbits(data["lesions"], axis=1, count=int(data["n_voxels"])).astype(bool)
    folder = tmp_path_factory.mktemp("lesymap")
    masks = folder / "masks"
    masks.mkdir()
    for subject, row in zip(data["subjects"], lesions, strict=True):
        volume = np.zeros(int(np.prod(shape)), np.uint8)
        volume[data["voxels"][row]] = 1
        nib.save(nib.Nifti1Image(volume.reshape(shape), affine), masks / f"sub-{subject}_mask.nii.gz")
    pd.DataFrame({"participant_id": data["subjects"], "score": data["scores"]}).to_csv(
        folder / "behavior.tsv", sep="\t", index=False)
    nib.save(nib.Nifti1Image(data["parcellation"], affine), folder / "parcellation.nii.gz")
    return folder


def test_brunner_munzel_fwe_peak_lies_in_the_simulated_region(lesymap, capsys):
    out = lesymap / "out"
    code = main([
        "lsm", str(lesymap / "masks"), str(lesymap / "behavior.tsv"), "-o", str(out), "--test", "bm",
        "--correction", "fwe", "--permutations", "200", "--seed", "3",
        "--parcellation", str(lesymap / "parcellation.nii.gz"), "--quiet",
    ])
    assert code == 0, capsys.readouterr().err
    clusters = pd.read_csv(out / "lsm_clusters.tsv", sep="\t", dtype={"parcellation_peak": str})
    top = clusters.iloc[0]
    assert top["parcellation_peak"] == SIMULATED_REGION
    assert top["jhu_lvl2_peak"] == "MCAL"  # the left middle cerebral artery territory
    stat = nib.load(out / "lsm_desc-bm_stat.nii.gz")
    thresholded = np.asanyarray(nib.load(out / "lsm_desc-bmfwe_thresholded.nii.gz").dataobj)
    parcellation = np.asanyarray(nib.load(lesymap / "parcellation.nii.gz").dataobj)
    peak = np.unravel_index(np.argmax(np.asanyarray(stat.dataobj)), stat.shape)
    assert parcellation[peak] == int(SIMULATED_REGION)
    # the whole simulated region that was tested is significant, and the share table says how the map spreads
    regions = pd.read_csv(out / "lsm_regions.tsv", sep="\t", dtype={"region": str})
    overall = regions[(regions["cluster"] == "all") & (regions["atlas"] == "parcellation")]
    assert overall["share"].sum() == pytest.approx(1.0)
    assert overall.set_index("region").loc[SIMULATED_REGION, "voxels"] == np.count_nonzero(
        thresholded[parcellation == int(SIMULATED_REGION)])
    assert np.mean(thresholded[parcellation == int(SIMULATED_REGION)] > 0) > 0.9
    printed = capsys.readouterr().out
    assert "131 subjects" in printed and "significant" in printed
    assert (out / "lsm_report.html").read_text().count("<img") == 1
