"""One-file checkpoints and the model object that inference uses.

A checkpoint (``torch.save`` of a plain dict, loadable with ``weights_only=True``) holds the weights
(``state_dict``, or ``state_dicts`` for an ensemble of networks of one architecture), the architecture
(:class:`NetworkConfig`), the intensity normalisation, the space and voxel size the model expects, the
sliding-window size, the post-processing (threshold, minimum lesion size), and provenance (training-data
summary, code version, metrics).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lesionkit.core import DEFAULT_THRESHOLD
from lesionkit.io.atomic import atomic_path
from lesionkit.io.cohort import MNI_SPACE
from lesionkit.io.errors import InvalidInputError
from lesionkit.model.networks import NetworkConfig, build_network
from lesionkit.model.normalize import DEFAULT_NORMALIZATION
from lesionkit.typing import PathLike

__all__ = ["DEFAULT_MODEL", "SegmentationModel", "default_model_path", "load_model", "load_weights", "save_checkpoint"]

DEFAULT_MODEL = "lesionkit_default_model.pt"
FORMAT = "lesionkit-checkpoint-1"
#: What a model expects unless its checkpoint says otherwise (``SegmentationModel`` and ``save_checkpoint`` share
#: them; older checkpoints without a key get these): 1 mm voxels, 128×160×128 windows, the T1w alone, no
#: minimum lesion size; the threshold is :data:`lesionkit.core.DEFAULT_THRESHOLD`.
DEFAULT_SPACING = (1.0, 1.0, 1.0)
DEFAULT_ROI_SIZE = (128, 160, 128)
DEFAULT_CHANNELS = ("t1",)
DEFAULT_MIN_SIZE_MM3 = 0.0


class SegmentationModel(nn.Module):
    """One network or a (snapshot) ensemble; ``forward`` returns the mean lesion probability."""

    def __init__(
        self,
        networks: Sequence[nn.Module],
        network_config: dict,
        normalization: dict | None = None,
        space: str = MNI_SPACE,
        spacing: Sequence[float] = DEFAULT_SPACING,
        roi_size: Sequence[int] = DEFAULT_ROI_SIZE,
        provenance: dict | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        channels: Sequence[str] = DEFAULT_CHANNELS,
        min_size_mm3: float = DEFAULT_MIN_SIZE_MM3,
    ) -> None:
        super().__init__()
        self.threshold = float(threshold)
        """Default probability threshold (chosen on the training run's validation split, else the default)."""
        self.min_size_mm3 = float(min_size_mm3)
        """Default smallest predicted lesion kept, in mm³ (chosen with the threshold, else 0)."""
        self.networks = nn.ModuleList(networks)
        self.network_config = dict(network_config)
        self.normalization = dict(normalization or DEFAULT_NORMALIZATION)
        self.space = space
        self.spacing = tuple(float(s) for s in spacing)
        self.roi_size = tuple(int(s) for s in roi_size)
        self.provenance = dict(provenance or {})
        self.channels = tuple(channels)
        """Input channels the networks expect (see :mod:`lesionkit.model.features`)."""

    @property
    def divisor(self) -> int:
        config = NetworkConfig(**self.network_config)
        return config.stem_stride * 2 ** (len(config.widths) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.average(self.network_probabilities(x))

    def network_probabilities(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each network's lesion probability (the ensemble's members, e.g. for QC)."""
        return [torch.sigmoid(network(x).float()) for network in self.networks]

    @staticmethod
    def average(probabilities: Sequence[torch.Tensor]) -> torch.Tensor:
        """The ensemble's output: the mean of its members' probabilities."""
        probability = probabilities[0]
        for member in probabilities[1:]:
            probability = probability + member
        return probability / len(probabilities)


def save_checkpoint(
    path: PathLike,
    network: nn.Module | Sequence[nn.Module],
    network_config: NetworkConfig | dict,
    *,
    normalization: dict | None = None,
    space: str = MNI_SPACE,
    spacing: Sequence[float] = DEFAULT_SPACING,
    roi_size: Sequence[int] = DEFAULT_ROI_SIZE,
    provenance: dict | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    half: bool = False,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    min_size_mm3: float = DEFAULT_MIN_SIZE_MM3,
) -> Path:
    """Atomically write a self-describing checkpoint; ``half=True`` stores float16 weights (half the size).
    Several networks (one architecture) make an ensemble in one file."""
    networks = list(network) if isinstance(network, Sequence | nn.ModuleList) else [network]
    states = [_weights(getattr(n, "module", n), half) for n in networks]  # unwrap DistributedDataParallel
    config = network_config.to_dict() if isinstance(network_config, NetworkConfig) else dict(network_config)
    payload = {
        "format": FORMAT,
        **({"state_dict": states[0]} if len(states) == 1 else {"state_dicts": states}),
        "network": config,
        "normalization": dict(normalization or DEFAULT_NORMALIZATION),
        "space": space,
        "spacing": [float(s) for s in spacing],
        "roi_size": [int(s) for s in roi_size],
        "provenance": dict(provenance or {}),
        "threshold": float(threshold),
        "min_size_mm3": float(min_size_mm3),
        "channels": list(channels),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def _weights(network: nn.Module, half: bool) -> dict:
    cast = {k: v.half() if half and v.is_floating_point() else v for k, v in network.state_dict().items()}
    return {k: v.detach().cpu() for k, v in cast.items()}


def load_weights(network: nn.Module, weights: dict) -> nn.Module:
    """Load a checkpoint's ``state_dict`` (float16 when shipped) into ``network`` as float32."""
    network.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()})
    return network


