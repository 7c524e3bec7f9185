import nibabel as nib
import numpy as np
from scipy import ndimage

from lesionkit.preprocess.bias import N4Settings, n4_bias_field


def test_n4_removes_most_of_a_smooth_field():
    rng = np.random.default_rng(0)
    shape = (48, 56, 48)
    idx = np.indices(shape, dtype=np.float32)
    # Two tissues in an ellipsoid head with texture, times a 40 % linear ramp field.
    r = np.sqrt(((idx[0] - 24) / 20) ** 2 + ((idx[1] - 28) / 24) ** 2 + ((idx[2] - 24) / 20) ** 2)
    head = r < 1
    tissue = np.where(ndimage.gaussian_filter(rng.random(shape), 2) > 0.5, 1.0, 0.65)
    truth = np.where(head, tissue, 0).astype(np.float32)
    field = 0.8 + 0.4 * idx[1] / shape[1]
    observed = truth * field + rng.normal(0, 0.01, shape).astype(np.float32) * head
    img = nib.Nifti1Image(np.clip(observed, 0, None).astype(np.float32), np.diag([3.0, 3.0, 3.0, 1.0]))
    corrected, estimated = n4_bias_field(img, settings=N4Settings(shrink_factor=2, iterations=(50, 50)))
    bright = head & (tissue == 1.0)

    def cv(values):
        return float(values.std() / values.mean())

    before = cv(observed[bright])
    after = cv(np.asarray(corrected.dataobj)[bright])
    assert after < 0.5 * before
    est = np.asarray(estimated.dataobj)[head]
    assert np.corrcoef(est, field[head])[0, 1] > 0.9
    assert corrected.shape == img.shape and np.allclose(corrected.affine, img.affine)
