import json

from lesionkit import __version__
from lesionkit.io import bids_name, derivative_path, parse_bids_name, split_extension, write_dataset_description


def test_parse_atlas_name():
    ent = parse_bids_name("sub-r001s001_ses-1_space-MNI152NLin2009aSym_label-L_desc-T1lesion_mask.nii.gz")
    assert ent == {
        "sub": "r001s001",
        "ses": "1",
        "space": "MNI152NLin2009aSym",
        "label": "L",
        "desc": "T1lesion",
        "suffix": "mask",
        "extension": ".nii.gz",
    }


def test_non_bids_names():
    assert parse_bids_name("c0001s0004t01.nii.gz") is None
    assert parse_bids_name("sub-01.nii.gz") is None
    assert parse_bids_name("sub-01_bad_T1w.nii") is None


def test_split_extension():
    assert split_extension("a_T1w.nii.gz") == ("a_T1w", ".nii.gz")
    assert split_extension("a.nii") == ("a", ".nii")
    assert split_extension("x.json") == ("x", ".json")


def test_bids_name_orders_entities():
    name = bids_name({"desc": "lesionkit", "label": "L", "space": "MNI", "ses": "1", "sub": "a"}, "mask")
    assert name == "sub-a_ses-1_space-MNI_label-L_desc-lesionkit_mask.nii.gz"
    assert parse_bids_name(name)["desc"] == "lesionkit"


def test_derivative_path(tmp_path):
    path = derivative_path(tmp_path, "sub-r001s002", "ses-1", "mask", space="orig", label="L", desc="lesionkit")
    assert path == tmp_path / "sub-r001s002/ses-1/anat/sub-r001s002_ses-1_space-orig_label-L_desc-lesionkit_mask.nii.gz"
    assert derivative_path(tmp_path, "x", None, "probseg").name == "sub-x_probseg.nii.gz"


def test_dataset_description(tmp_path):
    path = write_dataset_description(tmp_path, "lesionkit predictions")
    data = json.loads(path.read_text())
    assert data["DatasetType"] == "derivative"
    assert data["GeneratedBy"] == [{"Name": "lesionkit", "Version": __version__}]  # no invented CodeURL
    raw = json.loads(write_dataset_description(tmp_path / "raw", "R001", dataset_type="raw").read_text())
    assert "GeneratedBy" not in raw and raw["BIDSVersion"]