def default_model_path() -> Path:
    """The shipped default checkpoint inside the installed package."""
    return Path(str(resources.files("lesionkit") / "data" / DEFAULT_MODEL))


def read_checkpoint(path: PathLike) -> dict:
    """Load and check a checkpoint dict (weights on CPU, float32).

    Refused with :class:`InvalidInputError`: an unreadable file, another format, no weights, no or an invalid
    network description, a threshold outside (0, 1) or NaN, a negative or NaN minimum lesion size, and
    a spacing or window size that is not three positive numbers.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(path, "model checkpoint does not exist")
    try:
        # TorchVersion: provenance of checkpoints written before versions were stored as plain strings
        with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch raise many types for a corrupt file
        raise InvalidInputError(path, f"cannot read model checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InvalidInputError(path, f"not a lesionkit checkpoint (expected format {FORMAT!r})")
    problem = _problem(payload)
    if problem is not None:
        raise InvalidInputError(path, f"unusable model checkpoint: {problem}")
    return payload


def _number(value, low: float, high: float, low_open: bool, high_open: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        return False
    return (value > low if low_open else value >= low) and (value < high if high_open else value <= high)


def _problem(payload: dict) -> str | None:
    """What makes a checkpoint dict unusable (checked on load, so it fails here and not mid-inference)."""
    weights = payload.get("state_dicts") or ([payload["state_dict"]] if "state_dict" in payload else [])
    if not weights or not all(isinstance(w, dict) for w in weights):
        return "it holds no network weights ('state_dict' or 'state_dicts')"
    if not isinstance(payload.get("network"), dict):
        return "it does not describe its network ('network')"
    try:
        NetworkConfig(**payload["network"])
    except TypeError as error:
        return f"its network description is invalid ({error})"
    if not _number(payload.get("threshold", DEFAULT_THRESHOLD), 0.0, 1.0, True, True):
        return f"threshold {payload.get('threshold')!r} is not a probability strictly between 0 and 1"
    if not _number(payload.get("min_size_mm3", DEFAULT_MIN_SIZE_MM3), 0.0, float("inf"), False, True):
        return f"min_size_mm3 {payload.get('min_size_mm3')!r} is not a volume of at least 0 mm³"
    spacing, roi = payload.get("spacing"), payload.get("roi_size")
    if not isinstance(spacing, list | tuple) or len(spacing) != 3 or not all(
            _number(v, 0.0, float("inf"), True, True) for v in spacing):
        return f"spacing {spacing!r} is not three positive voxel sizes"
    if not isinstance(roi, list | tuple) or len(roi) != 3 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in roi):
        return f"roi_size {roi!r} is not three positive window sizes"
    if not isinstance(payload.get("space"), str) or not isinstance(payload.get("normalization"), dict):
        return "its space or intensity normalisation is missing"
    return None


def load_model(path: PathLike | Sequence[PathLike] | None = None) -> SegmentationModel:
    """Load a checkpoint, or several as an ensemble (they must share space and normalisation); None = shipped model.

    The model is returned in eval mode, float32, on the CPU.
    """
    paths = [default_model_path()] if path is None else [path] if isinstance(path, str | Path) else list(path)
    if not paths:
        raise ValueError("load_model needs at least one checkpoint")
    payloads = [read_checkpoint(p) for p in paths]
    networks = []
    for p, payload in zip(paths, payloads, strict=True):
        if any(payload.get(key) != payloads[0].get(key) for key in ("space", "normalization", "spacing", "channels")):
            raise InvalidInputError(
                p, f"ensemble member differs in space, normalisation, spacing or input channels from {paths[0]}"
            )
        for weights in payload.get("state_dicts") or [payload["state_dict"]]:
            try:
                networks.append(load_weights(build_network(payload["network"]), weights))
            except (RuntimeError, ValueError, TypeError, KeyError) as error:  # missing keys, wrong shapes
                raise InvalidInputError(p, f"its weights do not fit the network it describes ({error})") from error
    first = payloads[0]
    model = SegmentationModel(
        networks, first["network"], first["normalization"], first["space"], first["spacing"], first["roi_size"],
        {**(first.get("provenance") or {}), "checkpoints": [str(p) for p in paths]},
        threshold=float(np.mean([p.get("threshold", DEFAULT_THRESHOLD) for p in payloads])),
        min_size_mm3=float(np.mean([p.get("min_size_mm3", DEFAULT_MIN_SIZE_MM3) for p in payloads])),
        channels=first.get("channels", list(DEFAULT_CHANNELS)),  # checkpoints before input channels had only the T1w
    )
    return model.eval()
