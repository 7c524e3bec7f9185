"""Training-time augmentation with MONAI dictionary transforms (image ``"image"``, mask ``"label"``).

Left-right flip (lesions occur in both hemispheres alike), small rotation and scaling (registration
residue), intensity scale/shift and a smooth bias field (scanner differences). Each call is seeded by the
training loop, so a resumed run sees exactly the same augmented crops.
"""

from __future__ import annotations

import numpy as np

__all__ = ["augment", "build_augmentation"]


def build_augmentation(strength: float = 1.0):
    """A MONAI ``Compose`` acting on channel-first float32 crops; ``strength`` 0 gives the identity."""
    from monai.transforms import (
        Compose,
        RandAffined,
        RandBiasFieldd,
        RandFlipd,
        RandScaleIntensityd,
        RandShiftIntensityd,
    )

    if strength <= 0:
        return Compose([])
    keys = ("image", "label")
    return Compose(
        [
            RandFlipd(keys, prob=0.5, spatial_axis=0),  # axis 0 of the RAS MNI grid is left-right
            RandAffined(
                keys,
                prob=0.2 * strength,
                rotate_range=[0.1 * strength] * 3,  # ≈ 6°
                scale_range=[0.08 * strength] * 3,
                mode=("bilinear", "nearest"),
                padding_mode="border",
            ),
            RandBiasFieldd("image", prob=0.2 * strength, coeff_range=(0.0, 0.2 * strength)),
            RandScaleIntensityd("image", factors=0.1 * strength, prob=0.5),
            RandShiftIntensityd("image", offsets=0.1 * strength, prob=0.5),
        ]
    )


def augment(transform, image: np.ndarray, label: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``transform`` to one ``(1, X, Y, Z)`` image/label pair with a fixed seed."""
    transform.set_random_state(seed=seed % (2**32))
    out = transform({"image": image, "label": label})
    # the label is resampled by nearest neighbour, so binary labels stay binary and soft ones stay soft
    return np.asarray(out["image"], dtype=np.float32), np.asarray(out["label"], dtype=np.float32)
