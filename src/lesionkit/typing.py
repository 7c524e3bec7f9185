"""Type aliases shared across lesionkit."""

from __future__ import annotations

import os
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

PathLike: TypeAlias = str | os.PathLike[str]
#: A 3-D array of any dtype (image, mask or probability map).
Volume: TypeAlias = npt.NDArray[np.generic]
#: Voxel size in mm along the three array axes.
Spacing: TypeAlias = tuple[float, float, float]
