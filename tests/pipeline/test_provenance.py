import json

from lesionkit.pipeline.provenance import provenance_key, read_provenance, record_matches, write_record


def _key(**parameters):
    return provenance_key(["segment"], {"t1w": "aa"}, [{"path": "/m.pt", "sha256": "bb"}], {"tta": False, **parameters})


def test_a_record_matches_only_the_same_run_with_all_its_outputs(tmp_path):
    (tmp_path / "sub-01").mkdir()
    (tmp_path / "sub-01" / "mask.nii.gz").write_bytes(b"x")
    record = write_record(tmp_path / "sub-01" / "mask.json", {"Type": "Lesion"}, _key(),
                          outputs=["sub-01/mask.nii.gz"], seconds={"total": 1.0})
    saved = json.loads(record.read_text())
    assert saved["Type"] == "Lesion" and saved["Provenance"]["model"] == ["bb"]
    assert record_matches(record, _key(), tmp_path)
    assert not record_matches(record, _key(threshold=0.4), tmp_path)  # other parameters
    assert not record_matches(record, provenance_key(["segment"], {"t1w": "cc"}, [{"sha256": "bb"}], {"tta": False}),
                              tmp_path)  # other input bytes
    assert not record_matches(record, provenance_key(["segment"], {"t1w": "aa"}, [{"sha256": "dd"}], {"tta": False}),
                              tmp_path)  # other model
    (tmp_path / "sub-01" / "mask.nii.gz").unlink()
    assert not record_matches(record, _key(), tmp_path)  # an output is gone


def test_timings_never_count_and_a_broken_sidecar_is_no_record(tmp_path):
    a = write_record(tmp_path / "a.json", {}, _key(), outputs=[], seconds={"total": 1.0}, worker="w1")
    assert record_matches(a, _key(), tmp_path)
    broken = tmp_path / "b.json"
    broken.write_text("{not json")
    assert read_provenance(broken) is None and not record_matches(broken, _key(), tmp_path)
    assert read_provenance(tmp_path / "missing.json") is None
