import nibabel as nib
import numpy as np
import pytest
import torch

from lesionkit.model.checkpoint import SegmentationModel
from lesionkit.model.inference import predict_array, segment, threshold_probability


class DarkVoxels(torch.nn.Module):
    """Stub network: a logit that is high where the (z-scored) intensity is very low."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -20.0 * (x + 4.0)


def _stub(roi=(16, 16, 16), spacing=(1.0, 1.0, 1.0)) -> SegmentationModel:
    # No percentile clipping: the tiny test lesions are rarer than the clipped 0.5 % tail.
    no_clip = {"clip_percentiles": [0.0, 100.0]}
    return SegmentationModel([DarkVoxels()], {"widths": [8, 16], "stem_stride": 1}, no_clip, roi_size=roi,
                             spacing=spacing)


def _head(shape) -> np.ndarray:
    image = np.full(shape, 100.0, np.float32)
    image += np.random.default_rng(0).normal(0, 1, shape).astype(np.float32)
    return image


@pytest.mark.parametrize("shape", [(33, 27, 21), (16, 16, 16), (7, 40, 9)])
def test_segment_keeps_shape_and_affine(shape):
    affine = np.array([[0.9, 0.1, 0, -30], [0, 1.1, 0, 12], [0, 0, 2.0, 5], [0, 0, 0, 1]])
    image = nib.Nifti1Image(_head(shape), affine)
    out = segment(_stub(), image)
    assert out.shape == shape
    np.testing.assert_array_equal(out.affine, affine)
    assert out.get_data_dtype() == np.float32


@pytest.mark.parametrize("shape", [(33, 27, 21), (40, 36, 30)])
def test_a_coarser_model_segments_on_its_grid_and_returns_the_input_grid(shape):
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    data = _head(shape)
    data[4:12, 4:12, 4:12] = 0.0  # an 8³ lesion: four 2 mm blocks across
    out = segment(_stub(spacing=(2.0, 2.0, 2.0)), nib.Nifti1Image(data, affine))
    assert out.shape == shape
    mask = np.asarray(out.dataobj) >= 0.5
    truth = data == 0.0
    assert 2 * (mask & truth).sum() / (mask.sum() + truth.sum()) > 0.85


def test_lesion_at_the_edge_of_the_volume_is_found():
    # Tomita et al. scored a centre crop only; a lesion in the corner would be lost. The volume is
    # many windows wide, so the corner is only reached if the sliding window covers everything.
    image = _head((60, 52, 44))
    image[:5, :5, -5:] = 50.0  # corner lesion
    image[28:32, 24:28, 20:24] = 50.0  # central lesion
    truth = image <= 50
    probability = predict_array(_stub(), image)
    found = probability >= 0.5
    assert found[:5, :5, -5:].all()
    assert found[28:32, 24:28, 20:24].all()
    assert (found == truth).mean() > 0.999


def test_tta_averages_the_flipped_prediction():
    class LeftBiased(torch.nn.Module):
        def forward(self, x):
            ramp = torch.linspace(-3, 3, x.shape[2]).view(1, 1, -1, 1, 1)
            return ramp.expand_as(x).clone()

    model = SegmentationModel([LeftBiased()], {"widths": [8], "stem_stride": 1}, roi_size=(16, 16, 16))
    image = _head((16, 16, 16))
    plain = predict_array(model, image)
    flipped = predict_array(model, image, tta=True)
    assert plain[0].mean() < 0.1 and plain[-1].mean() > 0.9
    np.testing.assert_allclose(flipped, 0.5, atol=1e-5)


def test_ensemble_averages_members():
    class Constant(torch.nn.Module):
        def __init__(self, value):
            super().__init__()
            self.value = value

        def forward(self, x):
            return torch.full_like(x, self.value)

    model = SegmentationModel([Constant(10.0), Constant(-10.0)], {"widths": [8], "stem_stride": 1}, roi_size=(8, 8, 8))
    np.testing.assert_allclose(predict_array(model, _head((8, 8, 8))), 0.5, atol=1e-4)


def test_threshold_and_min_size():
    probability = np.zeros((20, 20, 20), np.float32)
    probability[2:8, 2:8, 2:8] = 0.9  # 216 voxels
    probability[15, 15, 15] = 0.8  # 1 voxel
    probability[10, 10, 10] = 0.4  # below threshold
    mask = threshold_probability(probability, 0.5)
    assert mask.dtype == np.uint8 and mask.sum() == 217
    assert threshold_probability(probability, 0.5, min_size_mm3=10).sum() == 216
    assert threshold_probability(probability, 0.5, min_size_mm3=10, voxel_mm3=12.0).sum() == 217  # 1 voxel = 12 mm³
    assert threshold_probability(probability, 0.5, min_size_mm3=216).sum() == 216  # the limit itself is kept
    assert threshold_probability(probability, 0.3).sum() == 218


def test_members_are_the_flipped_and_unflipped_predictions_and_leave_the_output_unchanged():
    from lesionkit.model.inference import predict_inputs, predict_members

    class LeftBiased(torch.nn.Module):
        def forward(self, x):
            ramp = torch.linspace(-3, 3, x.shape[2]).view(1, 1, -1, 1, 1)
            return ramp.expand_as(x).clone()

    model = SegmentationModel([LeftBiased()], {"widths": [8], "stem_stride": 1}, roi_size=(16, 16, 16))
    inputs = _head((16, 16, 16))[None]
    for tta in (False, True):
        result = predict_members(model, inputs, tta=tta)
        np.testing.assert_array_equal(result.probability, predict_inputs(model, inputs, tta=tta))
        assert list(result.members) == ["net1", "net1_flipped"]
        np.testing.assert_allclose(result.members["net1_flipped"], result.members["net1"][::-1], atol=1e-6)
    plain = predict_members(model, inputs)
    np.testing.assert_array_equal(plain.members["net1"], plain.probability)  # without TTA the output is net1


def test_an_ensemble_gives_one_member_per_network_in_one_pass_with_the_same_output():
    from lesionkit.model.inference import predict_inputs, predict_members

    class Constant(torch.nn.Module):
        def __init__(self, value):
            super().__init__()
            self.value = value
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return torch.full_like(x, self.value)

    networks = [Constant(2.0), Constant(-1.0), Constant(0.5)]
    model = SegmentationModel(networks, {"widths": [8], "stem_stride": 1}, roi_size=(8, 8, 8))
    inputs = _head((8, 8, 8))[None]
    expected = predict_inputs(model, inputs)
    calls = networks[0].calls
    result = predict_members(model, inputs)
    assert networks[0].calls - calls == 2  # one window, unflipped and flipped: each network runs once per pass
    np.testing.assert_array_equal(result.probability, expected)
    assert list(result.members) == ["net1", "net2", "net3", "net1_flipped", "net2_flipped", "net3_flipped"]
    for name, value in (("net1", 2.0), ("net2", -1.0), ("net3", 0.5)):
        np.testing.assert_allclose(result.members[name], 1 / (1 + np.exp(-value)), atol=1e-6)


def test_segment_members_returns_segment_s_image_and_members_on_its_grid():
    from lesionkit.model.inference import segment_members

    data = _head((40, 36, 30))
    data[4:12, 4:12, 4:12] = 0.0
    image = nib.Nifti1Image(data, np.eye(4))
    model = _stub(spacing=(2.0, 2.0, 2.0))
    probability, members = segment_members(model, image)
    np.testing.assert_array_equal(np.asarray(probability.dataobj), np.asarray(segment(model, image).dataobj))
    assert all(m.shape == data.shape and m.dtype == np.float32 for m in members.values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_predict_array_on_cuda_matches_the_cpu():
    image = _head((40, 36, 30))
    image[8:16, 8:16, 8:16] = 0.0
    cpu = predict_array(_stub(), image)
    cuda = predict_array(_stub(), image, device="cuda")  # float16 autocast there
    assert np.abs(cuda - cpu).max() < 1e-2 and (cpu >= 0.5).sum() > 0


class _Voxelwise(torch.nn.Module):
    """logit = scale · (x − shift) per voxel: its probability is known without any sliding window."""

    def __init__(self, scale: float, shift: float):
        super().__init__()
        self.scale, self.shift = scale, shift

    def forward(self, x):
        return self.scale * (x[:, :1] - self.shift)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


@pytest.mark.parametrize("tta", [False, True])
def test_predict_helper_against_a_direct_computation(tta):
    """predict_inputs and predict_members share one helper: check it against numpy, padding and crop included."""
    from lesionkit.model.inference import predict_inputs, predict_members

    inputs = np.random.default_rng(3).normal(0, 2, (1, 10, 12, 9)).astype(np.float32)  # smaller than the window
    networks = [_Voxelwise(1.5, 0.2), _Voxelwise(-0.7, 0.1)]
    model = SegmentationModel(networks, {"widths": [8], "stem_stride": 1}, roi_size=(16, 16, 16))
    each = [_sigmoid(net.scale * (inputs[0] - net.shift)) for net in networks]
    expected = (each[0] + each[1]) / 2  # voxelwise networks are flip-equivariant: TTA changes nothing
    np.testing.assert_allclose(predict_inputs(model, inputs, tta=tta), expected, atol=1e-5)
    result = predict_members(model, inputs, tta=tta)
    np.testing.assert_allclose(result.probability, expected, atol=1e-5)
    for i, member in enumerate(each, start=1):
        np.testing.assert_allclose(result.members[f"net{i}"], member, atol=1e-5)
        np.testing.assert_allclose(result.members[f"net{i}_flipped"], member, atol=1e-5)


def test_tta_is_the_mean_with_the_flipped_prediction_computed_directly():
    """A network that is not flip-equivariant (a left-right ramp), one window covering the volume."""
    from lesionkit.model.inference import predict_inputs, predict_members

    class Ramp(torch.nn.Module):
        def forward(self, x):
            return torch.linspace(-3, 3, x.shape[2]).view(1, 1, -1, 1, 1).expand_as(x[:, :1]).clone()

    model = SegmentationModel([Ramp()], {"widths": [8], "stem_stride": 1}, roi_size=(16, 16, 16))
    inputs = _head((16, 16, 16))[None]
    ramp = _sigmoid(np.linspace(-3, 3, 16))[:, None, None] * np.ones((16, 16, 16))
    np.testing.assert_allclose(predict_inputs(model, inputs), ramp, atol=1e-5)
    np.testing.assert_allclose(predict_inputs(model, inputs, tta=True), (ramp + ramp[::-1]) / 2, atol=1e-5)
    members = predict_members(model, inputs).members
    np.testing.assert_allclose(members["net1_flipped"], ramp[::-1], atol=1e-5)
