import numpy as np
import pytest
import torch

from lesionkit.io import InvalidInputError
from lesionkit.model import NetworkConfig, build_network, load_model, predict_array, save_checkpoint


def _net():
    torch.manual_seed(0)
    config = NetworkConfig(widths=[8, 16], stem_stride=2)
    return build_network(config), config


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    net, config = _net()
    path = save_checkpoint(tmp_path / "m.pt", net, config, roi_size=(16, 16, 16), provenance={"metrics": {"dice": 0.5}})
    model = load_model(path)
    assert not model.training
    assert model.space == "MNI152NLin2009aSym" and model.roi_size == (16, 16, 16) and model.divisor == 4
    assert model.provenance["metrics"] == {"dice": 0.5}
    for key, value in net.state_dict().items():
        torch.testing.assert_close(model.networks[0].state_dict()[key], value)


def test_half_precision_checkpoint_is_smaller_and_predicts_alike(tmp_path):
    net, config = _net()
    full = save_checkpoint(tmp_path / "full.pt", net, config, roi_size=(16, 16, 16))
    half = save_checkpoint(tmp_path / "half.pt", net, config, roi_size=(16, 16, 16), half=True)
    assert half.stat().st_size < 0.7 * full.stat().st_size
    image = np.random.default_rng(0).normal(100, 10, (16, 20, 12)).astype(np.float32)
    a, b = predict_array(load_model(full), image), predict_array(load_model(half), image)
    np.testing.assert_allclose(a, b, atol=2e-2)


def test_ensemble_of_checkpoints(tmp_path):
    net, config = _net()
    paths = [save_checkpoint(tmp_path / f"{i}.pt", net, config) for i in range(2)]
    assert len(load_model(paths).networks) == 2


def test_bad_checkpoints_are_invalid_input(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_model(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInputError, match="junk.pt"):
        load_model(junk)
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(InvalidInputError, match="not a lesionkit checkpoint"):
        load_model(tmp_path / "other.pt")


def test_threshold_travels_with_the_checkpoint(tmp_path):
    net, config = _net()
    assert load_model(save_checkpoint(tmp_path / "a.pt", net, config)).threshold == 0.5
    assert load_model(save_checkpoint(tmp_path / "b.pt", net, config, threshold=0.3)).threshold == 0.3


def test_an_ensemble_fits_in_one_file(tmp_path):
    torch.manual_seed(0)
    config = NetworkConfig(widths=[8, 16], stem_stride=2)
    nets = [build_network(config), build_network(config)]
    model = load_model(save_checkpoint(tmp_path / "ens.pt", nets, config, roi_size=(16, 16, 16)))
    assert len(model.networks) == 2
    x = torch.randn(1, 1, 16, 16, 16)
    expected = (torch.sigmoid(nets[0].eval()(x)) + torch.sigmoid(nets[1].eval()(x))) / 2
    torch.testing.assert_close(model(x), expected)


def test_export_writes_checkpoints_as_one_half_precision_ensemble(tmp_path):
    from lesionkit.model.checkpoint import read_checkpoint
    from lesionkit.model.export import export_model

    net, config = _net()
    paths = [save_checkpoint(tmp_path / f"{i}.pt", net, config, threshold=0.4) for i in range(2)]
    payload = read_checkpoint(export_model(paths, tmp_path / "shipped.pt"))
    assert len(payload["state_dicts"]) == 2 and payload["threshold"] == 0.4
    assert all(v.dtype == torch.float16 for s in payload["state_dicts"] for v in s.values() if v.is_floating_point())
    other_config = NetworkConfig(widths=[8, 32], stem_stride=2)
    other = save_checkpoint(tmp_path / "other.pt", build_network(other_config), other_config)
    with pytest.raises(InvalidInputError, match="other.pt.*share one architecture"):
        export_model([paths[0], other], tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: p.pop("state_dict"), "holds no network weights"),
        (lambda p: p.update(state_dict={}), "weights do not fit the network"),
        (lambda p: p.pop("network"), "does not describe its network"),
        (lambda p: p["network"].update(depth=3), "network description is invalid"),
        (lambda p: p.update(threshold=float("nan")), "threshold nan is not a probability"),
        (lambda p: p.update(threshold=1.0), "threshold 1.0 is not a probability"),
        (lambda p: p.update(min_size_mm3=-5.0), "min_size_mm3 -5.0"),
        (lambda p: p.update(spacing=[1.0, 0.0, 1.0]), "spacing"),
        (lambda p: p.update(roi_size=[16, 16]), "roi_size"),
        (lambda p: p["state_dict"].pop(next(iter(p["state_dict"]))), "weights do not fit the network"),
    ],
)
def test_unusable_checkpoints_are_refused_on_load(tmp_path, change, problem):
    net, config = _net()
    path = save_checkpoint(tmp_path / "m.pt", net, config, roi_size=(16, 16, 16))
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)
    with pytest.raises(InvalidInputError, match=problem) as info:
        load_model(path)
    assert str(info.value).startswith(str(path))
