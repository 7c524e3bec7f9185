"""Native T1w → MNI152NLin2009aSym on the ATLAS grid, and back; one module per step.

``preprocess_t1w`` runs the whole ATLAS-style pipeline; ``to_mni`` / ``to_native`` move images between a
native grid and the ATLAS grid with the fitted world-to-world affine.
"""

from lesionkit.preprocess.bias import N4Settings, n4_bias_field
from lesionkit.preprocess.brain_mask import brain_mask_native, template_brain_mask
from lesionkit.preprocess.deface import FacePlane, deface, face_mask_native, template_face_mask
from lesionkit.preprocess.intensity import standardize_wm_peak, white_matter_peak
from lesionkit.preprocess.orient import as_image, as_mask, reorient_to_ras
from lesionkit.preprocess.pipeline import STEP_NAMES, PreprocessResult, preprocess_t1w
from lesionkit.preprocess.register import AffineRegistration, RegistrationSettings, register_affine, transform_problems
from lesionkit.preprocess.resample import resample_world, to_mni, to_native
from lesionkit.preprocess.rigid_search import BrainSimilarity, RigidCandidate, rigid_search
from lesionkit.preprocess.xfm import load_transform_json, save_transform

__all__ = [
    "STEP_NAMES",
    "AffineRegistration",
    "BrainSimilarity",
    "FacePlane",
    "N4Settings",
    "PreprocessResult",
    "RegistrationSettings",
    "RigidCandidate",
    "as_image",
    "as_mask",
    "brain_mask_native",
    "deface",
    "face_mask_native",
    "load_transform_json",
    "n4_bias_field",
    "preprocess_t1w",
    "register_affine",
    "reorient_to_ras",
    "rigid_search",
    "resample_world",
    "save_transform",
    "standardize_wm_peak",
    "template_brain_mask",
    "template_face_mask",
    "to_mni",
    "to_native",
    "transform_problems",
    "white_matter_peak",
]
