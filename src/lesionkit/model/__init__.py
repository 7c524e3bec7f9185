"""The 3D residual U-Net of Tomita et al. (2020): networks, losses, crop sampling, training, inference, checkpoints.

>>> from lesionkit.model import load_model, segment
>>> model = load_model(None)              # the shipped default checkpoint
>>> probability = segment(model, t1w_img)  # float32 NIfTI on t1w_img's grid
"""

from lesionkit.model.checkpoint import DEFAULT_MODEL, SegmentationModel, default_model_path, load_model, save_checkpoint
from lesionkit.model.config import StageConfig, TrainConfig, load_config
from lesionkit.model.inference import MemberPrediction, predict_array, segment, segment_members, threshold_probability
from lesionkit.model.losses import BCEDiceLoss
from lesionkit.model.networks import NetworkConfig, ResBlock, ResUNet3D, build_network
from lesionkit.model.normalize import DEFAULT_NORMALIZATION, normalize_intensity

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_NORMALIZATION",
    "MemberPrediction",
    "BCEDiceLoss",
    "NetworkConfig",
    "ResBlock",
    "ResUNet3D",
    "SegmentationModel",
    "StageConfig",
    "TrainConfig",
    "build_network",
    "default_model_path",
    "load_config",
    "load_model",
    "normalize_intensity",
    "predict_array",
    "save_checkpoint",
    "segment",
    "segment_members",
    "threshold_probability",
]


def __getattr__(name: str):
    # ``train`` pulls in MONAI's transforms; import it on first use only.
    if name == "train":
        from lesionkit.model.train import train

        return train
    raise AttributeError(name)
