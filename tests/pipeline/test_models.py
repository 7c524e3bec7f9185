import pytest

import lesionkit.model
from lesionkit.io import InvalidInputError, file_sha256
from lesionkit.pipeline.models import ModelRef, load_cached_model
from tests.pipeline._data import tiny_model


def test_a_model_is_loaded_once_per_process_and_keyed_by_its_hash(tmp_path, monkeypatch):
    path = tiny_model(tmp_path / "m.pt")
    loads = []
    real = lesionkit.model.load_model
    monkeypatch.setattr(lesionkit.model, "load_model", lambda paths: loads.append(paths) or real(paths))
    ref = ModelRef.from_paths(path)
    assert ref.sha256 == (file_sha256(path),) and len(ref.sha256[0]) == 64
    first = load_cached_model(ref)
    assert load_cached_model(ModelRef.from_paths(str(path))) is first
    assert len(loads) == 1
    assert ref.as_dict() == [{"path": str(path.resolve()), "sha256": ref.sha256[0]}]


def test_a_checkpoint_replaced_during_a_batch_is_refused(tmp_path):
    path = tiny_model(tmp_path / "m.pt")
    ref = ModelRef.from_paths(path)
    tiny_model(path, threshold=0.3)  # other bytes under the same name
    with pytest.raises(InvalidInputError, match="changed since the batch started"):
        load_cached_model(ref)
    with pytest.raises(InvalidInputError, match="does not exist"):
        ModelRef.from_paths(tmp_path / "missing.pt")


def test_the_default_is_the_shipped_model():
    from lesionkit.model import default_model_path

    assert ModelRef.from_paths(None).paths == (str(default_model_path().resolve()),)
